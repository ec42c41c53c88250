"""The only place partner rows are locked.

Order: a presence code is locked before the member's points account (a debit with a
code spends the code, then the ledger locks the account), never the other way round.
"""

from .models import PresenceCode


def presence_code_latest_for_update(member_id: int) -> PresenceCode | None:
    """Lock and return the member's latest presence code, if any."""
    return PresenceCode.objects.select_for_update().filter(member_id=member_id).order_by("-created_at", "-id").first()


def presence_code_for_update(code_id: int, member_id: int) -> PresenceCode:
    """Lock and return one presence code of the member (``DoesNotExist`` if it is not theirs)."""
    return PresenceCode.objects.select_for_update().get(pk=code_id, member_id=member_id)


def partner_for_update(partner_id: int) -> None:
    """Lock a partner's row: what runs one import of the partner's purchases at a time.

    ``FOR NO KEY UPDATE``: the rows that name the partner (a purchase posted meanwhile, its
    stored response) take ``FOR KEY SHARE`` on it for their foreign keys, which this lock
    lets through; a plain ``FOR UPDATE`` would hold them until the batch commits (and
    deadlock with a purchase holding an account of the batch).
    """
    from .models import Partner

    list(Partner.objects.filter(pk=partner_id).select_for_update(no_key=True).values_list("pk", flat=True))
