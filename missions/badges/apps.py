from django.apps import AppConfig


class BadgesConfig(AppConfig):
    name = "missions.badges"
    label = "badges"
    verbose_name = "Badges"
