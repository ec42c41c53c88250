"""`demo_data` loads a small catalog, one reward of each kind and a gift card pool, once however often it runs."""

from django.core.management import call_command

from rewards.models import Reward, RewardKind, VoucherCode


def test_demo_data_loads_one_valid_reward_of_each_kind_and_a_pool_once(db):
    call_command("demo_data", stdout=None)
    call_command("demo_data", stdout=None)

    rewards = {reward.code: reward for reward in Reward.objects.prefetch_related("tiers")}
    assert {code: reward.kind for code, reward in rewards.items()} == {
        "coffee-free": RewardKind.FREE_PRODUCT,
        "five-off": RewardKind.FIXED_DISCOUNT,
        "ten-percent": RewardKind.PERCENT_DISCOUNT,
        "gift-card-25": RewardKind.GIFT_CARD,
        "gold-early-access": RewardKind.EXCLUSIVE,
        "tasting-evening": RewardKind.EXPERIENCE,
        "give-a-meal": RewardKind.DONATION,
    }
    for reward in rewards.values():
        reward.full_clean()
        reward.clean_tiers(list(reward.tiers.all()))
        assert reward.name_fr
    assert [tier.name for tier in rewards["gold-early-access"].tiers.all()] == ["Gold"]
    assert rewards["tasting-evening"].stock == 12
    assert rewards["give-a-meal"].charity.name == "Food bank"
    assert (rewards["ten-percent"].percent, rewards["ten-percent"].max_discount_amount) == (10, 20)
    assert list(VoucherCode.objects.order_by("code").values_list("reward__code", "code")) == [
        ("gift-card-25", f"DEMO-GIFT-{n:04d}") for n in range(1, 6)
    ]
