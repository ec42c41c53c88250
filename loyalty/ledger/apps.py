from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "loyalty.ledger"
    label = "ledger"
    verbose_name = "Point ledger"

    def ready(self):
        from . import checks  # noqa: F401  (registers the settings check)
