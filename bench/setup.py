"""Django set-up shared by the main process and the worker processes."""

import os


def django_setup() -> None:
    # Query logging (DEBUG) would cost every statement a little: measure the production path.
    os.environ.setdefault("DEBUG", "false")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loyalty.settings")
    import django

    django.setup()
