from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from accounts.signin_guard import signin_unlock


@require_http_methods(["GET", "POST"])
def unlock(request: HttpRequest) -> HttpResponse:
    """The emailed link: a GET shows a button (mail scanners follow links), the POST unlocks."""
    token = request.GET.get("token", "")
    if request.method == "POST":
        if signin_unlock(request.POST.get("token", "")) is None:
            return render(request, "accounts/unlock.html", {"invalid": True}, status=400)
        messages.success(request, "Your account is unlocked. You can sign in again.")
        return redirect("account_login")
    return render(request, "accounts/unlock.html", {"token": token})
