"""Contact and waitlist forms: Turnstile verified on the server and failing closed, a rate
limit per IP, sealed storage, acknowledgement emails, and GDPR requests handed to staff."""

import pytest
from django.core import mail
from django.db import connection

from privacy.models import ContactMessage, GdprRequest, WaitlistEntry
from privacy.site.acknowledgements import contact_open, waitlist_email
from privacy.site.signals import contact_gdpr_request
from tests.parts import free_loopback_port
from tests.parts.turnstile_fake import DUMMY_TOKEN, SECRET_FAIL, SECRET_PASS, SECRET_SPENT
from tests.privacy_site.posts import contact_post

pytestmark = pytest.mark.django_db

CONTACT = "/fr/contact/"
WAITLIST = "/fr/liste-d-attente/"
# Messages are asserted in English: the French page says the same once translations are compiled.
CONTACT_EN = "/en/contact/"


def _raw_rows(table: str) -> bytes:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table}")  # noqa: S608 - our own table name
        return repr(cursor.fetchall()).encode()


def test_a_contact_message_is_stored_sealed_and_acknowledged(client, post, turnstile):
    response = post(CONTACT, contact_post(turnstile.issue_token()))
    assert response.status_code == 302 and response.url == "/fr/contact/?sent=1"

    contact = ContactMessage.objects.get()
    assert contact.subject == "question" and contact.language == "fr"
    opened = contact_open(contact)
    assert opened["email"] == "elodie.marchand@college-exemple.fr"
    assert opened["message"].startswith("Bonjour, combien")
    raw = _raw_rows("privacy_contactmessage")
    for secret in (b"Marchand", b"college-exemple", b"douze"):
        assert secret not in raw

    assert len(mail.outbox) == 1
    ack = mail.outbox[0]
    assert ack.to == ["elodie.marchand@college-exemple.fr"]
    assert "douze" not in ack.body  # the visitor's words are not relayed
    # The fake saw the secret, the token and the client's address, as Cloudflare would.
    sent = turnstile.verifications[-1]
    assert sent["secret"] and sent["remoteip"] == "127.0.0.1"


def test_a_gdpr_request_asks_which_right_and_reaches_staff(client, post, turnstile):
    heard = []

    def listener(sender, **kwargs):
        heard.append(kwargs)

    contact_gdpr_request.connect(listener)
    try:
        missing = post(CONTACT_EN, contact_post(turnstile.issue_token(), subject="gdpr"))
        assert missing.status_code == 400
        assert "Choose the right you wish to exercise." in missing.content.decode()
        assert not ContactMessage.objects.exists() and not heard

        ok = post(
            CONTACT, contact_post(turnstile.issue_token(), subject="gdpr", gdpr_right="erasure")
        )
        assert ok.status_code == 302
    finally:
        contact_gdpr_request.disconnect(listener)

    contact = ContactMessage.objects.get()
    assert contact.gdpr_right == "erasure"
    assert heard[0]["right"] == "erasure" and heard[0]["contact_message"] == contact
    assert heard[0]["email"] == "elodie.marchand@college-exemple.fr"
    request = GdprRequest.objects.get()  # opened by privacy.receivers for staff
    assert request.right == "erasure" and request.contact_id == contact.pk
    assert "one month" in mail.outbox[0].body or "un mois" in mail.outbox[0].body


def test_a_right_given_with_another_subject_is_dropped(client, post, turnstile):
    post(CONTACT, contact_post(turnstile.issue_token(), gdpr_right="erasure"))
    assert ContactMessage.objects.get().gdpr_right == ""
    assert not GdprRequest.objects.exists()


@pytest.mark.parametrize(
    ("secret", "token", "words"),
    [
        (None, DUMMY_TOKEN, "anti-spam check failed"),  # a test token against a real secret
        (None, "", "complete the anti-spam check"),
        (SECRET_FAIL, "anything", "anti-spam check failed"),
        (SECRET_SPENT, "anything", "expired"),
        ("not-a-secret", "anything", "misconfigured"),
    ],
)
def test_turnstile_refusals_change_nothing_and_say_why(
    client, post, settings, turnstile, secret, token, words
):
    if secret:
        settings.TURNSTILE_SECRET_KEY = secret
    response = post(CONTACT_EN, contact_post(token))
    assert response.status_code == 400
    assert words in response.content.decode()
    assert not ContactMessage.objects.exists() and not mail.outbox
    # What the visitor typed is kept in the form.
    assert "elodie.marchand@college-exemple.fr" in response.content.decode()


def test_cloudflares_always_pass_test_secret_passes(client, post, settings, turnstile):
    settings.TURNSTILE_SECRET_KEY = SECRET_PASS
    assert post(CONTACT, contact_post(DUMMY_TOKEN)).status_code == 302
    assert ContactMessage.objects.count() == 1


def test_a_token_is_good_once(client, post, turnstile):
    token = turnstile.issue_token()
    assert post(CONTACT, contact_post(token)).status_code == 302
    replay = post(CONTACT_EN, contact_post(token))
    assert replay.status_code == 400 and "expired" in replay.content.decode()
    assert ContactMessage.objects.count() == 1


def test_without_keys_the_forms_are_closed(client, post, settings):
    settings.TURNSTILE_SITE_KEY = settings.TURNSTILE_SECRET_KEY = ""
    page = client.get(CONTACT).content.decode()
    assert "form is closed" in page or "formulaire est fermé" in page
    response = post(CONTACT_EN, contact_post("whatever"))
    assert response.status_code == 400 and "not configured" in response.content.decode()
    assert not ContactMessage.objects.exists()


