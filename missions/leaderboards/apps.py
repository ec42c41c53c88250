from django.apps import AppConfig


class LeaderboardsConfig(AppConfig):
    name = "missions.leaderboards"
    label = "leaderboards"
    verbose_name = "Leaderboards"
