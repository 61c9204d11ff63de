from typing import Any

from django.core.management.base import BaseCommand

from ticketing.aftersale.cancellation import refund_job_step, refund_jobs_resume
from ticketing.aftersale.refunds import refunds_retry
from ticketing.models import RefundJob


class Command(BaseCommand):
    help = "Resume unfinished event-cancellation refund jobs and resend lost refunds."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--inline", action="store_true", help="Run the jobs here, not in Celery"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        retried = refunds_retry()
        if not options["inline"]:
            self.stdout.write(f"{refund_jobs_resume()} jobs resumed, {retried} refunds resent")
            return
        for job_id in RefundJob.objects.filter(status=RefundJob.Status.RUNNING).values_list(
            "pk", flat=True
        ):
            while refund_job_step(job_id=job_id):
                pass
        self.stdout.write(f"jobs done, {retried} refunds resent")
