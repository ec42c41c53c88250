from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "members.notifications"
    label = "notifications"
    verbose_name = "Notifications"
