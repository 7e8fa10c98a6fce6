"""The contact panel beside a conversation, the contacts page, a contact, an organisation.

Who may do what: every member reads contacts and organisations and edits the team's note
about a person (it is part of answering them); merging two contacts and editing an
organisation change what the whole team sees, for good, so they are for owners and admins.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.access import (
    WorkspaceRequest,
    admin_required,
    get_in_workspace,
    member_required,
    writable,
)
from accounts.keys import keys_for
from contacts.actions import contact_note_save, contacts_merge, organisation_edit
from contacts.forms import ContactSearchForm, MergeForm, NoteForm, OrganisationForm
from contacts.models import Organisation
from contacts.selectors import (
    contact_card,
    contact_panel,
    contacts_page,
    for_card,
    organisation_page,
)
from inbox.models import Conversation


@member_required
def contact_panel_view(request: WorkspaceRequest, conversation_id: int) -> HttpResponse:
    """Loaded by htmx once the conversation page is shown: it never delays that page."""
    conversation = get_in_workspace(
        request,
        Conversation.objects.only("id", "workspace_id", "summary_sealed"),
        pk=conversation_id,
    )
    context = contact_panel(keys_for(request.workspace), request.workspace, conversation)
    context["note_form"] = NoteForm(
        initial={"body": context["card"].note if context["card"] else ""}
    )
    return render(request, "contacts/panel.html", context)


@require_GET
@member_required
def contact_list(request: WorkspaceRequest) -> HttpResponse:
    form = ContactSearchForm(request.GET)
    query, after = "", None
    if form.is_valid():
        query, after = form.cleaned_data["q"], form.cleaned_data["after"]
    page = contacts_page(keys_for(request.workspace), request.workspace, query=query, after=after)
    context = {"form": form, "page": page, "can_merge": request.membership.is_admin}
    if request.htmx:  # "Show more": the next rows only
        return render(request, "contacts/list.html#rows", context)
    return render(request, "contacts/list.html", context)


@member_required
def contact_detail(request: WorkspaceRequest, contact_id: int) -> HttpResponse:
    contact = get_in_workspace(request, for_card(request.workspace), pk=contact_id)
    card = contact_card(keys_for(request.workspace), contact)
    return render(
        request,
        "contacts/contact.html",
        {"card": card, "note_form": NoteForm(initial={"body": card.note})},
    )


@require_POST
@member_required
@writable
def contact_note(request: WorkspaceRequest, contact_id: int) -> HttpResponse:
    contact = get_in_workspace(request, for_card(request.workspace), pk=contact_id)
    form = NoteForm(request.POST)
    if form.is_valid():
        contact_note_save(contact=contact, body=form.cleaned_data["body"], user=request.user)
        contact.refresh_from_db()
    card = contact_card(keys_for(request.workspace), contact)
    if request.htmx:
        # The note's own section, swapped in place (the panel or the contact page).
        bound = form if not form.is_valid() else NoteForm(initial={"body": card.note})
        return render(
            request,
            "contacts/_card.html#note",
            {"card": card, "note_form": bound, "saved": form.is_valid()},
            status=200 if form.is_valid() else 400,
        )
    if form.is_valid():
        messages.success(request, _("The note is saved."))
    else:
        messages.error(request, _("The note is too long."))
    return redirect("contact", contact_id=contact.pk)


@require_POST
@admin_required
@writable
def contacts_merge_view(request: WorkspaceRequest) -> HttpResponse:
    form = MergeForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(form.non_field_errors()) or _("Choose two contacts."))
        return redirect("contacts")
    keep = get_in_workspace(request, for_card(request.workspace), pk=form.cleaned_data["keep"])
    other = get_in_workspace(request, for_card(request.workspace), pk=form.cleaned_data["other"])
    contacts_merge(keep=keep, other=other)
    messages.success(request, _("The two contacts are now one."))
    return redirect("contact", contact_id=keep.pk)


@member_required
@writable
def organisation_detail(request: WorkspaceRequest, organisation_id: int) -> HttpResponse:
    """Every member reads it; owners and admins rename it or change its domain."""
    organisation = get_in_workspace(request, Organisation, pk=organisation_id)
    keys = keys_for(request.workspace)
    form = None
    if request.method == "POST":
        if not request.membership.is_admin:
            raise PermissionDenied("Only workspace admins can edit an organisation.")
        form = OrganisationForm(request.POST)
        if form.is_valid():
            try:
                organisation_edit(organisation=organisation, **form.cleaned_data)
            except ValidationError as error:
                form.add_error("domain", error)
            else:
                messages.success(request, _("The organisation is saved."))
                return redirect("organisation", organisation_id=organisation.pk)
    elif request.method != "GET":
        return HttpResponse(status=405)
    search = ContactSearchForm(request.GET)
    after = search.cleaned_data["after"] if search.is_valid() else None
    page = organisation_page(keys, organisation, after=after)
    if form is None:
        form = OrganisationForm(
            initial={"name": page.organisation.name, "domain": page.organisation.domain}
        )
    return render(
        request,
        "contacts/organisation.html",
        {"page": page, "form": form, "can_edit": request.membership.is_admin},
        status=400 if form.is_bound else 200,
    )
