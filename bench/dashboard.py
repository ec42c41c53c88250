"""The program dashboard at 1,000,000 members and 20,000,000 entries, through Django's test client.

The ledger is the tiers phase's (``bench/tiers.py``: 20 earn entries a member, ending 351
days ago). On it, ``add_recent_activity`` writes the last 60 days of a program in a few
set-based INSERTs, so that the default period (the last 30 days) has figures to compute:

- a quarter of the members (250,000) buy 4 times each: 1,000,000 purchases of two lines
  (coffee and bakery), their earn entries and lots, a base award on each line, and a
  campaign award (a x2 on coffee) on a third of the first purchases;
- the same members redeem one of 20 rewards (10 points, taken from their first lot), an
  eighth of all members lose their second lot to expiry (one expiry run a day), a
  sixteenth earn a bonus for a review (an event), one in fifty changes tier;
- 10,000 new members join (no entries yet).

Every row keeps the ledger's invariants (running balance, lots, allocations, the accounts'
balances and lifetime counters), so the dashboard's totals can be checked against it. The
activity is written once: a later run on the same ledger finds it (its partner) and keeps it.

``measure`` GETs the dashboard as a staff user, the whole response rendered, for each period
several times; ``explain`` runs ``EXPLAIN (ANALYZE, BUFFERS)`` on every query of one GET.
"""

import statistics
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction

from . import db, seed

PARTNER = "Dashboard bench shop"
CAMPAIGN = "Dashboard double coffee"
SHARE = 4  # one member in SHARE is active in the last 60 days
PURCHASES_PER_MEMBER = 4
EXPIRY_SHARE = 8
EVENT_SHARE = 16
TIER_CHANGE_SHARE = 50
NEW_MEMBERS = 10_000
REWARDS = 20
REDEMPTION_COST = 10
DAYS = 60
MIN_REPETITIONS, BUDGET_SECONDS = 3, 60


