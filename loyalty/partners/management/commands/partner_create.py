from django.core.management.base import BaseCommand, CommandError

from loyalty.exceptions import LoyaltyError
from loyalty.partners.models import SCOPES, default_scopes
from loyalty.partners.services import partner_create


class Command(BaseCommand):
    help = "Create a partner and its first API key. The key is printed once, on the last line."

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True)
        parser.add_argument(
            "--scopes",
            nargs="+",
            choices=sorted(SCOPES),
            default=default_scopes(),
            help=f"Default: {' '.join(default_scopes())}.",
        )

    def handle(self, *args, name, scopes, **options):
        try:
            partner, key = partner_create(name=name, scopes=scopes)
        except LoyaltyError as error:
            raise CommandError(error.message) from error
        self.stdout.write(f"Partner {partner.name!r} (id {partner.pk}) with scopes {' '.join(sorted(set(scopes)))}.")
        self.stdout.write("Store this key now: it is not shown again.")
        self.stdout.write(key)
