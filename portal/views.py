"""The requester portal at /p/<workspace slug>/: sign-in, conversations, replies, new requests,
profile and sessions, data download and erasure.

A portal session is its own cookie (see `portal.signin`), never a Django login: an agent signed
in to Trupeo is nobody here, and a requester never reaches an agent page. A URL naming an object
is a 404 for anyone who may not see it, signed in or not. No page of the portal carries the
public site's consent banner or audience tags.
"""

from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    StreamingHttpResponse,
)
from django.shortcuts import redirect, render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.keys import keys_for
from accounts.models import Workspace
from inbox.actions.satisfaction import SatisfactionRefused, satisfaction_record
from inbox.mail.sealing import stored_attachment_row
from portal import actions, erasure, signin
from portal.addresses import address_token
from portal.export import portal_archive
from portal.forms import LinkForm, NewRequestForm, ProfileForm, RatingForm, ReplyForm, SignInForm
from portal.limits import signin_limited, writes_limited
from portal.models import PortalSession, PortalSettings
from portal.selectors import (
    Viewer,
    attachment_for,
    conversation_for,
    conversation_list,
    portal_settings,
    profile_name,
    rating_state,
    viewer_for,
)
from privacy.site.consent import TURNSTILE_HOST
from privacy.site.ratelimit import client_ip
from privacy.site.turnstile import RESPONSE_FIELD, turnstile_enabled, turnstile_verify
from trupeo.storage import open_sealed


class PortalRequest(HttpRequest):
    portal: PortalSettings
    viewer: Viewer
    portal_session: PortalSession


def _portal(slug: str) -> PortalSettings:
    """The portal of a workspace, when it shows at least one mailbox; else a 404."""
    workspace = Workspace.objects.filter(slug=slug[:60]).first()
    row = portal_settings(workspace) if workspace else None
    if row is None or not row.is_enabled:
        raise Http404
    return row


def _secured(response: HttpResponseBase, *, turnstile: bool = False) -> HttpResponseBase:
    """Headers of every portal page: never cached, never indexed, and the site's CSP (plus
    Turnstile's host on the sign-in form). The site's Referrer-Policy (same-origin) stays: a
    sign-in link's URL never goes to another site, and "no-referrer" would make browsers send
    `Origin: null`, which Django's CSRF check rightly refuses."""
    response["Cache-Control"] = "no-store"
    response["X-Robots-Tag"] = "noindex, nofollow"
    if turnstile and turnstile_enabled():
        config = {name: list(values) for name, values in settings.SECURE_CSP.items()}
        config["script-src"].append(TURNSTILE_HOST)
        config["frame-src"].append(TURNSTILE_HOST)
        response._csp_config = config  # type: ignore[attr-defined]
    return response


View = Callable[..., HttpResponseBase]


def requester_required(*, names_object: bool = False) -> Callable[[View], View]:
    """Loads the portal and the requester's session. Without one: a page naming an object is a
    404 (it never confirms an id exists); another page goes to the sign-in form."""

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, workspace_slug: str, *args, **kwargs):
            portal = _portal(workspace_slug)
            found = signin.session_for(request, portal.workspace)
            if found is None:
                if names_object:
                    raise Http404
                return _secured(redirect("portal_home", portal.workspace.slug))
            request.portal = portal  # type: ignore[attr-defined]
            request.portal_session, address = found  # type: ignore[attr-defined]
            request.viewer = viewer_for(portal.workspace, address)  # type: ignore[attr-defined]
            return _secured(view(request, *args, **kwargs))

        return wrapper

    return decorator


def _context(request: HttpRequest, portal: PortalSettings, **extra) -> dict:
    return {"portal": portal, "workspace": portal.workspace, **extra}


def _turnstile_context() -> dict:
    return {"turnstile_site_key": settings.TURNSTILE_SITE_KEY if turnstile_enabled() else ""}


