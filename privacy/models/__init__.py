"""The privacy app's models, in two parts: the public site's (`site`) and GDPR operations'
(`gdpr`). Both live in the `privacy` app and keep its tables."""

from privacy.models.gdpr import (
    OPEN_STATUSES,
    AppendOnly,
    Breach,
    DataExport,
    EventKind,
    ExportKind,
    ExportState,
    GdprRequest,
    IdentityCheck,
    RequestEvent,
    RequestEventQuerySet,
    RequestStatus,
    Right,
    SecurityEvent,
    SecurityEventKind,
    TermsAcceptance,
    TermsAcceptedBy,
)
from privacy.models.retention import DeletionReceipt, RetentionPolicy
from privacy.models.site import (
    Audience,
    ContactMessage,
    ContactSubject,
    PolicyVersion,
    SiteKey,
    WaitlistEntry,
)

__all__ = [
    "OPEN_STATUSES",
    "AppendOnly",
    "Audience",
    "Breach",
    "ContactMessage",
    "ContactSubject",
    "DataExport",
    "DeletionReceipt",
    "EventKind",
    "ExportKind",
    "ExportState",
    "GdprRequest",
    "IdentityCheck",
    "PolicyVersion",
    "RequestEvent",
    "RequestEventQuerySet",
    "RequestStatus",
    "RetentionPolicy",
    "Right",
    "SecurityEvent",
    "SecurityEventKind",
    "SiteKey",
    "TermsAcceptance",
    "TermsAcceptedBy",
    "WaitlistEntry",
]
