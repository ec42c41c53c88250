"""What tells every process that the earning rules changed: each save or delete of a campaign, a
rule, a rate override, an event type or the policy, each change of a campaign's tiers or
partners, and each delete of a tier or a partner (its links go with it), gives
``EarningPolicy.rules_version`` a new random number in the same transaction
(``campaign_services.earning_rules_changed``). ``selectors`` keeps the rules it read while the
policy row, read by every purchase anyway, says the number it read them under.

A write that sends no signal (``QuerySet.update``, ``bulk_create``, raw SQL) on these tables
calls ``earning_rules_changed`` itself, as ``campaign_services`` does.
"""

from django.db.models.signals import m2m_changed, post_delete, post_save

from loyalty.partners.models import Partner
from members.tiers.models import Tier

from .campaign_services import earning_rules_changed
from .models import Campaign, EarningPolicy, EventType, RateOverride, Rule


def _changed(sender, **kwargs):
    earning_rules_changed()


def _m2m_changed(sender, action, **kwargs):
    if action in ("post_add", "post_remove", "post_clear"):
        earning_rules_changed()


def watch(models, *, m2m=(), label: str = "earning_rules") -> None:
    """Give the rules a new version on each save or delete of ``models`` and each change of the ``m2m`` through
    tables: how another app's rows that the purchase path keeps (the missions) join the same mechanism."""
    for model in models:
        post_save.connect(_changed, sender=model, dispatch_uid=f"{label}_saved_{model.__name__}")
        post_delete.connect(_changed, sender=model, dispatch_uid=f"{label}_deleted_{model.__name__}")
    for through in m2m:
        m2m_changed.connect(_m2m_changed, sender=through, dispatch_uid=f"{label}_m2m_{through.__name__}")


def connect() -> None:
    watch(
        (Campaign, Rule, RateOverride, EventType, EarningPolicy),
        m2m=(Campaign.tiers.through, Campaign.partners.through),
    )
    # A tier or a partner deleted takes its campaigns' links with it, without a signal of theirs.
    for model in (Tier, Partner):
        post_delete.connect(_changed, sender=model, dispatch_uid=f"earning_rules_unlinked_{model.__name__}")
