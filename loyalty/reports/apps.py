from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "loyalty.reports"
    label = "reports"
    verbose_name = "Reports"
