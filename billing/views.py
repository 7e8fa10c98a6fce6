"""The billing page (owners and admins), checkout, the customer portal and the webhook."""

import logging

import stripe
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from accounts.access import WorkspaceRequest, admin_required
from billing import services
from billing.models import Invoice, Plan
from billing.states import ENDED, LIVE, grace_ends_at, is_local_trial, price_for_plan
from billing.stripe_api import BillingError, billing_enabled, redirect_origins
from billing.webhooks import WebhookRefused, event_process, event_verify

logger = logging.getLogger(__name__)


def _allow_stripe_redirects(response: HttpResponse) -> HttpResponse:
    # The forms of this page answer with a redirect to Stripe's checkout or portal, which
    # the browser checks against form-action.
    config = dict(settings.SECURE_CSP)
    config["form-action"] = [*config.get("form-action", []), *redirect_origins()]
    response._csp_config = config  # type: ignore[attr-defined]
    return response


def _plans() -> list[dict]:
    return [
        {
            "value": Plan.MONTHLY,
            "label": Plan.MONTHLY.label,
            "cents": settings.BILLING_SEAT_PRICE_MONTHLY_CENTS,
            "per_month": settings.BILLING_SEAT_PRICE_MONTHLY_CENTS,
        },
        {
            "value": Plan.YEARLY,
            "label": Plan.YEARLY.label,
            "cents": settings.BILLING_SEAT_PRICE_YEARLY_CENTS,
            "per_month": settings.BILLING_SEAT_PRICE_YEARLY_CENTS // 12,
        },
    ]


@admin_required
def billing(request: WorkspaceRequest) -> HttpResponse:
    enabled = billing_enabled()
    subscription = services.subscription_for(request.workspace)
    plans = [p for p in _plans() if price_for_plan(p["value"])] if enabled else []
    context = {
        "enabled": enabled,
        "subscription": subscription,
        "local_trial": is_local_trial(subscription),
        "subscribed": bool(subscription.stripe_subscription_id) and subscription.status in LIVE,
        "ended": subscription.status in ENDED,
        "grace_ends_at": grace_ends_at(subscription),
        "members": services.seat_count(request.workspace.pk),
        "plans": plans,
        "invoices": Invoice.objects.filter(workspace=request.workspace)[:36],
    }
    return _allow_stripe_redirects(render(request, "billing/billing.html", context))


@admin_required
@require_POST
def checkout(request: WorkspaceRequest) -> HttpResponse:
    try:
        url = services.checkout_session_create(
            workspace=request.workspace,
            user=request.user,
            plan=request.POST.get("plan", ""),
            success_url=request.build_absolute_uri(reverse("billing_return"))
            + "?session_id={CHECKOUT_SESSION_ID}",
            cancel_url=request.build_absolute_uri(reverse("billing")),
        )
    except BillingError as error:
        messages.error(request, str(error))
        return redirect("billing")
    return redirect(url)


@admin_required
@require_POST
def portal(request: WorkspaceRequest) -> HttpResponse:
    try:
        url = services.portal_session_create(
            workspace=request.workspace,
            return_url=request.build_absolute_uri(reverse("billing")),
        )
    except BillingError as error:
        messages.error(request, str(error))
        return redirect("billing")
    return redirect(url)


@admin_required
def checkout_return(request: WorkspaceRequest) -> HttpResponse:
    """Back from Stripe Checkout; the plan shows as soon as Stripe's event arrives."""
    messages.success(
        request,
        _("Thank you! Your subscription appears here as soon as Stripe confirms the payment."),
    )
    return redirect("billing")


@csrf_exempt
@require_POST
def webhook(request: HttpRequest) -> HttpResponse:
    """Stripe's events: anything not signed with our secret, fresh, is a 400 and no change."""
    if not billing_enabled():
        return HttpResponseBadRequest("billing is off", content_type="text/plain")
    try:
        event = event_verify(request.body, request.headers.get("Stripe-Signature"))
    except WebhookRefused as refusal:
        logger.warning("stripe webhook refused: %s", refusal)
        return HttpResponseBadRequest(str(refusal), content_type="text/plain")
    try:
        record = event_process(event)
    except stripe.StripeError as error:
        # Nothing was kept: Stripe sends the event again later.
        logger.warning(
            "stripe event %s: Stripe unreachable (%s)", event["id"], type(error).__name__
        )
        return HttpResponse("try again later", status=503, content_type="text/plain")
    if record is None:
        return HttpResponse("already received", content_type="text/plain")
    return HttpResponse("ok", content_type="text/plain")
