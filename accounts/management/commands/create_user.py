from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from accounts.models import Membership, Organization, User
from accounts.services import membership_grant, organization_create

ROLE_TO_MEMBERSHIP = {"organizer": Membership.Role.OWNER, "door": Membership.Role.DOOR}


class Command(BaseCommand):
    help = "Create (or update) a user with a role, for scripts and demos."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--email", required=True)
        parser.add_argument("--password", required=True)
        parser.add_argument("--name", default="")
        parser.add_argument(
            "--role", choices=["attendee", "organizer", "door", "admin"], default="attendee"
        )
        parser.add_argument("--organization", help="organization name (organizer and door)")

    def handle(self, *args: Any, **options: Any) -> None:
        role = options["role"]
        org_name = options["organization"]
        if role in ROLE_TO_MEMBERSHIP and not org_name:
            raise CommandError(f"--organization is required for --role {role}")
        email = options["email"].strip().lower()
        user = User.objects.filter(email=email).first() or User(email=email)
        user.full_name = options["name"] or user.full_name
        user.set_password(options["password"])
        user.is_staff = user.is_superuser = role == "admin"
        user.save()
        if role in ROLE_TO_MEMBERSHIP:
            organization = Organization.objects.filter(name=org_name).first()
            if organization is None:
                if role == "door":
                    raise CommandError(f"organization {org_name!r} does not exist")
                organization = organization_create(owner=user, name=org_name)
            with transaction.atomic():
                membership_grant(
                    organization=organization, user=user, role=ROLE_TO_MEMBERSHIP[role]
                )
        self.stdout.write(f"{role} {email} ready")
