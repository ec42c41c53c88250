"""What a merge of two members does to their badges and activity (``members.services.member_merge`` calls it)."""

from datetime import datetime

from django.db.models import F

from missions.badges.milestones import milestones_get, purchase_milestones_award_many
from missions.badges.models import MemberBadge
from missions.streaks.models import MemberActivity


def games_member_merge(*, source, survivor, now: datetime) -> None:
    """The survivor gets the source's badges it lacks (kept with their day and source; no new event: they were
    earned) and the source's purchases on its count, then the purchase milestones the sum reaches; the streak
    kept is the one active last (the longest of both stays). In the merge's transaction, both accounts locked.
    The source's leaderboard entries stay: a merged member is ranked no more."""
    held = MemberBadge.objects.filter(member_id=survivor.pk).values("badge_id")
    MemberBadge.objects.filter(member_id=source.pk).exclude(badge_id__in=held).update(member_id=survivor.pk)
    rows = {row.pk: row for row in MemberActivity.objects.filter(pk__in=[source.pk, survivor.pk])}
    gone = rows.get(source.pk)
    if gone is None:
        return
    kept = rows.get(survivor.pk)
    if kept is None:
        MemberActivity.objects.create(
            member_id=survivor.pk,
            purchases=gone.purchases,
            streak_unit=gone.streak_unit,
            streak_current=gone.streak_current,
            streak_longest=gone.streak_longest,
            streak_last=gone.streak_last,
            updated_at=now,
        )
        before, after = 0, gone.purchases
    else:
        later = (
            gone
            if (gone.streak_unit == kept.streak_unit and (gone.streak_last or 0) > (kept.streak_last or 0))
            else kept
        )
        MemberActivity.objects.filter(pk=survivor.pk).update(
            purchases=F("purchases") + gone.purchases,
            streak_current=later.streak_current,
            streak_last=later.streak_last,
            streak_longest=max(
                kept.streak_longest, gone.streak_longest if gone.streak_unit == kept.streak_unit else 0
            ),
            updated_at=now,
        )
        before, after = kept.purchases, kept.purchases + gone.purchases
    if milestones_get().purchases:
        purchase_milestones_award_many(counts={survivor.pk: (before, after)}, now=now)
