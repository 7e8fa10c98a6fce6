from django.urls import path

from api import views

urlpatterns = [
    path("settings/api/", views.token_list, name="api_tokens"),
    path("settings/api/<id:token_id>/revoke/", views.token_revoke_view, name="api_token_revoke"),
]
