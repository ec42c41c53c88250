from django.apps import AppConfig
from django.db.backends.signals import connection_created


class LedgerConfig(AppConfig):
    name = "loyalty.ledger"
    label = "ledger"
    verbose_name = "Point ledger"

    def ready(self):
        from . import checks  # noqa: F401  (registers the settings check)
        from .immutability import register_sqlite_function

        connection_created.connect(register_sqlite_function, dispatch_uid="ledger_sqlite_function")