def add_recent_activity(*, now: datetime, seeded_entries: int) -> dict:
    """Write the last 60 days' activity (see the module's docstring) once; return what it wrote and its time."""
    from django.contrib.contenttypes.models import ContentType

    from campaigns.models import Campaign, CampaignStatus, Event, EventType, Purchase
    from loyalty.clock import program_date, program_day_start
    from loyalty.ledger.models import ExpiryRun
    from loyalty.partners.models import Partner
    from loyalty.partners.services import partner_create
    from members.tiers.models import Tier
    from rewards.models import Redemption, Reward

    started = time.perf_counter()
    if db.scalar("SELECT count(*) FROM ledger_entry WHERE id > %s", [seeded_entries]):
        return {"reused": True, "seconds": 0.0, **_counts(seeded_entries)}
    # A ledger seeded again: the rows an earlier slice left outside it (the seed truncates the rest).
    Partner.objects.filter(name=PARTNER).delete()
    Campaign.objects.filter(name=CAMPAIGN).delete()
    Reward.objects.filter(code__startswith="dashboard-").delete()
    with transaction.atomic():  # all of it or nothing: a later run finds it by its partner
        partner, _key = partner_create(name=PARTNER)
        campaign = Campaign.objects.create(
            name=CAMPAIGN, status=CampaignStatus.ACTIVE, starts_at=now - timedelta(days=DAYS)
        )
        rewards = [
            Reward.objects.create(code=f"dashboard-{n}", kind="fixed_discount", name=f"Dashboard reward {n}",
                                  points_cost=REDEMPTION_COST, value_amount="1.00", validity_days=30)
            for n in range(REWARDS)
        ]  # fmt: skip
        review = EventType.objects.get(code="review")
        today = program_date(now)
        runs = ExpiryRun.objects.bulk_create(
            ExpiryRun(
                created_at=program_day_start(today - timedelta(days=day)) + timedelta(hours=2),
                program_day=today - timedelta(days=day),
                source=ExpiryRun.Source.SCHEDULE,
            )
            for day in range(DAYS)
        )
        tiers = dict(Tier.objects.values_list("rank", "pk"))
        kinds = ContentType.objects.get_for_models(Purchase, Redemption, ExpiryRun, Event)
        members = int(db.scalar("SELECT count(*) FROM members_member"))
        params = {
            "now": now,
            "share": SHARE,
            "purchases": PURCHASES_PER_MEMBER,
            "expiry_share": EXPIRY_SHARE,
            "event_share": EVENT_SHARE,
            "days": DAYS,
            "members": members,
            "rewards": [reward.pk for reward in rewards],
            "squared": REWARDS * REWARDS,
            "cost": REDEMPTION_COST,
            "runs": [run.pk for run in runs],
            "tz": settings.TIME_ZONE,
            "today": today,
            "lots": 20,
            "partner": partner.pk,
            "campaign": campaign.pk,
            "review": review.pk,
            "review_points": review.points,
            "purchase_type": kinds[Purchase].pk,
            "redemption_type": kinds[Redemption].pk,
            "run_type": kinds[ExpiryRun].pk,
            "event_type": kinds[Event].pk,
        }
        with seed.loading(()):  # foreign keys unchecked (the rows are built consistent), indexes kept
            db.execute("SET work_mem = '256MB'")
            _write_entries(params)
            _write_purchases(params)
            _write_redemptions_events_and_expiry(params)
            _write_new_members_and_tier_changes(now, tiers)
            db.execute("RESET work_mem")
        db.execute("DROP TABLE recent")
    for table in (
        "ledger_entry", "ledger_lot", "ledger_allocation", "ledger_account", "campaigns_purchase",
        "campaigns_purchaseline", "campaigns_award", "campaigns_event", "rewards_redemption",
        "members_member", "auth_user", "tiers_tierchange",
    ):  # fmt: skip
        db.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        db.execute(f"VACUUM (ANALYZE) {table}")
    return {"reused": False, "seconds": round(time.perf_counter() - started, 1), **_counts(seeded_entries)}


