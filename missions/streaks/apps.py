from django.apps import AppConfig


class StreaksConfig(AppConfig):
    name = "missions.streaks"
    label = "streaks"
    verbose_name = "Streaks"
