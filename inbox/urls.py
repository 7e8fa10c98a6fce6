from django.urls import path

from inbox import views

urlpatterns = [
    path("inbox/", views.conversation_list, name="inbox"),
    path("inbox/c/<int:conversation_id>/", views.conversation_detail, name="conversation"),
]
