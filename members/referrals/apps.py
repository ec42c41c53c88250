from django.apps import AppConfig


class ReferralsConfig(AppConfig):
    name = "members.referrals"
    label = "referrals"
    verbose_name = "Referrals"
