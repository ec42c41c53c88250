"""``manage.py reports_rollup``: what the nightly task does, and a backfill (``--from``) or a recomputation."""

from datetime import date

from django.core.management.base import BaseCommand, CommandError

from loyalty.clock import program_date

from ... import rollup


class Command(BaseCommand):
    help = (
        "Roll up the dashboard's program days: those not yet closed up to yesterday (all of them, from the"
        " first entry's, the first time), or every day from --from, and today up to two minutes ago; then snapshot"
        " the tier distribution and the expiry forecast. Recomputing a day replaces it."
    )

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="first", type=date.fromisoformat, help="First day to (re)compute.")
        parser.add_argument("--no-snapshot", action="store_true", help="Leave the snapshots as they are.")

    def handle(self, *args, first=None, no_snapshot=False, **options):
        if first is not None and first >= program_date():
            raise CommandError("--from must be a closed day: before today.")
        closed = rollup.close_days(first=first)
        if not no_snapshot:
            rollup.snapshot_now()
        self.stdout.write(f"{closed['days']} days rolled up ({closed['first']} to {closed['last']}).")
