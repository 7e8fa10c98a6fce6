"""“Demander l'effacement”: a GDPR erasure request for the workspace's admins.

The client (the workspace) is the controller of its requesters' data, so the request is filed
in the GDPR register (`privacy.gdpr.requests`, with its one-month due date and the operator's
reminders as processor) with the workspace set, and its admins are told at once and reminded a
week before the due date. When the request is answered, the requester is told by email.
"""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import Membership, Role, Workspace
from portal import tasks
from portal.mailing import portal_mail_send
from portal.models import ErasureRequest
from privacy.gdpr.requesters import requester, requests_of
from privacy.gdpr.requests import gdpr_request_answer, gdpr_request_create
from privacy.models import OPEN_STATUSES, Right
from trupeo.queueing import enqueue_on_commit

REMIND_BEFORE = timedelta(days=7)


@transaction.atomic
def erasure_request(*, workspace: Workspace, address: str, name: str) -> ErasureRequest:
    request = gdpr_request_create(
        right=Right.ERASURE, email=address, name=name, workspace=workspace, source="portal"
    )
    erasure = ErasureRequest.objects.create(workspace=workspace, gdpr_request=request)
    enqueue_on_commit(tasks.tell_admins_of_erasure, erasure.pk)
    return erasure


def erasure_open_for(*, workspace: Workspace, address: str) -> ErasureRequest | None:
    return (
        ErasureRequest.objects.filter(
            workspace=workspace,
            gdpr_request__in=requests_of(address),
            gdpr_request__status__in=OPEN_STATUSES,
        )
        .select_related("gdpr_request")
        .first()
    )


def _admins(workspace: Workspace) -> list[str]:
    return sorted(
        Membership.objects.filter(workspace=workspace, role__in=[Role.OWNER, Role.ADMIN])
        .exclude(user__email="")
        .values_list("user__email", flat=True)
    )


def erasure_tell_admins(*, erasure_id: int, reminder: bool = False) -> bool:
    erasure = (
        ErasureRequest.objects.select_related("workspace", "gdpr_request")
        .filter(pk=erasure_id)
        .first()
    )
    if erasure is None:
        return False
    context = {
        "workspace": erasure.workspace,
        "due_at": erasure.gdpr_request.due_at,
        "reference": erasure.gdpr_request.public_id,
        "reminder": reminder,
    }
    return portal_mail_send(
        template="erasure_admins",
        context=context,
        to=_admins(erasure.workspace),
        language=settings.LANGUAGE_CODE,
    )


def erasures_follow(*, now=None) -> int:
    """The beat's pass: remind admins of a request due within a week; tell the requester of
    one answered. The count of mails sent."""
    now = now or timezone.now()
    sent = 0
    due_soon = ErasureRequest.objects.filter(
        admins_reminded_at=None,
        gdpr_request__status__in=OPEN_STATUSES,
        gdpr_request__due_at__lte=now + REMIND_BEFORE,
    )
    for erasure in due_soon:
        if erasure_tell_admins(erasure_id=erasure.pk, reminder=True):
            ErasureRequest.objects.filter(pk=erasure.pk).update(admins_reminded_at=now)
            sent += 1
    answered = ErasureRequest.objects.filter(requester_told_at=None).exclude(
        gdpr_request__status__in=OPEN_STATUSES
    )
    for erasure in answered.select_related("workspace", "gdpr_request"):
        _name, email = requester(erasure.gdpr_request)
        context = {"workspace": erasure.workspace, "request": erasure.gdpr_request}
        if portal_mail_send(
            template="erasure_done", context=context, to=[email], language=settings.LANGUAGE_CODE
        ):
            ErasureRequest.objects.filter(pk=erasure.pk).update(requester_told_at=now)
            sent += 1
    return sent


def erasures_open(*, workspace: Workspace) -> list[dict]:
    """The workspace's erasure requests still to answer, with the requester's address."""
    rows = (
        ErasureRequest.objects.filter(workspace=workspace, gdpr_request__status__in=OPEN_STATUSES)
        .select_related("gdpr_request")
        .order_by("gdpr_request__due_at")
    )
    return [{"row": row, "email": requester(row.gdpr_request)[1]} for row in rows]


@transaction.atomic
def erasure_answer(*, erasure: ErasureRequest, answer: str, refused: bool, actor) -> None:
    """The admins answered (erased, or refused with the reason): the request is closed and the
    requester is told by email."""
    gdpr_request_answer(request=erasure.gdpr_request, answer=answer, refused=refused, actor=actor)
    enqueue_on_commit(tasks.follow_erasures)