def test_cloudflare_unreachable_means_refused(client, post, settings, turnstile):
    settings.TURNSTILE_VERIFY_URL = f"https://127.0.0.1:{free_loopback_port()}/siteverify"
    response = post(CONTACT_EN, contact_post(turnstile.issue_token()))
    assert response.status_code == 400
    assert "try again in a minute" in response.content.decode()
    assert not ContactMessage.objects.exists()


def test_cloudflare_answering_garbage_means_refused(client, post, settings, turnstile):
    settings.TURNSTILE_VERIFY_URL = turnstile.url + "/not-siteverify"  # 404 with JSON
    response = post(CONTACT, contact_post(turnstile.issue_token()))
    assert response.status_code == 400 and not ContactMessage.objects.exists()


def test_the_contact_form_is_rate_limited_per_ip(client, post, turnstile):
    for _ in range(5):
        assert post(CONTACT, contact_post(turnstile.issue_token())).status_code == 302
    calls = len(turnstile.verifications)
    limited = post(CONTACT_EN, contact_post(turnstile.issue_token()))
    assert limited.status_code == 429 and "Too many" in limited.content.decode()
    assert len(turnstile.verifications) == calls  # Cloudflare is not even asked
    assert ContactMessage.objects.count() == 5
    other_ip = post(CONTACT, contact_post(turnstile.issue_token()), REMOTE_ADDR="192.0.2.7")
    assert other_ip.status_code == 302


def test_invalid_fields_are_refused_before_turnstile(client, post, turnstile):
    response = post(CONTACT, contact_post(turnstile.issue_token(), email="pas-une-adresse"))
    assert response.status_code == 400
    assert not turnstile.verifications and not ContactMessage.objects.exists()


def test_joining_the_waitlist_seals_the_address_and_acknowledges_once(client, post, turnstile):
    data = {"email": "Direction@Lycee-Exemple.fr", "audience": "school"}
    response = post(WAITLIST, {**data, "cf-turnstile-response": turnstile.issue_token()})
    assert response.status_code == 302 and response.url == "/fr/liste-d-attente/?joined=1"
    entry = WaitlistEntry.objects.get()
    assert waitlist_email(entry) == "Direction@Lycee-Exemple.fr"
    assert b"lycee-exemple" not in _raw_rows("privacy_waitlistentry").lower()
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["Direction@Lycee-Exemple.fr"]

    again = post(
        WAITLIST,
        {
            "email": "direction@lycee-exemple.fr",
            "audience": "sme",
            "cf-turnstile-response": turnstile.issue_token(),
        },
    )
    assert again.status_code == 302 and again.url == response.url  # the same answer
    assert WaitlistEntry.objects.count() == 1 and len(mail.outbox) == 1


def test_the_waitlist_needs_turnstile_too(client, post, turnstile):
    response = post(
        WAITLIST, {"email": "a@exemple.fr", "audience": "sme", "cf-turnstile-response": DUMMY_TOKEN}
    )
    assert response.status_code == 400 and not WaitlistEntry.objects.exists()


def test_the_english_forms_answer_in_english(client, post, turnstile):
    response = post("/en/contact/", contact_post(turnstile.issue_token()))
    assert response.url == "/en/contact/?sent=1"
    assert ContactMessage.objects.get().language == "en"
    assert mail.outbox[0].subject == "We have received your message"


def test_the_site_key_survives_a_master_key_rotation(client, post, turnstile, settings):
    from django.core.management import call_command

    from privacy.models import SiteKey
    from privacy.site.site_keys import site_key_rotate
    from trupeo.crypto import new_master_key, wrapped_key_id

    post(CONTACT, contact_post(turnstile.issue_token()))
    old_id = wrapped_key_id(bytes(SiteKey.objects.get().wrapped_key))
    settings.TRUPEO_MASTER_KEYS = new_master_key("newest") + "," + settings.TRUPEO_MASTER_KEYS
    call_command("rotate_master_key")  # workspace keys, and the site key with them
    assert site_key_rotate() is False  # already done, and idempotent
    assert wrapped_key_id(bytes(SiteKey.objects.get().wrapped_key)) == "newest" != old_id
    # With only the newest master key left, the message still opens.
    settings.TRUPEO_MASTER_KEYS = settings.TRUPEO_MASTER_KEYS.split(",")[0]
    assert contact_open(ContactMessage.objects.get())["name"] == "Élodie Marchand"


def test_staff_read_contact_messages_in_the_admin(client, post, turnstile):
    from allauth.mfa.models import Authenticator

    from tests.factories import UserFactory

    post(CONTACT, contact_post(turnstile.issue_token(), subject="gdpr", gdpr_right="access"))
    contact = ContactMessage.objects.get()
    staff = UserFactory(email="staff@trupeo.fr", is_staff=True, is_superuser=True)
    Authenticator.objects.create(user=staff, type=Authenticator.Type.TOTP, data={"secret": "x"})
    client.force_login(staff)
    listing = client.get("/admin/privacy/contactmessage/").content.decode()
    assert "Marchand" not in listing  # the list opens nothing sealed
    page = client.get(f"/admin/privacy/contactmessage/{contact.pk}/change/").content.decode()
    assert "Élodie Marchand &lt;elodie.marchand@college-exemple.fr&gt;" in page
    assert "combien coûte Trupeo" in page
    assert client.get("/admin/privacy/contactmessage/add/").status_code == 403
