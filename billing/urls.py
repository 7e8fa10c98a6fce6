from django.urls import path

from billing import views

urlpatterns = [
    path("", views.billing, name="billing"),
    path("checkout/", views.checkout, name="billing_checkout"),
    path("checkout/return/", views.checkout_return, name="billing_return"),
    path("portal/", views.portal, name="billing_portal"),
    path("stripe/webhook/", views.webhook, name="stripe_webhook"),
]
