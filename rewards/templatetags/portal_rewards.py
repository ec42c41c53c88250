"""How rewards and vouchers read in the portal: names and descriptions in the reader's language (the English text
where no French one is set), and what a voucher is worth, in words, with the language's separators."""

from datetime import datetime
from decimal import Decimal

from django import template
from django.conf import settings
from django.utils.formats import number_format
from django.utils.text import get_text_list
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _

from members.templatetags.portal import day, moment
from members.tiers.templatetags.tiers import tier_name

from ..eligibility import limit_words
from ..models import RewardKind

register = template.Library()


def _french() -> bool:
    return (get_language() or "").startswith("fr")


def _localized(english: str, french: str) -> str:
    return (french if _french() else "") or english


def _money(value, currency: str) -> str:
    amount = number_format(Decimal(value).quantize(Decimal("0.01")), 2, force_grouping=True)
    return f"{amount}\u00a0{currency}"


def _number(value) -> str:
    value = Decimal(value)
    return number_format(value.normalize() if value == value.to_integral() else value, force_grouping=True)


@register.filter
def localized_name(row) -> str:
    """A reward's or a charity's name in the reader's language."""
    return _localized(row.name, row.name_fr)


@register.filter
def reward_name(reward) -> str:
    return localized_name(reward)


@register.filter
def reward_description(reward) -> str:
    return _localized(reward.description, reward.description_fr)


@register.filter
def charity_name(row: dict) -> str:
    """A row of ``member_donations_by_charity``: the charity's name in the reader's language."""
    return _localized(row["charity__name"], row["charity__name_fr"])


@register.filter
def voucher_name(voucher) -> str:
    """The reward's name as it was when the voucher was issued (its terms)."""
    terms = voucher.terms or {}
    return _localized(terms.get("name") or voucher.reward.name, terms.get("name_fr", ""))


def value_words(terms: dict) -> str:
    """What a voucher of these terms is worth, in words: "5.00 EUR off", "20% off, at most 10.00 EUR"; empty for
    an exclusive offer (its description tells)."""
    kind, currency = terms.get("kind"), terms.get("currency") or settings.LOYALTY_CURRENCY
    amount, percent, cap = terms.get("value_amount"), terms.get("percent"), terms.get("max_discount_amount")
    if kind == RewardKind.FIXED_DISCOUNT and amount is not None:
        return _("%(amount)s off your purchase") % {"amount": _money(amount, currency)}
    if kind == RewardKind.PERCENT_DISCOUNT and percent is not None:
        if cap is not None:
            return _("%(percent)s%% off, at most %(amount)s") % {
                "percent": _number(percent),
                "amount": _money(cap, currency),
            }
        return _("%(percent)s%% off") % {"percent": _number(percent)}
    if kind == RewardKind.FREE_PRODUCT:
        return _("A free product (%(sku)s)") % {"sku": terms["sku"]} if terms.get("sku") else _("A free product")
    if kind == RewardKind.GIFT_CARD and amount is not None:
        return _("A gift card worth %(amount)s") % {"amount": _money(amount, currency)}
    if kind == RewardKind.EXPERIENCE and terms.get("starts_at"):
        return _("Takes place on %(moment)s") % {"moment": moment(datetime.fromisoformat(terms["starts_at"]))}
    if kind == RewardKind.DONATION and amount is not None:
        return _("A donation of %(amount)s") % {"amount": _money(amount, currency)}
    return ""


@register.filter
def reward_value(reward) -> str:
    """What the reward's voucher is worth now, in words."""

    def text(value) -> str | None:
        return None if value is None else str(value)

    return value_words(
        {
            "kind": reward.kind,
            "value_amount": text(reward.value_amount),
            "percent": text(reward.percent),
            "max_discount_amount": text(reward.max_discount_amount),
            "sku": reward.sku,
            "starts_at": reward.starts_at.isoformat() if reward.starts_at else None,
        }
    )


@register.filter
def voucher_value(voucher) -> str:
    """What the voucher is worth, from its terms frozen at issue."""
    return value_words(voucher.terms or {})


@register.filter
def money(value, currency: str = "") -> str:
    """An amount with two decimals and its currency: 10.00 EUR (10,00 EUR in French)."""
    return _money(value, currency or settings.LOYALTY_CURRENCY)


@register.filter
def tier_names(tiers) -> str:
    """The tiers that may redeem a reward, in the reader's language: "Gold or Platinum"."""
    return get_text_list([tier_name(tier) for tier in tiers], _("or"))


@register.filter
def reward_validity(reward) -> str:
    """How long the reward's voucher is valid, in words."""
    days, until = reward.validity_days, reward.valid_until
    if days and until:
        return ngettext(
            "%(days)s day after you redeem it, until %(day)s at the latest",
            "%(days)s days after you redeem it, until %(day)s at the latest",
            days,
        ) % {"days": days, "day": day(until)}
    if days:
        return ngettext("%(days)s day after you redeem it", "%(days)s days after you redeem it", days) % {"days": days}
    if until:
        return _("Until %(day)s") % {"day": day(until)}
    return _("No expiry date")


@register.filter
def reward_limit(reward) -> str:
    """The reward's per-member limit in words; empty when there is none."""
    if reward.limit_per_member is None:
        return ""
    return limit_words(reward.limit_per_member, reward.limit_period)
