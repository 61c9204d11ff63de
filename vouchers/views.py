import csv
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from core.errors import DomainError
from core.http import AuthedRequest
from events.selectors import event_managed_by
from vouchers import services
from vouchers.forms import VoucherForm


@login_required
def manage(request: AuthedRequest, event_id: Any) -> HttpResponse:
    """The event's voucher codes with their use, and a form for one code or a batch."""
    event = event_managed_by(request.user, event_id)
    form = VoucherForm(request.POST or None, event=event)
    if request.method == "POST" and form.is_valid():
        try:
            made = services.vouchers_create(
                actor=request.user,
                event=event,
                spec=form.spec(),
                code=form.cleaned_data["code"],
                count=form.cleaned_data["count"],
                prefix=form.cleaned_data["batch_prefix"],
            )
        except DomainError as exc:
            form.add_error(None, exc.detail_message)
        else:
            if len(made) == 1:
                messages.success(request, _("Voucher %(code)s created.") % {"code": made[0].code})
            else:
                messages.success(request, _("%(n)d voucher codes created.") % {"n": len(made)})
            return redirect("vouchers:manage", event_id=event.pk)
    context = {
        "event": event,
        "form": form,
        "vouchers": services.vouchers_usage(event.pk)[:500],
        "figures": services.voucher_figures(event.pk),
    }
    return render(request, "vouchers/manage.html", context, status=422 if form.errors else 200)


@login_required
def export(request: AuthedRequest, event_id: Any) -> HttpResponse:
    """The event's codes as CSV, to mail-merge a batch."""
    event = event_managed_by(request.user, event_id)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="vouchers-{event.slug}.csv"'
    writer = csv.writer(response)
    writer.writerow([_("code"), _("batch"), _("kind"), _("value"), _("used"), _("max uses")])
    for voucher in services.vouchers_usage(event.pk):
        writer.writerow(
            [
                voucher.code,
                voucher.batch,
                voucher.kind,
                voucher.value,
                voucher.used,
                voucher.max_uses,
            ]
        )
    return response
