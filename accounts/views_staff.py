"""Staff: proving the staff address before enrolling the first second factor."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts import staff_mfa
from accounts.forms import StaffMfaCodeForm


@login_required
@require_http_methods(["GET", "POST"])
def staff_mfa_confirm(request: HttpRequest) -> HttpResponse:
    if not staff_mfa.enrolment_needs_proof(request.user) or staff_mfa.enrolment_proven(request):
        return redirect("mfa_activate_totp")
    form = StaffMfaCodeForm()
    status = 200
    if request.method == "POST" and "send" in request.POST:
        if staff_mfa.enrolment_code_send(user=request.user):
            messages.success(
                request, _("A code was sent to %(email)s.") % {"email": request.user.email}
            )
        else:
            messages.error(request, _("Too many codes were asked for. Try again in an hour."))
        return redirect("staff_mfa_confirm")
    if request.method == "POST":
        form = StaffMfaCodeForm(request.POST)
        if form.is_valid() and staff_mfa.enrolment_code_check(
            request=request, code=form.cleaned_data["code"]
        ):
            return redirect("mfa_activate_totp")
        form.errors.clear()
        form.add_error(None, _("This code is wrong or has expired. Ask for a new one."))
        status = 400
    return render(
        request,
        "accounts/staff_mfa_confirm.html",
        {"form": form, "code_sent": staff_mfa.code_is_live(request.user)},
        status=status,
    )
