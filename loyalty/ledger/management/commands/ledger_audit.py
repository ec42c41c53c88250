from django.core.management.base import BaseCommand, CommandError

from loyalty.ledger.audit import audit, audit_causes, audit_qualifying


class Command(BaseCommand):
    help = (
        "Check the ledger's invariants for every account and lot, that every entry names its cause and"
        " that what counts towards tiers matches the entries; exit non-zero on any problem."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--expiry-grace-days",
            type=int,
            default=1,
            help="Days a lot may stay past its last day before unexpired points count as a problem.",
        )

    def handle(self, *args, expiry_grace_days, **options):
        problems = audit(expiry_grace_days=expiry_grace_days) + audit_causes() + audit_qualifying()
        for problem in problems:
            self.stderr.write(problem)
        if problems:
            raise CommandError(f"The ledger audit found {len(problems)} problem(s).")
        self.stdout.write(self.style.SUCCESS("The ledger audit found no problem."))
