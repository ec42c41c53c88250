"""Reads of the ledger for the staff admin: each runs a fixed number of queries whatever the history."""

from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db.models import F, OuterRef, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce

from . import services
from .models import NOT_REVERSIBLE_KINDS, Entry


def entry_reversible_points(*, entry: Entry) -> int:
    """What of ``entry`` can still be reversed (the ledger's own rule; two queries)."""
    if entry.kind in NOT_REVERSIBLE_KINDS:
        return 0
    return services.reversible_points(entry)


def entries_with_reversed(entries: QuerySet[Entry]) -> QuerySet[Entry]:
    """``entries`` annotated with ``reversed_total``: the signed points reversals undid of each so far
    (taken back or, for a credit, left owed: ``amount - debt``)."""
    reversed_total = (
        Entry.objects.filter(reverses=OuterRef("pk"))
        .order_by()
        .values("reverses")
        .annotate(total=Sum(F("amount") - F("debt")))
        .values("total")
    )
    return entries.annotate(reversed_total=Coalesce(Subquery(reversed_total), 0))


def actors_of(entries) -> dict[tuple[int, str], object]:
    """The users and partners who made ``entries``, keyed by (content type id, id): one query per kind of actor."""
    from loyalty.partners.models import Partner

    wanted: dict[int, set[str]] = {}
    for entry in entries:
        if entry.actor_type_id:
            wanted.setdefault(entry.actor_type_id, set()).add(entry.actor_id)
    found = {}
    for type_id, ids in wanted.items():
        model = ContentType.objects.get_for_id(type_id).model_class()
        if model not in (get_user_model(), Partner):
            continue
        for obj in model.objects.filter(pk__in=[int(pk) for pk in ids if pk.isdigit()]):
            found[(type_id, str(obj.pk))] = obj
    return found
