"""``flush``, letting SQLite's immutability triggers through for this command only (see ``immutability.py``)."""

from django.core.management.commands import flush

from loyalty.ledger.immutability import rows_may_change


class Command(flush.Command):
    def handle(self, **options):
        with rows_may_change():
            return super().handle(**options)
