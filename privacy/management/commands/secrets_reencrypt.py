import json
from typing import Any

from django.core.management.base import BaseCommand

from privacy.secrets import secrets_reencrypt


class Command(BaseCommand):
    help = (
        "Re-seal every secret stored in the database with the newest key of "
        "BOXOFFICE_ENCRYPTION_KEYS (after which older keys can be removed)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(json.dumps(secrets_reencrypt(), sort_keys=True))
