"""A save or delete of a mission or a step, or a change of a mission's tiers, gives the earning rules a new
version (``campaigns.campaign_services.earning_rules_changed``): the live missions each process keeps
(``selectors.missions_live_get``) are read again, as the campaigns are."""

from django.db.models.signals import m2m_changed, post_delete, post_save

from campaigns.campaign_services import earning_rules_changed

from .models import Mission, MissionStep


def _changed(sender, **kwargs):
    earning_rules_changed()


def _m2m_changed(sender, action, **kwargs):
    if action in ("post_add", "post_remove", "post_clear"):
        earning_rules_changed()


def connect() -> None:
    for model in (Mission, MissionStep):
        post_save.connect(_changed, sender=model, dispatch_uid=f"missions_saved_{model.__name__}")
        post_delete.connect(_changed, sender=model, dispatch_uid=f"missions_deleted_{model.__name__}")
    m2m_changed.connect(_m2m_changed, sender=Mission.tiers.through, dispatch_uid="missions_tiers_changed")