@require_http_methods(["GET", "HEAD"])
def portal_home(request: HttpRequest, workspace_slug: str) -> HttpResponseBase:
    portal = _portal(workspace_slug)
    found = signin.session_for(request, portal.workspace)
    if found is None:
        context = _context(request, portal, form=SignInForm(), **_turnstile_context())
        return _secured(render(request, "portal/signin.html", context), turnstile=True)
    viewer = viewer_for(portal.workspace, found[1])
    entries, next_cursor = conversation_list(viewer, after=request.GET.get("after", "")[:60])
    context = _context(
        request,
        portal,
        viewer=viewer,
        entries=entries,
        next_cursor=next_cursor,
        can_open=portal.intake_mailbox_id is not None,
    )
    return _secured(render(request, "portal/home.html", context))


@require_POST
def portal_signin(request: HttpRequest, workspace_slug: str) -> HttpResponseBase:
    """Always the same answer for an address, known or not; the link is mailed by a task."""
    portal = _portal(workspace_slug)
    workspace = portal.workspace
    form = SignInForm(request.POST)
    context = _context(request, portal, form=form, **_turnstile_context())
    if not form.is_valid():
        return _secured(render(request, "portal/signin.html", context, status=400), turnstile=True)
    address = form.cleaned_data["email"]
    if signin_limited(
        request, workspace_id=workspace.pk, token=address_token(keys_for(workspace), address)
    ):
        form.add_error(None, _("Too many sign-in requests. Please try again in an hour."))
        return _secured(render(request, "portal/signin.html", context, status=429), turnstile=True)
    if turnstile_enabled():
        result = turnstile_verify(
            token=request.POST.get(RESPONSE_FIELD, "")[:2048], remote_ip=client_ip(request)
        )
        if not result.ok:
            form.add_error(None, result.error)
            return _secured(
                render(request, "portal/signin.html", context, status=400), turnstile=True
            )
    signin.signin_request(workspace=workspace, address=address, language=request.LANGUAGE_CODE)
    return _secured(render(request, "portal/signin_sent.html", _context(request, portal)))


@require_http_methods(["GET", "HEAD", "POST"])
def portal_signin_link(request: HttpRequest, workspace_slug: str, secret: str) -> HttpResponseBase:
    """GET shows a button (mail scanners that open links spend nothing); POST signs in."""
    portal = _portal(workspace_slug)
    workspace = portal.workspace
    if request.method != "POST":
        valid = signin.signin_link_valid(workspace=workspace, secret=secret)
        context = _context(request, portal, form=LinkForm(), valid=valid)
        return _secured(
            render(request, "portal/signin_link.html", context, status=200 if valid else 410)
        )
    form = LinkForm(request.POST)
    address = (
        signin.signin_link_use(workspace=workspace, secret=secret) if form.is_valid() else None
    )
    if address is None:
        context = _context(request, portal, form=LinkForm(), valid=False)
        return _secured(render(request, "portal/signin_link.html", context, status=410))
    response = redirect("portal_home", workspace.slug)
    signin.session_start(
        workspace=workspace,
        address=address,
        remember=form.cleaned_data["remember"],
        device=request.headers.get("user-agent", ""),
        response=response,
    )
    return _secured(response)


@requester_required(names_object=True)
@require_http_methods(["GET", "HEAD"])
def portal_conversation(request: PortalRequest, conversation_id: int) -> HttpResponse:
    view = conversation_for(request.viewer, conversation_id)
    context = _context(
        request,
        request.portal,
        viewer=request.viewer,
        view=view,
        form=ReplyForm(),
        rating=rating_state(request.viewer, view),
        rating_form=RatingForm(),
    )
    return render(request, "portal/conversation.html", context)


