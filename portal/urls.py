"""The portal's pages (under /p/<workspace slug>/) and its admin page, ordered by path."""

from django.urls import path

from portal import admin_views, views

urlpatterns = [
    path("p/<slug:workspace_slug>/", views.portal_home, name="portal_home"),
    path(
        "p/<slug:workspace_slug>/c/<id:conversation_id>/",
        views.portal_conversation,
        name="portal_conversation",
    ),
    path(
        "p/<slug:workspace_slug>/c/<id:conversation_id>/rating/",
        views.portal_rate,
        name="portal_rate",
    ),
    path(
        "p/<slug:workspace_slug>/c/<id:conversation_id>/reply/",
        views.portal_reply,
        name="portal_reply",
    ),
    path("p/<slug:workspace_slug>/data/", views.portal_export, name="portal_export"),
    path("p/<slug:workspace_slug>/erasure/", views.portal_erasure, name="portal_erasure"),
    path(
        "p/<slug:workspace_slug>/files/<id:attachment_id>/",
        views.portal_attachment,
        name="portal_attachment",
    ),
    path("p/<slug:workspace_slug>/language/", views.portal_language, name="portal_language"),
    path("p/<slug:workspace_slug>/logo/", views.portal_logo, name="portal_logo"),
    path("p/<slug:workspace_slug>/new/", views.portal_new, name="portal_new"),
    path("p/<slug:workspace_slug>/profile/", views.portal_profile, name="portal_profile"),
    path(
        "p/<slug:workspace_slug>/sessions/<id:session_id>/revoke/",
        views.portal_session_revoke,
        name="portal_session_revoke",
    ),
    path("p/<slug:workspace_slug>/signin/", views.portal_signin, name="portal_signin"),
    path("p/<slug:workspace_slug>/theme.css", views.portal_theme, name="portal_theme"),
    path(
        "p/<slug:workspace_slug>/signin/<str:secret>/",
        views.portal_signin_link,
        name="portal_signin_link",
    ),
    path("p/<slug:workspace_slug>/signout/", views.portal_signout, name="portal_signout"),
    path("settings/portal/", admin_views.portal_admin, name="portal_admin"),
    path(
        "settings/portal/delegations/",
        admin_views.portal_delegation_add,
        name="portal_delegation_add",
    ),
    path(
        "settings/portal/delegations/<id:delegation_id>/revoke/",
        admin_views.portal_delegation_revoke,
        name="portal_delegation_revoke",
    ),
    path(
        "settings/portal/erasures/<id:erasure_id>/answer/",
        admin_views.portal_erasure_answer,
        name="portal_erasure_answer",
    ),
]
