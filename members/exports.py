"""What a member downloads: the history as CSV, and all their data as JSON; both streamed row by row."""

import csv
import json
from collections.abc import Iterator
from datetime import date, datetime

from django.db.models import QuerySet
from django.utils import timezone, translation
from django.utils.formats import get_format
from django.utils.translation import gettext as _

from loyalty.clock import program_timezone
from loyalty.ledger.models import Entry, Lot

from .models import Member

# A cell that starts with one of these may run as a formula in a spreadsheet (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "\0")
CSV_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def csv_delimiter() -> str:
    """``;`` where the active language writes decimals with a comma (French): what Excel expects there."""
    return ";" if get_format("DECIMAL_SEPARATOR") == "," else ","


def entries_csv_rows(entries: QuerySet[Entry]) -> Iterator[str]:
    """A byte-order mark (so spreadsheets read UTF-8), a header, then one line per entry; one query in all.

    Times are the program's, written ``2026-12-05 14:30:00`` (read as a date and time by
    spreadsheets in any language); points are plain integers, which no locale misreads.
    In the language active when called, though the rows are written later, as they stream.
    """
    return _in_language(translation.get_language(), _entries_csv_rows(entries))


def _entries_csv_rows(entries: QuerySet[Entry]) -> Iterator[str]:
    zone = program_timezone()
    rows = (
        [
            timezone.localtime(entry.created_at, zone).strftime(CSV_TIME_FORMAT),
            entry.get_kind_display(),
            entry.amount,
            entry.balance_after,
            spreadsheet_safe(entry.memo_display),
        ]
        for entry in entries.iterator(chunk_size=2000)
    )
    return csv_lines([_("Date"), _("Kind"), _("Points"), _("Balance after"), _("Reason")], rows)


def csv_lines(header: list, rows) -> Iterator[str]:
    """A byte-order mark (so spreadsheets read UTF-8), the header, then each row, as lines to stream.

    Text cells are the caller's to pass through ``spreadsheet_safe``.
    """
    writer = csv.writer(_Echo(), delimiter=csv_delimiter())
    yield "\ufeff"
    yield writer.writerow(header)
    for row in rows:
        yield writer.writerow(row)


def spreadsheet_safe(text: str) -> str:
    """``text`` prefixed with ``'`` when a spreadsheet could read it as a formula."""
    return f"'{text}" if text.lstrip(" ").startswith(FORMULA_STARTS) else text


class _Echo:
    """A file-like object whose ``write`` returns the line, for ``csv.writer`` in a generator."""

    def write(self, value: str) -> str:
        return value


def member_data_json(member: Member) -> Iterator[str]:
    """Everything the program holds about ``member`` as one JSON document, streamed: five queries.

    The member, its user and account must be loaded already (``member_for_user`` joins them).
    """
    return _in_language(translation.get_language(), _member_data_json(member))


def _in_language(language: str | None, chunks: Iterator[str]) -> Iterator[str]:
    with translation.override(language):
        yield from chunks


def _member_data_json(member: Member) -> Iterator[str]:
    user, account = member.user, member.account
    head = {
        "exported_at": _moment(timezone.now()),
        "time_zone": str(program_timezone()),
        "profile": {
            "member_number": member.member_number,
            "email": user.email,
            "email_verified_at": _moment(member.email_verified_at),
            "first_name": user.first_name,
            "last_name": user.last_name,
            "birth_date": _day(member.birth_date),
            "phone": member.phone,
            "language": member.language,
            "marketing_consent": member.marketing_consent,
            "joined_at": _moment(member.joined_at),
            "status": member.status,
            "enrolled_by_partner": member.enrolled_by_id is not None,
        },
        "status_history": [
            {
                "at": _moment(change.created_at),
                "from": change.from_status,
                "to": change.to_status,
                "reason": change.reason,
                "by": "system" if change.actor_id is None else "member" if change.actor_id == user.pk else "staff",
            }
            for change in member.status_changes.order_by("created_at", "id")
        ],
        "account": {
            "balance": account.balance,
            "pending": account.pending,
            "lifetime_earned": account.lifetime_earned,
            "lifetime_spent": account.lifetime_spent,
            "lifetime_expired": account.lifetime_expired,
        },
        "lots": [
            {
                "id": lot.pk,
                "entry": lot.entry_id,
                "points": lot.amount,
                "remaining": lot.remaining,
                "expired": lot.expired,
                "pending": lot.pending,
                "available_at": _moment(lot.available_at),
                "expires_on": _day(lot.expires_on),
            }
            for lot in Lot.objects.filter(account_id=account.pk).order_by("pk")
        ],
        **_games(member),
    }
    opening = json.dumps(head, ensure_ascii=False, indent=1)
    yield opening[:-2] + ',\n "entries": ['
    entries = Entry.objects.filter(account_id=account.pk).order_by("created_at", "id")
    for number, entry in enumerate(entries.iterator(chunk_size=2000)):
        row = {
            "id": entry.pk,
            "at": _moment(entry.created_at),
            "kind": entry.kind,
            "kind_label": str(entry.get_kind_display()),
            "points": entry.amount,
            "balance_after": entry.balance_after,
            "reason": entry.memo_display,
            "reverses": entry.reverses_id,
        }
        yield ("," if number else "") + "\n  " + json.dumps(row, ensure_ascii=False)
    yield "\n ]\n}\n"


def _games(member: Member) -> dict:
    """The member's badges and the nicknames they chose in leaderboards (two queries)."""
    from missions.badges.models import MemberBadge
    from missions.leaderboards.models import LeaderboardEntry

    badges = MemberBadge.objects.filter(member_id=member.pk).select_related("badge").order_by("earned_at", "pk")
    entries = LeaderboardEntry.objects.filter(member_id=member.pk).select_related("leaderboard").order_by("pk")
    return {
        "badges": [
            {"badge": award.badge.code, "name": award.badge.name, "earned_at": _moment(award.earned_at)}
            for award in badges
        ],
        "leaderboards": [
            {"leaderboard": entry.leaderboard.name, "nickname": entry.nickname, "joined_at": _moment(entry.joined_at)}
            for entry in entries
        ],
    }


def _moment(value: datetime | None) -> str | None:
    return timezone.localtime(value, program_timezone()).isoformat(timespec="seconds") if value else None


def _day(value: date | None) -> str | None:
    return value.isoformat() if value else None
