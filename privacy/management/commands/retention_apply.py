import json
from typing import Any

from django.core.management.base import BaseCommand

from privacy.exports import exports_expire
from privacy.retention import retention_apply


class Command(BaseCommand):
    help = "Anonymize attendee data of events past their organization's retention (as beat does)."

    def handle(self, *args: Any, **options: Any) -> None:
        runs = retention_apply()
        report = {
            "runs": [
                {
                    "organization": str(run.organization_id),
                    "retention_days": run.days,
                    "events": run.event_count,
                    "tickets": run.tickets,
                    "orders": run.orders,
                    "transfers": run.transfers,
                }
                for run in runs
            ],
            "exports_expired": exports_expire(),
        }
        self.stdout.write(json.dumps(report, sort_keys=True))
