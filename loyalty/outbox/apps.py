from django.apps import AppConfig


class OutboxConfig(AppConfig):
    name = "loyalty.outbox"
    label = "outbox"
    verbose_name = "Outbox"
