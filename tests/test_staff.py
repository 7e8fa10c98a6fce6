"""Django admin: through allauth's login, and only with a second factor for staff."""

import re
import time

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.core import mail
from django.test import Client
from django.urls import reverse

from tests.factories import PASSWORD, UserFactory


@pytest.mark.django_db
def test_admin_login_goes_through_allauth(client):
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")


@pytest.mark.django_db
def test_staff_without_totp_is_sent_to_set_it_up(client):
    staff = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(staff)
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response.url.startswith("/accounts/2fa/totp/activate")


@pytest.mark.django_db
def test_staff_with_totp_reaches_the_admin(client):
    staff = UserFactory(is_staff=True, is_superuser=True)
    Authenticator.objects.create(user=staff, type=Authenticator.Type.TOTP, data={"secret": "x"})
    client.force_login(staff)
    assert client.get("/admin/").status_code == 200


@pytest.mark.django_db
def test_non_staff_is_refused(client):
    client.force_login(UserFactory())
    assert client.get("/admin/login/?next=/admin/").status_code == 403


# A staff account without TOTP yet, attacked by someone who knows only its password.

STAFF_EMAIL = "ops@trupeo.example.fr"


@pytest.fixture
def staff(db):
    return UserFactory(email=STAFF_EMAIL, is_staff=True, is_superuser=True)


def _password_login(user) -> Client:
    client = Client()
    response = client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})
    assert response.status_code == 302 and "_auth_user_id" in client.session
    return client


def _mailed_code() -> str:
    assert mail.outbox[-1].to == [STAFF_EMAIL]
    return re.search(r"^\s*(\d{6})\s*$", mail.outbox[-1].body, re.M)[1]


def _totp_now(secret: str) -> str:
    # What the authenticator app shows.
    counter = int(time.time()) // 30
    return format_hotp_value(hotp_value(secret, counter))


def test_the_password_alone_neither_enrols_nor_opens_the_admin(staff):
    attacker = _password_login(staff)
    # allauth's "enter your password again" before enrolling is no obstacle to this attacker.
    attacker.post(reverse("account_reauthenticate"), {"password": PASSWORD})
    confirm = reverse("staff_mfa_confirm")
    assert attacker.get("/admin/").url == reverse("mfa_activate_totp")
    # The enrolment page shows no secret and accepts none: it asks for the mailed code first.
    page = attacker.get(reverse("mfa_activate_totp"))
    assert page.url == confirm
    assert "otpauth://" not in page.content.decode()
    response = attacker.post(reverse("mfa_activate_totp"), {"code": "123456"})
    assert response.url == confirm
    assert attacker.get(reverse("mfa_index")).url == confirm
    assert attacker.get(reverse("mfa_generate_recovery_codes")).url == confirm
    page = attacker.get(confirm)
    assert "Confirmez votre adresse" in page.content.decode()  # French, in words

    # A code goes to the staff address, which the attacker does not read; guessing fails.
    attacker.post(confirm, {"send": "1"})
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [STAFF_EMAIL]
    real = _mailed_code()
    wrong = [f"{(int(real) + n) % 10**6:06d}" for n in range(1, 6)]
    for guess in wrong:
        assert attacker.post(confirm, {"code": guess}).status_code == 400
    # Five wrong guesses burn the code: even the right one no longer works.
    assert attacker.post(confirm, {"code": real}).status_code == 400
    assert attacker.get(reverse("mfa_activate_totp")).url == confirm
    for hostile in ["", "x" * 5000, "12345", "١٢٣٤٥٦", "' OR 1=1 --"]:
        assert attacker.post(confirm, {"code": hostile}).status_code == 400
    assert not Authenticator.objects.filter(user=staff).exists()
    assert attacker.get("/admin/").status_code == 302


def test_staff_proves_the_address_then_enrols_and_opens_the_admin(staff):
    client = _password_login(staff)
    confirm = reverse("staff_mfa_confirm")
    assert client.post(confirm, {"send": "1"}).url == confirm
    assert mail.outbox[0].subject == "Votre code d’accès équipe Trupeo"
    response = client.post(confirm, {"code": _mailed_code()})
    assert response.url == reverse("mfa_activate_totp")

    # allauth asks for the password again before any enrolment (the attacker has it too).
    assert client.get(reverse("mfa_activate_totp")).url.startswith(
        reverse("account_reauthenticate")
    )
    client.post(reverse("account_reauthenticate"), {"password": PASSWORD})
    page = client.get(reverse("mfa_activate_totp"))
    assert page.status_code == 200
    secret = page.context["form"].secret
    response = client.post(reverse("mfa_activate_totp"), {"code": _totp_now(secret)})
    assert response.status_code == 302
    assert Authenticator.objects.filter(user=staff, type=Authenticator.Type.TOTP).exists()
    assert client.get("/admin/").status_code == 200


def test_the_code_works_once_for_one_account_and_expires(staff, monkeypatch):
    client = _password_login(staff)
    confirm = reverse("staff_mfa_confirm")
    client.post(confirm, {"send": "1"})
    code = _mailed_code()
    assert client.post(confirm, {"code": code}).url == reverse("mfa_activate_totp")
    # Replayed from another session (the attacker read it over a shoulder, later): spent.
    replay = _password_login(staff)
    assert replay.post(confirm, {"code": code}).status_code == 400
    assert replay.get(reverse("mfa_activate_totp")).url == confirm

    # Another staff member's code is worth nothing for this account.
    other = UserFactory(email="autre@trupeo.example.fr", is_staff=True)
    other_client = _password_login(other)
    other_client.post(confirm, {"send": "1"})
    other_code = re.search(r"^\s*(\d{6})\s*$", mail.outbox[-1].body, re.M)[1]
    assert replay.post(confirm, {"code": other_code}).status_code == 400

    # A code older than ten minutes no longer works.
    replay.post(confirm, {"send": "1"})
    late = _mailed_code()
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now + 10 * 60 + 1)
    assert replay.post(confirm, {"code": late}).status_code == 400
    assert not Authenticator.objects.filter(user=staff).exists()


def test_codes_are_mailed_three_times_an_hour_at_most(staff):
    client = _password_login(staff)
    confirm = reverse("staff_mfa_confirm")
    for _ in range(5):
        client.post(confirm, {"send": "1"})
    assert len(mail.outbox) == 3
    page = client.get(confirm).content.decode()
    assert "Trop de codes" in page


def test_members_who_are_not_staff_enrol_as_before(db):
    user = UserFactory()
    client = _password_login(user)
    client.post(reverse("account_reauthenticate"), {"password": PASSWORD})
    assert client.get(reverse("mfa_activate_totp")).status_code == 200
    assert client.get(reverse("staff_mfa_confirm")).url == reverse("mfa_activate_totp")