@requester_required(names_object=True)
@require_POST
def portal_rate(request: PortalRequest, conversation_id: int) -> HttpResponse:
    """Rate a closed conversation, once (the same rating the closing mail's links record)."""
    view = conversation_for(request.viewer, conversation_id)
    state = rating_state(request.viewer, view)
    form = RatingForm(request.POST)
    if not state.can_rate:
        if state.rating is None:
            raise PermissionDenied(_("This conversation cannot be rated."))
        messages.info(request, _("You have already rated this conversation."))
    elif not form.is_valid():
        context = _context(
            request,
            request.portal,
            viewer=request.viewer,
            view=view,
            form=ReplyForm(),
            rating=state,
            rating_form=form,
        )
        return render(request, "portal/conversation.html", context, status=400)
    else:
        try:
            # The signed-in Trupeo user, if any, is passed: members may not rate for requesters.
            satisfaction_record(
                conversation=state.conversation,
                rating=form.cleaned_data["rating"],
                comment=form.cleaned_data["comment"],
                user=request.user,
            )
        except SatisfactionRefused as refused:
            if refused.code == "member":
                raise PermissionDenied(_("Team members cannot rate for requesters.")) from None
            messages.info(request, _("You have already rated this conversation."))
        else:
            messages.success(request, _("Thank you for your rating."))
    return redirect("portal_conversation", request.portal.workspace.slug, conversation_id)


@requester_required(names_object=True)
@require_POST
def portal_reply(request: PortalRequest, conversation_id: int) -> HttpResponse:
    view = conversation_for(request.viewer, conversation_id)
    if not view.can_reply:
        raise PermissionDenied(_("This conversation is shared with you read-only."))
    form = ReplyForm(request.POST, request.FILES)
    if form.is_valid() and _writes_limited(request):
        form.add_error(None, _("You have sent a lot in the last hour. Please try again later."))
        context = _context(request, request.portal, viewer=request.viewer, view=view, form=form)
        return render(request, "portal/conversation.html", context, status=429)
    if not form.is_valid():
        context = _context(request, request.portal, viewer=request.viewer, view=view, form=form)
        return render(request, "portal/conversation.html", context, status=400)
    actions.portal_reply(
        viewer=request.viewer,
        conversation_id=conversation_id,
        body=form.cleaned_data["body"],
        files=form.cleaned_data["files"],
    )
    messages.success(request, _("Your reply was sent."))
    return redirect("portal_conversation", request.portal.workspace.slug, conversation_id)


@requester_required(names_object=True)
@require_http_methods(["GET", "HEAD"])
def portal_attachment(request: PortalRequest, attachment_id: int) -> StreamingHttpResponse:
    """Always a download (never shown inline on our origin), decrypted as it streams."""
    attachment, meta = attachment_for(request.viewer, attachment_id)
    response = StreamingHttpResponse(
        open_sealed(
            attachment.object_key,
            request.viewer.keys,
            field="attachment.content",
            row=stored_attachment_row(attachment),
        ),
        content_type="application/octet-stream",
    )
    response["Content-Length"] = str(attachment.size)
    response["Content-Disposition"] = content_disposition_header(
        True, meta.get("filename") or "attachment"
    )
    return response


@require_http_methods(["GET", "HEAD", "POST"])
@requester_required()
def portal_new(request: PortalRequest) -> HttpResponse:
    portal = request.portal
    if portal.intake_mailbox_id is None:
        raise Http404
    form = NewRequestForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST" and form.is_valid() and _writes_limited(request):
        form.add_error(None, _("You have sent a lot in the last hour. Please try again later."))
        status = 429
    elif request.method == "POST":
        if form.is_valid() and _turnstile_ok(request, form):
            actions.portal_request_open(
                viewer=request.viewer,
                subject=form.cleaned_data["subject"],
                body=form.cleaned_data["body"],
                files=form.cleaned_data["files"],
            )
            messages.success(request, _("Your request was sent."))
            return redirect("portal_home", portal.workspace.slug)
        status = 400
    context = _context(request, portal, viewer=request.viewer, form=form, **_turnstile_context())
    response = render(request, "portal/new.html", context, status=status)
    return _secured(response, turnstile=True)


def _writes_limited(request: PortalRequest) -> bool:
    viewer = request.viewer
    token = address_token(viewer.keys, viewer.address)
    return writes_limited(request, workspace_id=viewer.workspace.pk, token=token)


def _turnstile_ok(request: HttpRequest, form) -> bool:
    if not turnstile_enabled():
        return True  # signed in already; the sign-in form had the check
    result = turnstile_verify(
        token=request.POST.get(RESPONSE_FIELD, "")[:2048], remote_ip=client_ip(request)
    )
    if not result.ok:
        form.add_error(None, result.error)
    return result.ok