def _write_entries(params: dict) -> None:
    """The slice's entries, in a temporary table first (ids given in advance), then the ledger's rows."""
    db.execute(
        "CREATE TEMPORARY TABLE recent AS"
        " WITH base AS (SELECT max(id) AS entry, (SELECT coalesce(max(id), 0) FROM ledger_lot) AS lot"
        "  FROM ledger_entry),"
        " rows AS ("
        # purchases: coffee (1 x 6.40, 6 points, x2 on a third of the first purchases) and bakery (q x 2.20)
        "  SELECT a AS account_id, 'earn' AS kind, p AS n,"
        "   %(now)s::timestamptz - make_interval(days => (a * 7 + p * 17) %% %(days)s,"
        "    secs => 1 + (a * 13 + p * 7) %% 86000) AS created_at,"
        "   1 + (a + p) %% 3 AS quantity, CASE WHEN p = 1 AND a %% 3 = 0 THEN 6 ELSE 0 END AS campaign_points"
        "  FROM generate_series(%(share)s, %(members)s, %(share)s) AS a, generate_series(1, %(purchases)s) AS p"
        "  UNION ALL"
        "  SELECT a, 'redeem', 0, %(now)s::timestamptz - make_interval(days => (a * 11) %% %(days)s,"
        "   secs => 1 + (a * 17) %% 86000), 0, 0"
        "  FROM generate_series(%(share)s, %(members)s, %(share)s) AS a"
        "  UNION ALL"
        "  SELECT a, 'expire', a %% %(days)s,"
        "   ((%(today)s::date - (a %% %(days)s)) + time '02:00') AT TIME ZONE %(tz)s, 0, 0"
        "  FROM generate_series(%(expiry_share)s, %(members)s, %(expiry_share)s) AS a"
        "  UNION ALL"
        "  SELECT a, 'bonus', 0, %(now)s::timestamptz - make_interval(days => (a * 3) %% %(days)s,"
        "   secs => 1 + (a * 19) %% 86000), 0, 0"
        "  FROM generate_series(%(event_share)s, %(members)s, %(event_share)s) AS a)"
        " SELECT base.entry + row_number() OVER (ORDER BY created_at, account_id, kind, n) AS id, rows.*,"
        "  CASE kind WHEN 'earn' THEN 6 + campaign_points + floor(2.2 * quantity)::int"
        "   WHEN 'redeem' THEN -%(cost)s"
        "   WHEN 'expire' THEN -(10 + ((account_id * 7 + 2 * 13) %% 90))"  # the whole of lot 2 (bench/seed.py)
        "   ELSE %(review_points)s END AS amount,"
        "  (account_id - 1) * %(lots)s + CASE kind WHEN 'redeem' THEN 1 ELSE 2 END AS debited_lot,"
        "  base.lot AS lot_base"
        " FROM rows, base"
        " WHERE rows.created_at < %(now)s",
        params,
    )
    # The rows each entry causes (a purchase, a redemption, an event) get their ids here, in the entries' order.
    db.execute("ALTER TABLE recent ADD COLUMN cause bigint")
    db.execute(
        "UPDATE recent SET cause = numbered.cause FROM (SELECT id, row_number() OVER (PARTITION BY kind ORDER BY id)"
        "  + CASE kind WHEN 'earn' THEN (SELECT coalesce(max(id), 0) FROM campaigns_purchase)"
        "   WHEN 'redeem' THEN (SELECT coalesce(max(id), 0) FROM rewards_redemption)"
        "   WHEN 'bonus' THEN (SELECT coalesce(max(id), 0) FROM campaigns_event) END AS cause FROM recent) numbered"
        " WHERE numbered.id = recent.id"
    )
    db.execute("UPDATE recent SET cause = (%(runs)s::bigint[])[n + 1] WHERE kind = 'expire'", params)
    db.execute(
        "INSERT INTO ledger_entry (id, kind, amount, balance_after, created_at, actor_id, cause_id, memo,"
        " memo_code, memo_params, idempotency_key, account_id, actor_type_id, cause_type_id, reverses_id, debt, held)"
        " SELECT r.id, r.kind, r.amount,"
        "  account.balance + sum(r.amount) OVER (PARTITION BY r.account_id ORDER BY r.created_at, r.id),"
        "  r.created_at, '', r.cause::text,"
        "  '', '', '{}', '', r.account_id, NULL,"
        "  CASE r.kind WHEN 'earn' THEN %(purchase_type)s WHEN 'redeem' THEN %(redemption_type)s"
        "   WHEN 'expire' THEN %(run_type)s ELSE %(event_type)s END, NULL, 0, 0"
        " FROM recent r JOIN ledger_account account ON account.id = r.account_id ORDER BY r.id",
        params,
    )
    db.execute(
        "INSERT INTO ledger_lot (id, amount, remaining, expired, pending, available_at, expires_on,"
        " account_id, entry_id)"
        " SELECT lot_base + row_number() OVER (ORDER BY id), amount, amount, 0, false, created_at, NULL,"
        "  account_id, id FROM recent WHERE amount > 0"
    )
    db.execute(
        "INSERT INTO ledger_allocation (entry_id, lot_id, points)"
        " SELECT id, debited_lot, amount FROM recent WHERE amount < 0"
    )
    db.execute(
        "UPDATE ledger_lot lot SET remaining = lot.remaining + d.points,"
        "  expired = lot.expired + CASE WHEN d.kind = 'expire' THEN -d.points ELSE 0 END,"
        "  expires_on = CASE WHEN d.kind = 'expire' THEN (d.created_at AT TIME ZONE %(tz)s)::date - 1"
        "   ELSE lot.expires_on END"
        " FROM (SELECT debited_lot, kind, sum(amount) AS points, max(created_at) AS created_at FROM recent"
        "  WHERE amount < 0 GROUP BY 1, 2) d"
        " WHERE lot.id = d.debited_lot",
        params,
    )
    db.execute(
        "UPDATE ledger_account account SET balance = account.balance + d.points,"
        "  lifetime_earned = account.lifetime_earned + d.earned,"
        "  lifetime_spent = account.lifetime_spent + d.spent,"
        "  lifetime_expired = account.lifetime_expired + d.expired, updated_at = d.last"
        " FROM (SELECT account_id, sum(amount) AS points, sum(amount) FILTER (WHERE amount > 0) AS earned,"
        "  coalesce(-sum(amount) FILTER (WHERE kind = 'redeem'), 0) AS spent,"
        "  coalesce(-sum(amount) FILTER (WHERE kind = 'expire'), 0) AS expired, max(created_at) AS last"
        "  FROM recent GROUP BY 1) d"
        " WHERE account.id = d.account_id"
    )


