from django.db.models import QuerySet

from accounts.models import Organization, User
from privacy.models import DataExport, RetentionRun


def exports_of(user: User) -> QuerySet[DataExport]:
    """The person's own exports, newest first (without their archives)."""
    return DataExport.objects.filter(user=user).defer("archive").order_by("-created_at")


def retention_runs_of(organization: Organization) -> QuerySet[RetentionRun]:
    return RetentionRun.objects.filter(organization=organization).order_by("-ran_at")
