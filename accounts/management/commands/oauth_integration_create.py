from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import Organization, User
from accounts.services import oauth_integration_create
from core.errors import DomainError


class Command(BaseCommand):
    help = (
        "Register an organization's server as an OAuth2 client-credentials app; prints its "
        "client id and secret (the secret is stored hashed: this is the only time it is shown)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--organization", required=True, help="the organization's slug")
        parser.add_argument("--owner", required=True, help="email of an owner of it")
        parser.add_argument(
            "--name", required=True, help="what the integration is, e.g. 'CRM sync'"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        organization = Organization.objects.filter(slug=options["organization"]).first()
        owner = User.objects.filter(email__iexact=options["owner"]).first()
        if organization is None or owner is None:
            raise CommandError("No such organization or owner.")
        try:
            integration, secret = oauth_integration_create(
                owner=owner, organization=organization, name=options["name"]
            )
        except DomainError as exc:
            raise CommandError(exc.detail_message) from exc
        self.stdout.write(f"client_id={integration.application.client_id}")
        self.stdout.write(f"client_secret={secret}")