def _write_purchases(params: dict) -> None:
    """A purchase per earn entry, two lines each, a base award on each line, the campaign's on some."""
    db.execute(
        "CREATE TEMPORARY TABLE recent_purchase AS"
        " SELECT cause AS id, id AS entry_id, account_id, created_at, quantity, campaign_points, amount"
        " FROM recent WHERE kind = 'earn'"
    )
    db.execute(
        "INSERT INTO campaigns_purchase (id, partner_id, external_id, body_hash, member_id, occurred_at, amount,"
        " currency, discount_amount, points_amount, channel, store, outcome, points, pending_points, available_at,"
        " entry_id, created_at)"
        " SELECT id, %(partner)s, 'dash-' || id, '', account_id, created_at, 6.40 + 2.20 * quantity, 'EUR', 0, 0,"
        "  'store', 'store-' || (account_id %% 50), 'earned', amount, 0, created_at, entry_id, created_at"
        " FROM recent_purchase",
        params,
    )
    db.execute(
        "INSERT INTO campaigns_purchaseline (purchase_id, position, sku, category, quantity, unit_price,"
        " discount_amount, paid_amount, points, returned_quantity, returned_amount, returned_points)"
        " SELECT id, 1, 'COF-250', 'coffee', 1, 6.40, 0, 6.40, 6 + campaign_points, 0, 0, 0 FROM recent_purchase"
        " UNION ALL"
        " SELECT id, 2, 'BRD-01', 'bakery', quantity, 2.20, 0, 2.20 * quantity, floor(2.2 * quantity)::int, 0, 0, 0"
        " FROM recent_purchase"
    )
    db.execute(
        "INSERT INTO campaigns_award (purchase_id, line_id, event_id, source, campaign_id, rule_id, points,"
        " returned_points, reason, params, cap_period_start)"
        " SELECT line.purchase_id, line.id, NULL::bigint, 'base', NULL::bigint, NULL::bigint,"
        "  CASE line.position WHEN 1 THEN 6 ELSE line.points END, 0, 'base_rate', '{}'::jsonb, NULL::date"
        " FROM campaigns_purchaseline line JOIN recent_purchase p ON p.id = line.purchase_id"
        " UNION ALL"
        " SELECT line.purchase_id, line.id, NULL::bigint, 'campaign', %(campaign)s, NULL::bigint,"
        "  p.campaign_points, 0, 'campaign', '{}'::jsonb, NULL::date"
        " FROM campaigns_purchaseline line JOIN recent_purchase p ON p.id = line.purchase_id"
        " WHERE line.position = 1 AND p.campaign_points > 0",
        params,
    )
    db.execute(
        "UPDATE campaigns_campaign SET points_awarded = (SELECT sum(campaign_points) FROM recent_purchase)"
        " WHERE id = %(campaign)s",
        params,
    )
    db.execute("DROP TABLE recent_purchase")