@require_http_methods(["GET", "HEAD", "POST"])
@requester_required()
def portal_profile(request: PortalRequest) -> HttpResponse:
    viewer, workspace = request.viewer, request.portal.workspace
    name = profile_name(viewer.keys, workspace, viewer.address)
    form = ProfileForm(request.POST or None, initial={"name": name})
    status = 200
    if request.method == "POST":
        if form.is_valid():
            actions.profile_update(
                workspace=workspace, address=viewer.address, name=form.cleaned_data["name"]
            )
            messages.success(request, _("Your profile was saved."))
            return redirect("portal_profile", workspace.slug)
        status = 400
    context = _context(
        request,
        request.portal,
        viewer=viewer,
        form=form,
        sessions=signin.sessions_of(workspace=workspace, address=viewer.address),
        current_session=request.portal_session,
        erasure=erasure.erasure_open_for(workspace=workspace, address=viewer.address),
    )
    return render(request, "portal/profile.html", context, status=status)


@requester_required(names_object=True)
@require_POST
def portal_session_revoke(request: PortalRequest, session_id: int) -> HttpResponse:
    """A session of the same requester (same workspace, same address) only; else a 404."""
    viewer = request.viewer
    session = PortalSession.objects.filter(
        pk=session_id,
        workspace=viewer.workspace,
        address_token=address_token(viewer.keys, viewer.address),
        revoked_at=None,
    ).first()
    if session is None:
        raise Http404
    signin.session_revoke(session=session)
    messages.success(request, _("That device was signed out."))
    return redirect("portal_profile", viewer.workspace.slug)


@require_POST
@requester_required()
def portal_signout(request: PortalRequest) -> HttpResponse:
    workspace = request.portal.workspace
    response = redirect("portal_home", workspace.slug)
    signin.session_end(workspace=workspace, session=request.portal_session, response=response)
    return response


@require_http_methods(["GET", "HEAD"])
@requester_required()
def portal_export(request: PortalRequest) -> StreamingHttpResponse:
    response = StreamingHttpResponse(portal_archive(request.viewer), content_type="application/zip")
    response["Content-Disposition"] = content_disposition_header(True, "mes-donnees.zip")
    return response


@require_POST
@requester_required()
def portal_erasure(request: PortalRequest) -> HttpResponse:
    viewer, workspace = request.viewer, request.portal.workspace
    if erasure.erasure_open_for(workspace=workspace, address=viewer.address) is None:
        erasure.erasure_request(
            workspace=workspace,
            address=viewer.address,
            name=profile_name(viewer.keys, workspace, viewer.address),
        )
    messages.success(
        request,
        _("Your request was sent to %(name)s. You will be told by email when it is done.")
        % {"name": workspace.name},
    )
    return redirect("portal_profile", workspace.slug)


@require_http_methods(["GET", "HEAD"])
def portal_logo(request: HttpRequest, workspace_slug: str) -> HttpResponse:
    portal = _portal(workspace_slug)
    if not portal.logo or portal.logo_type not in ("image/png", "image/jpeg"):
        raise Http404
    response = HttpResponse(bytes(portal.logo), content_type=portal.logo_type)
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, max-age=300"
    return response


@require_http_methods(["GET", "HEAD"])
def portal_theme(request: HttpRequest, workspace_slug: str) -> HttpResponse:
    """The workspace's accent colour as a stylesheet: the pages keep no inline style (CSP)."""
    portal = _portal(workspace_slug)
    response = render(
        request, "portal/theme.css", {"accent": portal.safe_accent}, content_type="text/css"
    )
    # The page links it with the colour in the query: a new colour is a new address.
    response["Cache-Control"] = "public, max-age=86400"
    return response


@require_POST
def portal_language(request: HttpRequest, workspace_slug: str) -> HttpResponse:
    portal = _portal(workspace_slug)
    language = request.POST.get("language", "")
    response = redirect("portal_home", portal.workspace.slug)
    if language in dict(settings.LANGUAGES):
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            language,
            max_age=365 * 24 * 3600,
            secure=settings.SESSION_COOKIE_SECURE,
            samesite="Lax",
        )
    return _secured(response)
