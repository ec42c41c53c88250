from django.conf import settings
from django.core.checks import Error, register

from .policy import POLICIES


@register()
def expiry_policy_check(app_configs, **kwargs):
    errors = []
    if settings.LOYALTY_POINTS_EXPIRY_POLICY not in POLICIES:
        errors.append(
            Error(
                f"LOYALTY_POINTS_EXPIRY_POLICY must be one of {', '.join(POLICIES)}.",
                id="ledger.E001",
            )
        )
    if settings.LOYALTY_POINTS_EXPIRY_PERIOD < 1:
        errors.append(Error("LOYALTY_POINTS_EXPIRY_PERIOD must be 1 or more.", id="ledger.E002"))
    return errors
