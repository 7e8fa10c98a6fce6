from django.urls import path

from accounts import views, views_staff

urlpatterns = [
    path("", views.home, name="home"),
    path("workspaces/new/", views.workspace_create, name="workspace_create"),
    path("workspaces/<id:workspace_id>/switch/", views.workspace_switch, name="workspace_switch"),
    path("team/", views.members, name="members"),
    path("team/invite/", views.member_invite, name="member_invite"),
    path(
        "team/invitations/<id:invitation_id>/revoke/",
        views.invitation_revoke,
        name="invitation_revoke",
    ),
    path("team/members/<id:membership_id>/remove/", views.member_remove, name="member_remove"),
    path("team/members/<id:membership_id>/role/", views.member_role, name="member_role"),
    path(
        "team/members/<id:membership_id>/transfer/",
        views.ownership_transfer,
        name="ownership_transfer",
    ),
    path(
        "team/recipient-limit/", views.workspace_recipient_limit, name="workspace_recipient_limit"
    ),
    path("team/undo-delay/", views.workspace_undo_delay, name="workspace_undo_delay"),
    path("invitations/<str:token>/", views.invitation_accept, name="invitation_accept"),
    path("profile/", views.profile, name="profile"),
    path(
        "staff/two-factor/confirm-address/",
        views_staff.staff_mfa_confirm,
        name="staff_mfa_confirm",
    ),
    path("language/", views.language_set, name="language_set"),
]
