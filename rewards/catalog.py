"""Staff's writes to the catalog: saving a reward (its stock by difference) and switching rewards on or off.

The admin's form, its actions and the CSV import call these, so a reward is written one way. Gift card
codes are imported through ``rewards.resources.VoucherCodeResource`` (the import's own transaction).
"""

from django.db import transaction
from django.db.models import F, QuerySet
from django.db.models.functions import Greatest

from .models import Reward


def reward_save(*, reward: Reward, stock_loaded: int | None) -> Reward:
    """Save ``reward`` as staff edited it; its stock moves by what staff changed, not to an absolute value.

    ``stock_loaded`` is the stock when staff's form (or the import's row) read the reward: the
    difference is added to the stock as it is now, in one ``UPDATE``, so the units that members
    redeemed meanwhile stay sold (never below 0). From or to unlimited (``None``) is set as is.
    A new reward is saved whole. Run inside the caller's transaction (the import's) or its own.
    """
    with transaction.atomic():
        if reward._state.adding:
            reward.save()
            return reward
        fields = [field.name for field in Reward._meta.concrete_fields if not field.primary_key]
        fields.remove("stock")
        reward.save(update_fields=fields)
        if reward.stock != stock_loaded:
            if reward.stock is None or stock_loaded is None:
                Reward.objects.filter(pk=reward.pk).update(stock=reward.stock)
            else:
                change = reward.stock - stock_loaded
                Reward.objects.filter(pk=reward.pk).update(stock=Greatest(F("stock") + change, 0))
            reward.refresh_from_db(fields=["stock"])
    return reward


def reward_active_set(*, rewards: QuerySet, active: bool) -> list[Reward]:
    """Switch the given rewards on (``active``) or off in one ``UPDATE``; returns those that changed.

    An inactive reward stays in the catalog's admin and keeps its vouchers (they are honoured until
    they expire); members can no longer redeem it (``eligibility.reward_refusal``).
    """
    with transaction.atomic():
        changing = list(rewards.exclude(active=active).order_by("pk"))
        Reward.objects.filter(pk__in=[reward.pk for reward in changing]).update(active=active)
    for reward in changing:
        reward.active = active
    return changing
