"""The dashboard's rollups: closed program days summed once, so that a period reads a row per day, not its entries.

``rollup.py`` writes them (the hourly task and ``manage.py reports_rollup``); ``selectors.py`` reads the
days up to ``RollupState.closed_through`` from them and the days after it live from the ledger. Every table
is keyed by the program day (``settings.TIME_ZONE``); recomputing a day replaces its rows.
"""

from datetime import timedelta

from django.db import models


class RollupState(models.Model):
    """One row: the last program day the rollups cover (maybe in part, up to ``closed_until``), and the last rows
    they saw (late rows mark days again)."""

    closed_through = models.DateField(null=True)
    # The moment the rollups cover up to: the end of ``closed_through``, or a moment in it (today, rolled up hourly).
    closed_until = models.DateTimeField(null=True)
    entry_id = models.BigIntegerField(default=0)
    member_id = models.BigIntegerField(default=0)
    purchase_id = models.BigIntegerField(default=0)
    return_id = models.BigIntegerField(default=0)
    computed_at = models.DateTimeField(null=True)

    def __str__(self):
        return f"closed until {self.closed_until}"

    @property
    def until(self):
        """``closed_until``, or the end of ``closed_through`` (None: nothing is rolled up)."""
        if self.closed_until is not None or self.closed_through is None:
            return self.closed_until
        from loyalty.clock import program_day_start

        return program_day_start(self.closed_through + timedelta(days=1))


class DayKindTotal(models.Model):
    """Entries of a day per kind: the sum of their amounts, of the positive ones, and how many."""

    day = models.DateField()
    kind = models.CharField(max_length=16)
    points = models.BigIntegerField()
    credits = models.BigIntegerField()
    entries = models.BigIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "kind"], name="daykindtotal_day_kind")]

    def __str__(self):
        return f"{self.day} {self.kind}"


class DayJoined(models.Model):
    """Members who joined on a day."""

    day = models.DateField(unique=True)
    members = models.BigIntegerField()

    def __str__(self):
        return f"{self.day}: {self.members}"


class DayActivity(models.Model):
    """Accounts with an entry on ``day``, counted by ``since``: the day of their previous entry or, for their first
    entry ever (``first``), the day the member joined. A member is active in ``[S, E]`` exactly once, on the first
    day of it with an entry: the row with ``S <= day <= E`` and ``first or since < S``. So the distinct members of
    any period are a sum of these rows, without a per-member pass."""

    day = models.DateField()
    since = models.DateField()
    first = models.BooleanField()
    members = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["day"], name="dayactivity_day")]

    def __str__(self):
        return f"{self.day} since {self.since}"


class DaySource(models.Model):
    """What purchases and events dated on a day (their ledger entry's day) earned per award source and campaign:
    points, net of returns (as of the day's last computation), matched sales and purchases."""

    day = models.DateField()
    source = models.CharField(max_length=16)
    campaign_id = models.BigIntegerField(null=True)
    points = models.BigIntegerField()
    net = models.BigIntegerField()
    sales = models.DecimalField(max_digits=16, decimal_places=2)
    purchases = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["day"], name="daysource_day")]

    def __str__(self):
        return f"{self.day} {self.source} {self.campaign_id}"


class DayReward(models.Model):
    """Redemptions of a day (their ``redeem`` entry's day) per reward: how many, units, points."""

    day = models.DateField()
    reward_id = models.BigIntegerField()
    redemptions = models.BigIntegerField()
    units = models.BigIntegerField()
    points = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["day"], name="dayreward_day")]

    def __str__(self):
        return f"{self.day} reward {self.reward_id}"


class DayBuyer(models.Model):
    """A member's purchases of a day (their ``occurred_at``; purchases up to ``RollupState.purchase_id``) and
    whether the member redeemed that day, a row per member and day with either. Each row also carries the
    member's chain, so that a period's buyers, repeat buyers and baskets are sums over its rows, without a
    per-member pass: ``previous`` (the member's previous day with a purchase), whether that day had exactly one
    (``previous_single``) and the day with a purchase before it (``previous2``); the member's last day with a
    redemption up to this one (``last_redeemed``) and the first after it (``next_redeemed``, set when that day
    is rolled up). A buyer of ``[S, E]`` is counted on its first row there (``previous`` before ``S``), a
    repeat buyer there or on its second, and a member redeemed in the period if ``last_redeemed >= S`` or
    ``next_redeemed <= E`` on any of its rows."""

    day = models.DateField()
    member_id = models.BigIntegerField()
    purchases = models.IntegerField()
    spent = models.DecimalField(max_digits=16, decimal_places=2)
    redeemed = models.BooleanField()
    previous = models.DateField(null=True)
    previous_single = models.BooleanField(null=True)
    previous2 = models.DateField(null=True)
    last_redeemed = models.DateField(null=True)
    next_redeemed = models.DateField(null=True)

    class Meta:
        indexes = [
            models.Index(fields=["day"], name="daybuyer_day"),
            models.Index(fields=["member_id", "day"], name="daybuyer_member_day"),
        ]

    def __str__(self):
        return f"{self.day} member {self.member_id}"


class Snapshot(models.Model):
    """A "now" figure computed by the hourly task (tier distribution, expiry forecast), shown with its time."""

    name = models.CharField(max_length=32, unique=True)
    data = models.JSONField()
    computed_at = models.DateTimeField()

    def __str__(self):
        return f"{self.name} at {self.computed_at}"
