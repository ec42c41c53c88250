"""The CSV import of a partner's purchases: ``manage.py purchases_import`` over 100,000 purchases.

The file is written first (five items a purchase, 500,000 rows, members drawn from the
seeded ones, occurred in the last hours), then the command imports it in this process,
timed from opening the file to the last commit: reading and checking the rows, the engine
over the ten campaigns (two match) and three tiers, the bulk writes and the credits. Then
the same file again (everything already imported: nothing written), and the ledger's audit.
"""

import csv
import io
import random
import time
from contextlib import redirect_stderr, redirect_stdout
from datetime import datetime, timedelta
from pathlib import Path

from . import db, earning

COLUMNS = (
    "external_id", "member", "occurred_at", "amount", "currency", "channel", "store",
    "sku", "category", "quantity", "unit_price",
)  # fmt: skip


def write_file(path: Path, *, purchases: int, members: int, now: datetime, seed: int = 7) -> int:
    """Write ``purchases`` purchases of random seeded members; return the rows written."""
    rng = random.Random(seed)
    rows = 0
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for n in range(purchases):
            lines = earning.basket(n)
            member = earning.member_number(rng.randint(1, members))
            occurred_at = (now - timedelta(minutes=rng.randint(1, 600))).isoformat()
            amount = earning.basket_amount(lines)
            for line in lines:
                writer.writerow(
                    (f"imp-{n}", member, occurred_at, amount, "EUR", "store", "Bench 1", line["sku"], line["category"],
                     line["quantity"], line["unit_price"])
                )  # fmt: skip
                rows += 1
    return rows


def seed_tiers() -> None:
    """Bronze, Silver and Gold at 100, 400 and 1,000 points with multipliers: some members move up as they buy."""
    from members.tiers.models import Tier

    for rank, (name, threshold, multiplier) in enumerate(
        (("Bronze", 100, "1.10"), ("Silver", 400, "1.25"), ("Gold", 1000, "1.50")), start=1
    ):
        Tier.objects.create(name=name, rank=rank, threshold=threshold, earning_multiplier=multiplier)


def run(path: Path, *, partner_name: str) -> dict:
    """Import the file with the command, then again; the figures."""
    from django.core.management import call_command
    from django.core.management.base import CommandError

    def command() -> tuple[float, str, str]:
        out, err = io.StringIO(), io.StringIO()
        started = time.perf_counter()
        with redirect_stdout(out), redirect_stderr(err):
            try:
                call_command("purchases_import", "--partner", partner_name, str(path), stdout=out, stderr=err)
            except CommandError as error:
                err.write(str(error))
        return time.perf_counter() - started, out.getvalue().strip(), err.getvalue().strip()

    seconds, output, errors = command()
    counts = db.rows(
        "SELECT count(*), coalesce(sum(points), 0), count(*) FILTER (WHERE outcome = 'earned') FROM campaigns_purchase"
    )[0]
    lines = db.scalar("SELECT count(*) FROM campaigns_purchaseline")
    awards = db.scalar("SELECT count(*) FROM campaigns_award")
    credited = db.scalar("SELECT coalesce(sum(amount), 0) FROM ledger_entry WHERE cause_type_id IS NOT NULL")
    tier_changes = db.scalar("SELECT count(*) FROM tiers_tierchange")
    again_seconds, again_output, again_errors = command()
    purchases_after = db.scalar("SELECT count(*) FROM campaigns_purchase")
    return {
        "seconds": round(seconds, 2),
        "purchases": counts[0],
        "purchases_per_second": round(counts[0] / seconds, 0),
        "points": int(counts[1]),
        "earned": counts[2],
        "lines": lines,
        "awards": awards,
        "points_credited": int(credited),
        "tier_changes": tier_changes,
        "output": output,
        "errors": errors[:2000],
        "again_seconds": round(again_seconds, 2),
        "again_output": again_output,
        "again_errors": again_errors[:2000],
        "again_written": purchases_after - counts[0],
    }
