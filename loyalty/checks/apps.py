from django.apps import AppConfig


class ChecksConfig(AppConfig):
    name = "loyalty.checks"
    label = "loyalty_checks"
    verbose_name = "System checks"

    def ready(self):
        from . import deploy  # noqa: F401  (registers the checks)