def _write_redemptions_events_and_expiry(params: dict) -> None:
    db.execute(
        "INSERT INTO rewards_redemption (id, member_id, reward_id, quantity, points, entry_id, partner_id,"
        " idempotency_key, created_at)"
        # rewards skewed: the first ones are taken most
        " SELECT cause, account_id, (%(rewards)s::bigint[])[1 + floor(sqrt(account_id %% %(squared)s))::int], 1,"
        "  -amount, id, NULL, 'dash-' || id, created_at FROM recent WHERE kind = 'redeem'",
        params,
    )
    db.execute(
        "INSERT INTO campaigns_event (id, event_type_id, member_id, partner_id, external_id, body_hash, occurred_at,"
        " attributes, outcome, points, entry_id, decided_at, decided_by_user_id, decided_by_partner_id,"
        " decision_reason, created_at)"
        " SELECT cause, %(review)s, account_id, %(partner)s, 'dash-' || id, '', created_at, '{}', 'earned',"
        "  amount, id, NULL, NULL, NULL, '', created_at FROM recent WHERE kind = 'bonus'",
        params,
    )


def _write_new_members_and_tier_changes(now: datetime, tiers: dict) -> None:
    params = {"n": NEW_MEMBERS, "now": now, "days": DAYS, "share": TIER_CHANGE_SHARE}
    first = int(db.scalar("SELECT max(id) FROM members_member"))
    params["first"] = first
    db.execute(
        "CREATE TEMPORARY TABLE joined AS SELECT %(first)s + n AS id,"
        " %(now)s::timestamptz - make_interval(days => n %% %(days)s, secs => 1 + (n * 29) %% 86000) AS at"
        " FROM generate_series(1, %(n)s) AS n",
        params,
    )
    db.execute(
        "INSERT INTO auth_user (id, password, is_superuser, username, first_name, last_name, email,"
        " is_staff, is_active, date_joined)"
        " SELECT id, '!', false, 'bench' || id || '@example.com', '', '', 'bench' || id || '@example.com',"
        " false, true, at FROM joined"
    )
    db.execute(
        "INSERT INTO members_member (id, created_at, updated_at, member_number, joined_at, status, user_id,"
        " birth_date, external_id, language, marketing_consent, phone, merged_into_id)"
        " SELECT id, at, at, '1' || lpad(id::text, 9, '0'), at, 'active', id, NULL, '', 'en', false, '', NULL"
        " FROM joined"
    )
    db.execute(
        "INSERT INTO ledger_account (id, created_at, updated_at, balance, pending, lifetime_earned,"
        " lifetime_spent, lifetime_expired, member_id, debt, held)"
        " SELECT id, at, at, 0, 0, 0, 0, 0, id, 0, 0 FROM joined"
    )
    db.execute("DROP TABLE joined")
    if 1 in tiers and 2 in tiers:
        db.execute(
            "INSERT INTO tiers_tierchange (member_id, from_tier_id, to_tier_id, reason, note, actor_id, created_at)"
            " SELECT m, %(bronze)s, %(silver)s, 'qualified', '', NULL,"
            "  %(now)s::timestamptz - make_interval(days => m %% %(days)s, secs => 1 + (m * 31) %% 86000)"
            " FROM generate_series(%(share)s, %(first)s, %(share)s) AS m",
            {**params, "bronze": tiers[1], "silver": tiers[2]},
        )


def _counts(seeded_entries: int) -> dict:
    return {
        "members": int(db.scalar("SELECT count(*) FROM members_member")),
        "entries": int(db.scalar("SELECT count(*) FROM ledger_entry")),
        "recent_entries": int(db.scalar("SELECT count(*) FROM ledger_entry WHERE id > %s", [seeded_entries])),
        "purchases": int(db.scalar("SELECT count(*) FROM campaigns_purchase")),
        "redemptions": int(db.scalar("SELECT count(*) FROM rewards_redemption")),
    }


