"""A save or delete of a mission or a step, or a change of a mission's tiers, gives the earning rules a new
version, as the campaigns' do (``campaigns.signals.watch``): the live missions each process keeps
(``selectors.missions_live_get``) are read again."""

from campaigns.signals import watch

from .models import Mission, MissionStep


def connect() -> None:
    watch((Mission, MissionStep), m2m=(Mission.tiers.through,), label="missions")
