"""The due-soon and late lists, the clock on the conversation page, and the admins' pages:
isolation (another workspace's mailbox is a 404, an agent gets a 403) and hostile input."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from inbox.models import Conversation
from sla.models import BusinessCalendar, ConversationClock, ReplyGoal
from tests.sla.test_clocks import _mail


def _two_conversations(mailbox):
    now = timezone.now()
    _mail(mailbox, now - timedelta(days=10))  # long late
    _mail(mailbox, now)  # due in 2 business hours from the next opening
    late, soon = Conversation.objects.order_by("first_message_at")
    return late, soon


def test_due_soon_and_late_lists(goal_mailbox, alice_client):
    late, soon = _two_conversations(goal_mailbox)
    page = alice_client.get(reverse("sla_due")).content.decode()
    assert "Bientôt en retard" in page
    assert f'data-id="{soon.pk}"' in page and f'data-id="{late.pk}"' not in page
    assert "première réponse" in page
    page = alice_client.get(reverse("sla_due") + "?view=late").content.decode()
    assert f'data-id="{late.pk}"' in page and f'data-id="{soon.pk}"' not in page
    assert "de retard" in page


def test_due_list_pages_by_due_time(goal_mailbox, alice_client, monkeypatch):
    monkeypatch.setattr("sla.selectors.PAGE_SIZE", 2)
    now = timezone.now()
    for n in range(5):
        _mail(goal_mailbox, now - timedelta(days=20 - n))
    seen, url = [], reverse("sla_due") + "?view=late"
    for _page in range(4):
        response = alice_client.get(url)
        seen += [
            int(x)
            for x in response.context["items"] and [i["row"].id for i in response.context["items"]]
        ]
        if not response.context["next_cursor"]:
            break
        url = reverse("sla_due") + f"?view=late&sort=due&after={response.context['next_cursor']}"
    dues = dict(ConversationClock.objects.values_list("conversation_id", "due_at"))
    assert len(seen) == 5 and seen == sorted(seen, key=lambda pk: (dues[pk], pk))


@pytest.mark.parametrize("after", ["x", "1_", "_1", "9" * 30 + "_1", "1_99999999999999999999"])
def test_broken_cursors_are_400(goal_mailbox, alice_client, after):
    assert alice_client.get(reverse("sla_due") + f"?after={after}").status_code == 400


def test_another_workspaces_mailbox_filter_is_404(goal_mailbox, charlie_client, alice_client):
    url = reverse("sla_due") + f"?mailbox={goal_mailbox.pk}"
    assert charlie_client.get(url).status_code == 404
    assert alice_client.get(url).status_code == 200
    assert alice_client.get(reverse("sla_due") + "?view=nope").status_code == 404


def test_conversation_page_explains_the_clock(goal_mailbox, alice_client):
    _late, soon = _two_conversations(goal_mailbox)
    page = alice_client.get(reverse("conversation", args=[soon.pk])).content.decode()
    assert "Première réponse attendue" in page and "ouvrées" in page
    page = alice_client.get(reverse("conversation", args=[_late.pk])).content.decode()
    assert "de retard" in page


def test_agent_cannot_edit_goals_or_hours(goal_mailbox, bob_client):
    assert bob_client.get(reverse("sla_calendar")).status_code == 403
    url = reverse("sla_mailbox", args=[goal_mailbox.pk])
    response = bob_client.post(
        url, {"form": "goal", "first_reply_minutes": 1, "at_risk_percent": 50}
    )
    assert response.status_code == 403
    assert ReplyGoal.objects.get(mailbox=goal_mailbox).first_reply_minutes == 120


def test_admin_saves_hours_and_goals(goal_mailbox, alice_client, bob):
    response = alice_client.post(
        reverse("sla_calendar"),
        {
            "timezone": "Europe/Paris",
            "public_holidays": "on",
            "alsace_moselle": "on",
            "school_zone": "B",
            "monday": "08:30-12:00, 13:30-17:00",
            "friday": "08:30-12:00",
            "closures": "2026-08-01 - 2026-08-20\n2026-05-15",
        },
    )
    assert response.status_code == 302
    calendar = BusinessCalendar.objects.get(workspace=goal_mailbox.workspace, mailbox=None)
    assert calendar.alsace_moselle and calendar.school_zone == "B"
    assert calendar.intervals.count() == 3 and calendar.closures.count() == 2
    url = reverse("sla_mailbox", args=[goal_mailbox.pk])
    response = alice_client.post(
        url,
        {
            "form": "goal",
            "first_reply_minutes": 60,
            "resolution_minutes": 480,
            "at_risk_percent": 75,
            "late_recipient": bob.pk,
        },
    )
    assert response.status_code == 302
    goal = ReplyGoal.objects.get(mailbox=goal_mailbox)
    assert (goal.first_reply_minutes, goal.at_risk_percent, goal.late_recipient) == (60, 75, bob)
    response = alice_client.post(
        url,
        {
            "form": "calendar",
            "cal-own_calendar": "on",
            "cal-timezone": "Europe/Paris",
            "cal-saturday": "09:00-12:00",
        },
    )
    assert response.status_code == 302
    own = BusinessCalendar.objects.get(mailbox=goal_mailbox)
    assert list(own.intervals.values_list("weekday", flat=True)) == [5]
    alice_client.post(url, {"form": "calendar", "cal-timezone": "Europe/Paris"})
    assert not BusinessCalendar.objects.filter(mailbox=goal_mailbox).exists()


@pytest.mark.parametrize(
    "field,value",
    [
        ("monday", "25:99-26:00"),
        ("monday", "17:00-09:00"),
        ("monday", "09:00-12:00, 11:00-14:00"),
        ("monday", "9" * 300),
        ("monday", "٠٩:٠٠-١٢:٠٠"),
        ("closures", "2026-01-01 - 2099-01-01"),
        ("closures", "2026-02-30"),
        ("closures", "0001-01-01"),
        ("closures", "2026-08-20 - 2026-08-01"),
        ("closures", "\n".join(["2026-05-15"] * 101)),
        ("timezone", "Mars/Olympus"),
        ("school_zone", "Z"),
    ],
)
def test_hostile_calendar_input_is_a_form_error(goal_mailbox, alice_client, field, value):
    data = {"timezone": "Europe/Paris", field: value}
    response = alice_client.post(reverse("sla_calendar"), data)
    assert response.status_code == 200
    assert response.context["form"].errors.get(field)
    assert not BusinessCalendar.objects.filter(alsace_moselle=True).exists()


@pytest.mark.parametrize(
    "data",
    [
        {"first_reply_minutes": "99999999999999999999999"},
        {"first_reply_minutes": "-5"},
        {"at_risk_percent": "100"},
        {"at_risk_percent": "abc"},
        {"late_recipient": "999999"},
        {"late_recipient": "1e9"},
    ],
)
def test_hostile_goal_input_is_a_form_error(goal_mailbox, alice_client, charlie, data):
    url = reverse("sla_mailbox", args=[goal_mailbox.pk])
    response = alice_client.post(url, {"form": "goal", "at_risk_percent": "80", **data})
    assert response.status_code == 200
    assert ReplyGoal.objects.get(mailbox=goal_mailbox).first_reply_minutes == 120


def test_late_recipient_must_be_a_member(goal_mailbox, alice_client, charlie):
    url = reverse("sla_mailbox", args=[goal_mailbox.pk])
    response = alice_client.post(
        url, {"form": "goal", "at_risk_percent": "80", "late_recipient": charlie.pk}
    )
    assert response.status_code == 200
    assert (
        ReplyGoal.objects.get(mailbox=goal_mailbox).late_recipient.email == "alice@lycee-verne.fr"
    )


def test_due_list_query_count_does_not_grow_with_rows(goal_mailbox, alice_client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    now = timezone.now()
    _mail(goal_mailbox, now - timedelta(days=30))
    url = reverse("sla_due") + "?view=late"
    alice_client.get(url)  # warm the per-process lists
    with CaptureQueriesContext(connection) as one:
        alice_client.get(url)
    for n in range(6):
        _mail(goal_mailbox, now - timedelta(days=29 - n))
    alice_client.get(url)
    with CaptureQueriesContext(connection) as seven:
        response = alice_client.get(url)
    assert len(response.context["items"]) == 7
    assert len(seven) == len(one)


def test_inbox_rows_carry_due_badges(goal_mailbox, alice_client):
    _two_conversations(goal_mailbox)
    page = alice_client.get(reverse("inbox") + "?view=open").content.decode()
    assert page.count("due-badge") == 2
    assert "de retard" in page and "dans " in page
    more = alice_client.get(
        reverse("inbox") + "?view=open", headers={"HX-Request": "true", "HX-Target": "more"}
    ).content.decode()
    assert more.count("due-badge") == 2
