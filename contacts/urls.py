"""The contacts pages, ordered by path."""

from django.urls import path

from contacts import views

urlpatterns = [
    path("contacts/", views.contact_list, name="contacts"),
    path("contacts/<id:contact_id>/", views.contact_detail, name="contact"),
    path("contacts/<id:contact_id>/note/", views.contact_note, name="contact_note"),
    path("contacts/merge/", views.contacts_merge_view, name="contacts_merge"),
    path(
        "contacts/organisations/<id:organisation_id>/",
        views.organisation_detail,
        name="organisation",
    ),
    path("contacts/panel/<id:conversation_id>/", views.contact_panel_view, name="contact_panel"),
]
