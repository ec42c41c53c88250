import csv
import gc
import time

from django.core.management.base import BaseCommand, CommandError

from campaigns.imports import BATCH_SIZE, columns_check, purchases_import
from loyalty.exceptions import LoyaltyError
from loyalty.partners.models import Partner


class Command(BaseCommand):
    help = (
        "Import a partner's purchases from a CSV file (one row per item: external_id, member, occurred_at, amount,"
        " currency, channel, store, sku, category, quantity, unit_price), applying the earning rules. Bad purchases"
        " are reported and skipped; purchases already imported are skipped, so it is safe to run again."
    )

    def add_arguments(self, parser):
        parser.add_argument("--partner", required=True, help="The partner's name or id.")
        parser.add_argument("--batch-size", type=int, default=BATCH_SIZE, help="Purchases per transaction.")
        parser.add_argument("file", help="The CSV file (UTF-8, a header row).")

    def handle(self, *args, **options):
        partner = _partner(options["partner"])
        started = time.perf_counter()
        # The import makes and drops millions of small objects: a full collection each few thousand of them
        # walked every object of the process (a third of the import's time). Objects alive now are frozen
        # out of the collections and the young generation collected less often, for this run only.
        gc.freeze()
        thresholds = gc.get_threshold()
        gc.set_threshold(100_000, 50, 100)
        try:
            with open(options["file"], newline="", encoding="utf-8-sig") as handle:
                reader = csv.DictReader(handle)
                columns_check(reader.fieldnames)
                result = purchases_import(partner=partner, rows=reader, batch_size=options["batch_size"])
        except (OSError, UnicodeDecodeError, csv.Error, LoyaltyError) as error:
            raise CommandError(str(getattr(error, "message", error))) from error
        finally:
            gc.set_threshold(*thresholds)
            gc.unfreeze()
        seconds = time.perf_counter() - started
        for error in result.errors:
            self.stderr.write(f"line {error.line}: {error.external_id or '-'}: {error.code}: {error.message}")
        self.stdout.write(
            f"{result.purchases} purchases imported ({result.earned} earned {result.points} points,"
            f" {result.not_earning} recorded without points, {result.one_by_one} one by one),"
            f" {result.already_imported} already imported, {len(result.errors)} skipped with errors;"
            f" {seconds:.1f} s"
        )
        if result.errors:
            raise CommandError(f"{len(result.errors)} purchases were not imported (see above).", returncode=2)


def _partner(value: str) -> Partner:
    partner = Partner.objects.filter(pk=int(value)).first() if value.isdigit() else None
    partner = partner or Partner.objects.filter(name__iexact=value.strip()).first()
    if partner is None:
        raise CommandError(f"No partner is named {value!r} or has this id.")
    return partner
