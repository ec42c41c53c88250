"""`demo_data` loads three tiers and a tier set by hand, once however often it runs."""

from django.core.management import call_command

from members.tiers.models import MemberTier, Tier, TierChange, TierChangeReason


def test_demo_data_loads_the_tiers_and_bobs_status_match_once(db):
    call_command("demo_data", stdout=None)
    call_command("demo_data", stdout=None)

    assert list(Tier.objects.values_list("name", "name_fr", "rank", "threshold")) == [
        ("Silver", "Argent", 1, 500),
        ("Gold", "Or", 2, 2000),
        ("Platinum", "Platine", 3, 5000),
    ]
    assert all(tier.benefits_en and tier.benefits_fr for tier in Tier.objects.all())
    change = TierChange.objects.get(reason=TierChangeReason.MANUAL)
    assert (change.member.user.email, change.to_tier.name, change.reason) == (
        "bob@example.com",
        "Gold",
        TierChangeReason.MANUAL,
    )
    assert (
        MemberTier.objects.get(member=change.member).manual_reason == "Status match: Gold card of another coffee chain"
    )
