from django.apps import AppConfig


class TiersConfig(AppConfig):
    name = "members.tiers"
    label = "tiers"
    verbose_name = "Tiers"