def roll_up(today) -> dict:
    """The dashboard's rollups up to yesterday: every day when none is closed yet (the backfill of
    ``manage.py reports_rollup``), then yesterday recomputed as the nightly task does, and the snapshots; times."""
    from loyalty.reports import rollup

    timed = {}
    started = time.perf_counter()
    state = rollup.state()
    closed = rollup.close_days(today=today)
    timed["backfill" if state.closed_through is None else "catch_up"] = {
        "days": closed["days"],
        "seconds": round(time.perf_counter() - started, 1),
    }
    started = time.perf_counter()
    rollup.close_day(today - timedelta(days=1))
    timed["one_day_seconds"] = round(time.perf_counter() - started, 1)
    started = time.perf_counter()
    rollup.snapshot_now()
    timed["snapshots_seconds"] = round(time.perf_counter() - started, 1)
    for table in ("daykindtotal", "dayjoined", "dayactivity", "daysource", "dayreward", "daybuyer"):
        db.execute(f"VACUUM (ANALYZE) reports_{table}")
    timed["rows"] = {
        table: int(db.scalar(f"SELECT count(*) FROM reports_{table}")) for table in ("dayactivity", "daybuyer")
    }
    return timed


def staff_client():
    """A test client logged in as a superuser of the bench (created once)."""
    from django.contrib.auth.models import User
    from django.test import Client

    user = User.objects.filter(username="dashboard-bench").first() or User.objects.create_superuser(
        "dashboard-bench", "dashboard-bench@example.com", None
    )
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    return client


def measure(client, periods: dict, repetitions: int) -> dict:
    """GET the dashboard for each period ``repetitions`` times (after one warm-up GET); seconds and queries."""
    from django.urls import reverse

    url = reverse("admin:reports_dashboard")
    measured = {}
    with _plain_static_files():
        for name, query in periods.items():
            measured[name] = _measure_one(client, url, query, repetitions)
    return measured


def _measure_one(client, url: str, query: dict, repetitions: int) -> dict:
    """One GET counting its queries, then ``repetitions`` timed (no test instrumentation: the page as served)."""
    from django.test.utils import CaptureQueriesContext

    started = time.perf_counter()
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, query, secure=True)
    first = time.perf_counter() - started  # the first GET after the rollups' run: their cached sums not yet kept
    count = len(queries)  # now: the next request's start empties the log the capture reads
    assert response.status_code == 200, response.status_code
    assert b'data-testid="figures"' in response.content, "the period is a form error"
    seconds = []
    for _ in range(repetitions):
        started = time.perf_counter()
        response = client.get(url, query, secure=True)
        seconds.append(time.perf_counter() - started)
        assert response.status_code == 200
        if len(seconds) >= MIN_REPETITIONS and sum(seconds) > BUDGET_SECONDS:
            break  # a page this slow needs no more GETs to fail its target
    return {
        "query": query,
        "median_seconds": round(statistics.median(seconds), 3),
        "max_seconds": round(max(seconds), 3),
        "first_seconds": round(first, 3),
        "seconds": [round(s, 3) for s in seconds],
        "queries": count,
        "bytes": len(response.content),
    }


def _plain_static_files():
    """Static URLs without the manifest of ``collectstatic`` (the bench does not collect): the same work otherwise."""
    from django.test.utils import override_settings

    storages = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    return override_settings(STORAGES=storages)


