"""Staff exports: the admin's lists as CSV (members, entries of a period, vouchers, campaign results), streamed.

Each export reads the list's queryset (its filters, search and order: ``export_admin.py``) with
``values()`` and ``iterator(chunk_size=CHUNK_SIZE)``: one query whatever the number of rows (on
PostgreSQL a server-side cursor, inside a transaction so that the database too produces the
rows a chunk at a time), no model instance built, each line written as the response streams.
Related names come from joins or subqueries of that one query, never a query per row.

The lines are those of the member's own CSV (``members.exports.csv_lines``: byte-order mark,
header, ``;`` where the language writes decimals with a comma; text cells through
``spreadsheet_safe``). The header is computed in the request's language and the rows are
written in it too: the generator runs after the view has returned, so it activates the
language itself. Times are the program's (``2026-12-05 14:30:00``), points plain integers, money
two decimals with the language's separator. A voucher's code is masked as on the admin's pages.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from types import SimpleNamespace

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import BigIntegerField, Case, CharField, OuterRef, QuerySet, Subquery, Value, When
from django.db.models.functions import Cast
from django.utils import timezone, translation
from django.utils.formats import get_format
from django.utils.translation import gettext as _

from campaigns.models import CampaignStatus
from campaigns.reports import campaigns_with_sales, stats_of
from loyalty.clock import program_timezone
from loyalty.ledger.memos import entry_memo_display
from loyalty.ledger.models import EntryKind
from loyalty.partners.models import Partner
from members.exports import CSV_TIME_FORMAT, csv_lines, spreadsheet_safe
from members.models import MemberStatus
from rewards.models import VoucherStatus

CHUNK_SIZE = 2000


@dataclass(frozen=True)
class CsvExport:
    """What one list exports: its file name, who may (beyond the list's view permission), the header, the rows."""

    name: str
    permission: str | None  # None: the list's view permission is enough
    header: Callable[[], list[str]]
    rows: Callable[[QuerySet], Iterator[list]]
    period_field: str | None = None  # the list is exported for a period of this date-time field


def csv_stream(export: CsvExport, queryset: QuerySet) -> Iterator[str]:
    """The export's lines, to stream: the header now, in the active language; the rows later, in the same one."""
    header = [str(label) for label in export.header()]
    return _in_language(translation.get_language(), header, export.rows(queryset))


def _in_language(language: str | None, header: list[str], rows: Iterator[list]) -> Iterator[str]:
    # In a transaction, PostgreSQL's server-side cursor is read as the file streams; outside one
    # (autocommit) Django declares it WITH HOLD, which computes and stores every row before the first.
    with translation.override(language), transaction.atomic():
        yield from csv_lines(header, rows)


def _values(queryset: QuerySet, *fields: str, **expressions) -> Iterator[dict]:
    return queryset.prefetch_related(None).values(*fields, **expressions).iterator(chunk_size=CHUNK_SIZE)


def _moment(value: datetime | None) -> str:
    return timezone.localtime(value, program_timezone()).strftime(CSV_TIME_FORMAT) if value else ""


def _yes_no(value: bool) -> str:
    return _("yes") if value else _("no")


def _money(amount: Decimal) -> str:
    return str(amount.quantize(Decimal("0.01"))).replace(".", get_format("DECIMAL_SEPARATOR"))


def _text(value) -> str:
    return spreadsheet_safe(value or "")


# Members: personal data (members.export_member)


def member_header() -> list[str]:
    return [
        _("Member number"),
        _("E-mail"),
        _("First name"),
        _("Last name"),
        _("Phone"),
        _("Language"),
        _("Status"),
        _("Joined"),
        _("E-mail verified"),
        _("Marketing consent"),
        _("Balance"),
        _("Pending"),
        _("Lifetime earned"),
        _("Lifetime spent"),
        _("Enrolled by"),
    ]


def member_rows(queryset: QuerySet) -> Iterator[list]:
    statuses = dict(MemberStatus.choices)
    rows = _values(
        queryset,
        "member_number",
        "user__email",
        "user__first_name",
        "user__last_name",
        "phone",
        "language",
        "status",
        "joined_at",
        "email_verified_at",
        "marketing_consent",
        "account__balance",
        "account__pending",
        "account__lifetime_earned",
        "account__lifetime_spent",
        "enrolled_by__name",
    )
    for row in rows:
        yield [
            row["member_number"],
            _text(row["user__email"]),
            _text(row["user__first_name"]),
            _text(row["user__last_name"]),
            _text(row["phone"]),
            row["language"],
            str(statuses.get(row["status"], row["status"])),
            _moment(row["joined_at"]),
            _yes_no(row["email_verified_at"] is not None),
            _yes_no(row["marketing_consent"]),
            row["account__balance"],
            row["account__pending"],
            row["account__lifetime_earned"],
            row["account__lifetime_spent"],
            _text(row["enrolled_by__name"]),
        ]


MEMBERS = CsvExport("members", "members.export_member", member_header, member_rows)


# Entries of a period (ledger.export_entry): member numbers, never names or e-mails


def entry_header() -> list[str]:
    return [
        _("Entry"),
        _("Date"),
        _("Member number"),
        _("Kind"),
        _("Points"),
        _("Debt"),
        _("Held"),
        _("Balance after"),
        _("Reason"),
        _("Made by"),
        _("Cause"),
        _("Reverses"),
    ]


def _actor_names() -> dict:
    """Who made each entry, in the same query: a staff user's username, a partner's name (no member's e-mail)."""
    user_model = get_user_model()
    actor_pk = Cast(OuterRef("actor_id"), BigIntegerField())
    staff = user_model.objects.filter(pk=actor_pk, is_staff=True).values(user_model.USERNAME_FIELD)[:1]
    partner = Partner.objects.filter(pk=actor_pk).values("name")[:1]
    user_opts = user_model._meta
    return {
        "actor_name": Case(
            When(
                actor_type__app_label=user_opts.app_label,
                actor_type__model=user_opts.model_name,
                then=Subquery(staff, output_field=CharField()),
            ),
            When(actor_type__app_label="partners", actor_type__model="partner", then=Subquery(partner)),
            default=Value(""),
            output_field=CharField(),
        )
    }


def entry_rows(queryset: QuerySet) -> Iterator[list]:
    kinds = dict(EntryKind.choices)
    rows = _values(
        queryset,
        "pk",
        "created_at",
        "account__member__member_number",
        "kind",
        "amount",
        "debt",
        "held",
        "balance_after",
        "memo",
        "memo_code",
        "memo_params",
        "actor_type__app_label",
        "actor_type__model",
        "cause_type__app_label",
        "cause_type__model",
        "cause_id",
        "reverses_id",
        **_actor_names(),
    )
    for row in rows:
        memo = entry_memo_display(
            SimpleNamespace(memo=row["memo"], memo_code=row["memo_code"], memo_params=row["memo_params"])
        )
        yield [
            row["pk"],
            _moment(row["created_at"]),
            row["account__member__member_number"],
            str(kinds.get(row["kind"], row["kind"])),
            row["amount"],
            row["debt"],
            row["held"],
            row["balance_after"],
            _text(memo),
            _text(_made_by(row)),
            _cause(row),
            row["reverses_id"] or "",
        ]


def _made_by(row: dict) -> str:
    if row["actor_type__model"] is None:
        return _("System")
    if row["actor_type__model"] == "partner":
        return row["actor_name"] or ""
    if row["actor_name"]:
        return _("%(name)s (staff)") % {"name": row["actor_name"]}
    return _("The member")


def _cause(row: dict) -> str:
    if row["cause_type__model"] is None:
        return ""
    try:
        name = apps.get_model(row["cause_type__app_label"], row["cause_type__model"])._meta.verbose_name
    except LookupError:
        name = row["cause_type__model"]
    return f"{name} {row['cause_id']}"


ENTRIES = CsvExport("entries", "ledger.export_entry", entry_header, entry_rows, period_field="created_at")


# Vouchers (rewards.export_voucher): codes masked, as the admin shows them


def voucher_header() -> list[str]:
    return [
        _("Voucher"),
        _("Code"),
        _("Reward"),
        _("Member number"),
        _("Status"),
        _("Points"),
        _("Issued"),
        _("Expires"),
        _("Used"),
        _("Used at partner"),
        _("Cancelled"),
        _("Redemption"),
    ]


def voucher_rows(queryset: QuerySet) -> Iterator[list]:
    from rewards.admin import code_masked

    statuses = dict(VoucherStatus.choices)
    rows = _values(
        queryset,
        "pk",
        "code",
        "reward__name",
        "member__member_number",
        "status",
        "points",
        "issued_at",
        "expires_at",
        "used_at",
        "used_by__name",
        "cancelled_at",
        "redemption_id",
    )
    for row in rows:
        yield [
            row["pk"],
            _text(code_masked(row["code"])),
            _text(row["reward__name"]),
            row["member__member_number"],
            str(statuses.get(row["status"], row["status"])),
            row["points"],
            _moment(row["issued_at"]),
            _moment(row["expires_at"]),
            _moment(row["used_at"]),
            _text(row["used_by__name"]),
            _moment(row["cancelled_at"]),
            row["redemption_id"],
        ]


VOUCHERS = CsvExport("vouchers", "rewards.export_voucher", voucher_header, voucher_rows)


# Campaign results (campaigns.view_campaign: figures, no member)


def campaign_header() -> list[str]:
    return [
        _("Campaign"),
        _("Name"),
        _("Status"),
        _("Starts"),
        _("Ends"),
        _("Members reached"),
        _("Points awarded"),
        _("Budget"),
        _("Budget left"),
        _("Purchases matched"),
        _("Matched sales (%(currency)s)") % {"currency": settings.LOYALTY_CURRENCY},
    ]


def campaign_rows(queryset: QuerySet) -> Iterator[list]:
    """The campaign list's statistics (``campaigns.reports``, already on the list's queryset) and the sales."""
    statuses = dict(CampaignStatus.choices)
    fields = ["pk", "name", "status", "starts_at", "ends_at", "budget", "points_awarded"]
    stats = ["stat_members", "stat_points", "stat_purchases", "stat_sales"]
    for row in _values(campaigns_with_sales(queryset), *fields, *stats):
        figures = stats_of(SimpleNamespace(**row))
        yield [
            row["pk"],
            _text(row["name"]),
            str(statuses.get(row["status"], row["status"])),
            _moment(row["starts_at"]),
            _moment(row["ends_at"]),
            figures.members_reached,
            figures.points_awarded,
            "" if figures.budget is None else figures.budget,
            "" if figures.budget_left is None else figures.budget_left,
            figures.purchases_matched,
            _money(row["stat_sales"]),
        ]


CAMPAIGNS = CsvExport("campaigns", None, campaign_header, campaign_rows)
