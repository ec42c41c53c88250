"""The member's history as CSV, streamed row by row."""

import csv
from collections.abc import Iterator

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from loyalty.ledger.models import Entry

# A cell that starts with one of these may run as a formula in a spreadsheet (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "\0")


def entries_csv_rows(entries: QuerySet[Entry]) -> Iterator[str]:
    """A byte-order mark (so spreadsheets read UTF-8), a header, then one line per entry; one query in all."""
    writer = csv.writer(_Echo())
    yield "\ufeff"
    yield writer.writerow([_("Date"), _("Kind"), _("Points"), _("Balance after"), _("Reason")])
    for entry in entries.iterator(chunk_size=2000):
        yield writer.writerow(
            [
                timezone.localtime(entry.created_at).isoformat(timespec="seconds"),
                entry.get_kind_display(),
                entry.amount,
                entry.balance_after,
                spreadsheet_safe(entry.memo_display),
            ]
        )


def spreadsheet_safe(text: str) -> str:
    """``text`` prefixed with ``'`` when a spreadsheet could read it as a formula."""
    return f"'{text}" if text.lstrip(" ").startswith(FORMULA_STARTS) else text


class _Echo:
    """A file-like object whose ``write`` returns the line, for ``csv.writer`` in a generator."""

    def write(self, value: str) -> str:
        return value