def explain(client, query: dict) -> list[dict]:
    """Every SELECT of one GET (the session's and the user's aside) under EXPLAIN (ANALYZE, BUFFERS)."""
    from django.db import reset_queries
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    reset_queries()
    with _plain_static_files(), CaptureQueriesContext(connection) as queries:
        client.get(reverse("admin:reports_dashboard"), query, secure=True)
    plans = []
    for captured in queries.captured_queries:
        sql = captured["sql"]
        if not sql.startswith(("SELECT", "WITH")) or "django_session" in sql or '"auth_' in sql:
            continue
        lines = [row[0] for row in db.rows(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")]
        execution = next((line for line in lines if line.startswith("Execution Time")), "")
        plans.append(
            {
                "statement": sql[:300],
                "execution_ms": float(execution.split(":")[1].split()[0]) if execution else None,
                "plan": lines,
            }
        )
    return plans


def reconcile(start, end) -> dict:
    """The ledger's own sums beside the dashboard's figures of a period that holds every entry."""
    from loyalty.reports import selectors

    report = selectors.dashboard(selectors.Period(start, end))
    issued, redeemed, expired, entries = db.rows(
        "SELECT coalesce(sum(amount) FILTER (WHERE kind IN ('earn', 'bonus')), 0),"
        " coalesce(-sum(amount) FILTER (WHERE kind = 'redeem'), 0),"
        " coalesce(-sum(amount) FILTER (WHERE kind IN ('expire', 'forfeit')), 0), coalesce(sum(amount), 0)"
        " FROM ledger_entry"
    )[0]
    shown = report["figures"]["current"]
    ledger = {"issued": int(issued), "redeemed": int(redeemed), "expired": int(expired)}
    return {
        "ledger": ledger,
        "dashboard": {name: int(shown[name]) for name in ledger},
        "outstanding": int(report["outstanding"]["points"]),
        "balances": int(db.scalar("SELECT coalesce(sum(balance), 0) FROM ledger_account")),
        "entries": int(entries),
    }


def rows(results: dict, report, target: float) -> list[dict]:
    seeded, measured, checked = (results.get(name) for name in ("dashboard_seed", "dashboard", "dashboard_reconcile"))
    rows = []
    rolled = results.get("dashboard_rollup")
    if rolled:
        first = rolled.get("backfill") or rolled.get("catch_up")
        rows.append(
            {
                "name": f"Dashboard rollups: {'backfill' if 'backfill' in rolled else 'catch-up'} of {first['days']}"
                " days; one day (the nightly run); snapshots",
                "value": f"{first['seconds']} s; {rolled['one_day_seconds']} s; {rolled['snapshots_seconds']} s",
            }
        )
    if seeded:
        rows.append(
            {
                "name": f"Dashboard data: {seeded['members']:,} members, {seeded['entries']:,} entries"
                f" ({seeded['recent_entries']:,} in the last {DAYS} days), {seeded['purchases']:,} purchases",
                "value": "written earlier"
                if seeded["reused"]
                else f"recent activity written in {seeded['seconds']} s",
            }
        )
    for name, period in (measured or {}).items():
        rows.append(
            {
                "name": f"Dashboard GET (test client, rendered), {name}: median / max of {len(period['seconds'])};"
                " the first",
                "value": f"{period['median_seconds']:.3f} s / {period['max_seconds']:.3f} s;"
                f" {period.get('first_seconds', 0):.3f} s, {period['queries']} queries",
                "target": f"< {target:g} s",
                "verdict": report.verdict(max(period["max_seconds"], period.get("first_seconds", 0)) < target),
            }
        )
    if measured:
        counts = {period["queries"] for period in measured.values()}
        rows.append(
            {
                "name": "  queries per GET, every period",
                "value": ", ".join(str(period["queries"]) for period in measured.values()),
                "target": "equal",
                "verdict": report.verdict(len(counts) == 1),
            }
        )
    if checked:
        ok = (
            checked["ledger"] == checked["dashboard"]
            and checked["outstanding"] == checked["balances"] == checked["entries"]
        )
        rows.append(
            {
                "name": "  10 years: issued, redeemed, expired = the entries'; outstanding = balances = entries",
                "value": f"{checked['dashboard']} vs {checked['ledger']}; {checked['outstanding']:,} ="
                f" {checked['balances']:,} = {checked['entries']:,}",
                "target": "equal",
                "verdict": report.verdict(ok),
            }
        )
    return rows
