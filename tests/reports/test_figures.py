"""Report figures on a mailbox with known timings, synced from a real Dovecot: requesters'
messages at chosen times in INBOX, the team's replies at chosen times in Sent (as another mail
client files them), closings at chosen times. Exact counts, medians and 90th percentiles; the
CSV holds the page's numbers; the figures outlive the conversations behind them."""

import csv
import io
import re
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from inbox.actions.tags import conversation_tag_add, tag_get_or_create
from inbox.actions.triage import conversation_assign, conversation_set_status
from inbox.mail.mailboxes import mailbox_create
from inbox.mail.sync import mailbox_sync
from inbox.models import Conversation, Mailbox, Message
from reports.backfill import workspace_backfill
from reports.figures import Scope, report_figures
from reports.models import ConversationFact, DailyCount, HourCount, ReplyCount
from tests.mail import french_message

pytestmark = pytest.mark.django_db

PARIS = ZoneInfo("Europe/Paris")
SINCE, UNTIL = date(2026, 3, 1), date(2026, 3, 7)


def paris(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=PARIS)


# (received, first reply or None, closed or None), March 2026, Paris time (UTC+1). Business
# hours are the default office week: Monday to Friday, 9:00 to 18:00.
TIMINGS = [
    (paris(2, 9), paris(2, 9, 30), paris(3, 9)),  # Monday: 30 min, resolved in 9 business h
    (paris(2, 10), paris(2, 11), paris(4, 10)),  # Monday: 1 h, resolved in 8 + 9 + 1 = 18 h
    (paris(3, 14), paris(3, 16), None),  # Tuesday: 2 h
    (paris(4, 9), paris(4, 13), None),  # Wednesday: 4 h
    (paris(4, 9, 15), None, None),  # Wednesday: never answered
]


@pytest.fixture
def mailbox(workspace, dovecot, smtp_server):
    user, password = dovecot.add_user("scolarite")
    dovecot.create_folder(user, "Sent")
    box = mailbox_create(
        workspace=workspace,
        address=f"{user}@lycee-verne.fr",
        name="Scolarité",
        credentials={"imap_password": password, "smtp_password": smtp_server.password},
        imap_host=dovecot.host,
        imap_port=dovecot.port,
        imap_security="none",
        imap_username=user,
        smtp_host="127.0.0.1",
        smtp_port=smtp_server.port,
        smtp_security="none",
        smtp_username=smtp_server.username,
    )
    # Connected before March: the March mail is live mail, not history imported closed.
    Mailbox.objects.filter(pk=box.pk).update(created_at=paris(1, 0) - timedelta(days=1))
    box.user = user
    return box


def _at(monkeypatch, moment: datetime) -> None:
    monkeypatch.setattr(timezone, "now", lambda: moment)


@pytest.fixture
def timed(mailbox, dovecot, alice, monkeypatch):
    """The five conversations of TIMINGS synced, the replies synced from Sent, two closed."""
    for n, (received, reply, _closed) in enumerate(TIMINGS):
        message_id = f"<demande-{n}@famille.fr>"
        dovecot.append(
            mailbox.user,
            "INBOX",
            french_message(n, message_id=message_id, subject=f"Demande {n}"),
            internal_date=received,
        )
        if reply:
            dovecot.append(
                mailbox.user,
                "Sent",
                french_message(
                    100 + n,
                    sender=mailbox.address,
                    in_reply_to=message_id,
                    subject=f"Re: Demande {n}",
                ),
                internal_date=reply,
            )
    mailbox_sync(mailbox_id=mailbox.pk, parallel=False)
    conversations = list(Conversation.objects.filter(mailbox=mailbox).order_by("first_message_at"))
    assert len(conversations) == 5
    for conversation, (_received, _reply, closed) in zip(conversations, TIMINGS, strict=True):
        if closed:
            _at(monkeypatch, closed)
            conversation_set_status(conversation=conversation, status="closed", actor=alice)
    monkeypatch.undo()
    return conversations


def test_counts_medians_and_percentiles_are_exact(workspace, timed):
    report = report_figures(Scope(workspace.pk, SINCE, UNTIL))

    received = {b.start: b.received for b in report.buckets if b.received}
    closed = {b.start: b.closed for b in report.buckets if b.closed}
    assert received == {date(2026, 3, 2): 2, date(2026, 3, 3): 1, date(2026, 3, 4): 2}
    assert closed == {date(2026, 3, 3): 1, date(2026, 3, 4): 1}
    assert (report.received, report.closed, report.replies) == (5, 2, 4)
    assert len(report.buckets) == 7

    # First replies: 30 min, 1 h, 2 h, 4 h. Resolutions: 9 h and 18 h of business hours (a
    # day and two days on the clock: the nights do not count).
    assert report.first_reply.count == 4
    assert report.first_reply.median == 5400
    assert report.first_reply.p90 == pytest.approx(7200 + 0.7 * 7200)
    assert report.resolution.count == 2
    assert report.resolution.median == 13.5 * 3600
    assert report.resolution.p90 == pytest.approx(9 * 3600 + 0.9 * 9 * 3600)
    assert report.first_reply.share_within_goal is None  # no goals: "—"

    heat = {(d, h): n for d, row in enumerate(report.heat) for h, n in enumerate(row) if n}
    assert heat == {(0, 9): 1, (0, 10): 1, (1, 14): 1, (2, 9): 2}
    [agent] = report.agents
    assert (agent.author_id, agent.replies) == (0, 4)  # sent from another client


def test_by_week_and_filters(workspace, timed, alice, bob):
    report = report_figures(Scope(workspace.pk, SINCE, UNTIL, by_week=True))
    assert [(b.start, b.received, b.closed) for b in report.buckets] == [
        (date(2026, 2, 23), 0, 0),  # Sunday the 1st belongs to the week of the 23rd
        (date(2026, 3, 2), 5, 2),
    ]
    first, second, *_ = timed
    conversation_assign(conversation=second, assignee=bob, actor=alice)
    tag = tag_get_or_create(workspace=workspace, name="Absences")
    conversation_tag_add(conversation=first, tag=tag, actor=alice)

    mine = report_figures(Scope(workspace.pk, SINCE, UNTIL, assignee_id=bob.pk))
    assert (mine.received, mine.closed, mine.replies) == (1, 1, 1)
    assert mine.resolution.median == 18 * 3600
    tagged = report_figures(Scope(workspace.pk, SINCE, UNTIL, tag_id=tag.pk))
    assert (tagged.received, tagged.closed) == (1, 1)
    assert tagged.first_reply.median == 1800
    # The totals did not move: counts follow the assignee and tags, they are not added twice.
    everything = report_figures(Scope(workspace.pk, SINCE, UNTIL))
    assert (everything.received, everything.closed, everything.replies) == (5, 2, 4)

    conversation_assign(conversation=second, assignee=None, actor=alice)
    assert report_figures(Scope(workspace.pk, SINCE, UNTIL, assignee_id=bob.pk)).received == 0


def test_share_within_the_mailbox_goals(workspace, mailbox, timed, alice_client):
    from sla.models import ReplyGoal

    # One hour for the first reply, twelve business hours to resolve; the backfill (or the
    # next change of each conversation) measures the facts against them.
    ReplyGoal.objects.create(
        workspace=workspace, mailbox=mailbox, first_reply_minutes=60, resolution_minutes=720
    )
    workspace_backfill(workspace_id=workspace.pk)
    report = report_figures(Scope(workspace.pk, SINCE, UNTIL))
    assert report.first_reply.share_within_goal == 0.5  # 30 min and 1 h, not 2 h nor 4 h
    assert report.resolution.share_within_goal == 0.5  # 9 h, not 18 h
    html = alice_client.get(f"/reports/?since={SINCE}&until={UNTIL}").content.decode()
    assert 'id="figure-share">50 %<' in html


def test_reopening_moves_the_closed_count(workspace, timed, alice):
    conversation_set_status(conversation=timed[0], status="open", actor=alice)
    report = report_figures(Scope(workspace.pk, SINCE, UNTIL))
    assert (report.received, report.closed) == (5, 1)
    assert report.resolution.count == 1
    conversation_set_status(conversation=timed[0], status="spam", actor=alice)
    assert report_figures(Scope(workspace.pk, SINCE, UNTIL)).received == 4


def test_figures_survive_the_deletion_of_their_conversations(workspace, timed):
    before = report_figures(Scope(workspace.pk, SINCE, UNTIL))
    Conversation.objects.filter(pk__in=[c.pk for c in timed[:3]]).delete()
    assert not Message.objects.filter(conversation_id=timed[0].pk).exists()
    after = report_figures(Scope(workspace.pk, SINCE, UNTIL))
    assert after == before
    # The backfill over what is left changes nothing either.
    workspace_backfill(workspace_id=workspace.pk)
    assert report_figures(Scope(workspace.pk, SINCE, UNTIL)) == before


def test_backfill_rebuilds_the_same_figures_and_twice_is_once(workspace, timed):
    before = report_figures(Scope(workspace.pk, SINCE, UNTIL))
    for model in (ConversationFact, DailyCount, HourCount, ReplyCount):
        model.objects.all().delete()
    from reports.models import FactTag, ReplyFact

    FactTag.objects.all().delete()
    ReplyFact.objects.all().delete()
    assert report_figures(Scope(workspace.pk, SINCE, UNTIL)).received == 0
    assert workspace_backfill(workspace_id=workspace.pk) == 5
    workspace_backfill(workspace_id=workspace.pk)
    assert report_figures(Scope(workspace.pk, SINCE, UNTIL)) == before


def test_a_reply_sent_through_trupeo_counts_for_its_author(
    workspace, mailbox, dovecot, bob, smtp_server, monkeypatch, django_capture_on_commit_callbacks
):
    from inbox.mail.sending import outgoing_create, outgoing_queue, outgoing_send
    from inbox.models import OutgoingKind, SendState
    from tests.sending_tasks import sends_recorded

    sends_recorded(monkeypatch)
    two_hours_ago = timezone.now() - timedelta(hours=2)
    dovecot.append(
        mailbox.user,
        "INBOX",
        french_message(7, message_id="<live@famille.fr>"),
        internal_date=two_hours_ago,
    )
    mailbox_sync(mailbox_id=mailbox.pk, parallel=False)
    customer = Message.objects.get(mailbox=mailbox)
    with django_capture_on_commit_callbacks(execute=True):
        outgoing = outgoing_queue(
            outgoing=outgoing_create(
                mailbox=mailbox,
                conversation=customer.conversation,
                author=bob,
                kind=OutgoingKind.REPLY,
                body="Bonjour,\n\nC’est noté.",
                reply_to_message=customer,
            )
        )
    assert outgoing_send(outgoing_id=outgoing.pk) == SendState.SENT
    today = timezone.localdate()
    report = report_figures(Scope(workspace.pk, today - timedelta(days=1), today))
    assert [(a.author_id, a.name, a.replies) for a in report.agents] == [(bob.pk, bob.name, 1)]
    assert report.first_reply.count == 1
    fact = ConversationFact.objects.get()
    assert 7100 < (fact.first_reply_at - fact.received_at).total_seconds() < 7300
    # In business hours of the mailbox's calendar (none on a Sunday, two hours on a Tuesday).
    from sla.business_time import business_seconds_between
    from sla.calendars import calendar_for_mailbox

    calendar = calendar_for_mailbox(Mailbox.objects.select_related("workspace").get(pk=mailbox.pk))
    expected = business_seconds_between(calendar, fact.received_at, fact.first_reply_at)
    assert report.first_reply.median == fact.first_reply_seconds == expected
    # The sent copy syncing from Sent later is the same message: not a second reply.
    mailbox_sync(mailbox_id=mailbox.pk, parallel=False)
    assert report_figures(Scope(workspace.pk, today - timedelta(days=1), today)).replies == 1


# --- the page, its CSV files and the command ---------------------------------------------------


class Tables(HTMLParser):
    """The page's tables, by id, as lists of rows of cell texts."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.current: list[list[str]] | None = None
        self.cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and attrs.get("id", "").startswith("table-"):
            self.current = self.tables.setdefault(attrs["id"][6:], [])
        elif tag == "tr" and self.current is not None:
            self.current.append([])
        elif tag in ("td", "th") and self.current is not None:
            self.cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None and self.current is not None:
            self.current[-1].append("".join(self.cell).strip())
            self.cell = None
        elif tag == "table":
            self.current = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


def _page_tables(client, query: str) -> dict[str, list[list[str]]]:
    response = client.get(f"/reports/?{query}")
    assert response.status_code == 200
    parser = Tables()
    parser.feed(response.content.decode())
    return parser.tables


def test_every_csv_holds_the_numbers_of_the_page(alice_client, timed):
    query = f"since={SINCE}&until={UNTIL}"
    tables = _page_tables(alice_client, query)
    assert set(tables) == {"volume", "times", "agents", "hours", "satisfaction"}
    for slug, rows in tables.items():
        response = alice_client.get(f"/reports/{slug}.csv?{query}")
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/csv")
        exported = list(csv.reader(io.StringIO(response.content.decode())))
        assert [[c or "—" for c in row] for row in exported] == rows, slug
    times = tables["times"]
    assert times[0][0] == "Mesure"  # French
    assert times[1][1:4] == ["4", "90", "204"]  # first reply: 4 conversations, 90 min, 204 min
    assert times[2][1:4] == ["2", "810", "1026"]  # resolution: 13 h 30, 17 h 06 (business)
    assert tables["volume"][-1] == ["Total", "5", "2"]


def test_the_page_in_french_with_its_charts(alice_client, timed):
    response = alice_client.get(f"/reports/?since={SINCE}&until={UNTIL}")
    html = response.content.decode()
    assert "Rapports" in html
    assert html.count("<svg") == 4
    assert html.count("<title id=") == 4  # each chart has its accessible title
    assert 'id="figure-first-reply">1 h 30 min<' in html
    assert "5 conversations reçues et 2 fermées" in html
    assert "Lundi" in html


def test_satisfaction_counts_the_ratings_of_the_period(alice_client, timed, workspace):
    from inbox.models import Conversation, SatisfactionRating

    rated = datetime(2026, 3, 3, 12, tzinfo=UTC)
    conversations = list(Conversation.objects.filter(workspace=workspace)[:4])
    for conversation, rating in zip(
        conversations, ["good", "good", "good", "average"], strict=True
    ):
        SatisfactionRating.objects.create(
            workspace=workspace,
            mailbox=conversation.mailbox,
            conversation=conversation,
            rating=rating,
            rated_at=rated,
        )
    Conversation.objects.filter(pk=conversations[0].pk).delete()  # retention: still counted
    tables = _page_tables(alice_client, f"since={SINCE}&until={UNTIL}")
    assert tables["satisfaction"][1] == ["Bien", "3"]
    assert tables["satisfaction"][2] == ["Moyen", "1"]
    outside = _page_tables(alice_client, "since=2026-04-01&until=2026-04-07")
    assert outside["satisfaction"][-1][-1] == "0"


def test_agents_are_refused_and_other_workspaces_ids_are_404(
    workspace, timed, bob_client, charlie, charlie_client, alice_client
):
    assert bob_client.get("/reports/").status_code == 403
    assert bob_client.get("/reports/volume.csv").status_code == 403
    other = charlie.memberships.get().workspace
    theirs = mailbox_create(workspace=other, address="accueil@agence-ouest.fr")
    their_tag = tag_get_or_create(workspace=other, name="Devis")
    for field, value in (("mailbox", theirs.pk), ("tag", their_tag.pk), ("assignee", charlie.pk)):
        for url in ("/reports/", "/reports/volume.csv"):
            response = alice_client.get(f"{url}?since={SINCE}&until={UNTIL}&{field}={value}")
            assert response.status_code == 404, (field, url)
    # Charlie's own report shows nothing of alice's.
    response = charlie_client.get(f"/reports/volume.csv?since={SINCE}&until={UNTIL}")
    assert list(csv.reader(io.StringIO(response.content.decode())))[-1] == ["Total", "0", "0"]


@pytest.mark.parametrize(
    "query",
    [
        "since=2026-13-45",
        "since=2026-03-07&until=2026-03-01",
        "since=1900-01-01&until=1900-01-02",
        "since=9999-12-30&until=9999-12-31",
        "since=2020-01-01&until=2026-01-01",
        "mailbox=%C2%B2",
        "tag=99999999999999999999999",
        "assignee=-1",
        "group=month",
        "since=" + "9" * 300,
    ],
)
def test_hostile_periods_and_filters_are_400s_in_words(alice_client, query):
    response = alice_client.get(f"/reports/?{query}")
    assert response.status_code == 400
    assert 'class="errorlist' in response.content.decode()
    assert alice_client.get(f"/reports/volume.csv?{query}").status_code == 400


def test_a_nul_in_a_filter_is_refused_before_the_view(alice_client):
    assert alice_client.get("/reports/?mailbox=1%00").status_code == 400


def test_the_command_prints_the_page_figures(workspace, timed):
    out = io.StringIO()
    call_command("report", workspace.slug, "--since", str(SINCE), "--until", str(UNTIL), stdout=out)
    text = out.getvalue()
    assert "Délais de réponse et de résolution" in text
    assert re.search(r"Première réponse\s+4\s+90\s+204\s+—", text)
    assert re.search(r"Total\s+5\s+2", text)
    out = io.StringIO()
    call_command(
        "report", workspace.slug, "--since", str(SINCE), "--until", str(UNTIL), "--csv", stdout=out
    )
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert ["Première réponse", "4", "90", "204", ""] in rows

    with pytest.raises(CommandError, match="No workspace has the slug 'nope'"):
        call_command("report", "nope", "--since", str(SINCE), "--until", str(UNTIL))
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("report", workspace.slug, "--since", "03/01/2026", "--until", str(UNTIL))
    with pytest.raises(CommandError, match="must not come after"):
        call_command("report", workspace.slug, "--since", str(UNTIL), "--until", str(SINCE))


def test_a_merge_counts_the_merged_conversation_once(workspace, timed, alice):
    from inbox.actions.merging import conversation_merge

    # Wednesday's request (answered in 4 h) joins Tuesday's (answered in 2 h): one conversation
    # received on Tuesday, whose first reply is still Tuesday's; every reply is still counted.
    conversation_merge(source=timed[3], target=timed[2], actor=alice)
    report = report_figures(Scope(workspace.pk, SINCE, UNTIL))
    assert (report.received, report.closed, report.replies) == (4, 2, 4)
    received = {b.start: b.received for b in report.buckets if b.received}
    assert received == {date(2026, 3, 2): 2, date(2026, 3, 3): 1, date(2026, 3, 4): 1}
    assert (report.first_reply.count, report.first_reply.median) == (3, 3600)
    workspace_backfill(workspace_id=workspace.pk)
    assert report_figures(Scope(workspace.pk, SINCE, UNTIL)) == report


def test_rules_on_arrival_count_under_their_assignee_and_tag(workspace, mailbox, bob):
    from inbox.actions.rules import rule_create
    from inbox.mail.ingest import RawMail, ingest_batch

    tag = tag_get_or_create(workspace=workspace, name="Absences")
    rule_create(mailbox=mailbox, kind="match", field="subject", pattern="Absence", tag=tag)
    rule_create(mailbox=mailbox, kind="round_robin", agents=[bob])
    mailbox.refresh_from_db()  # connected in February: March's mail is live, rules apply
    folder = mailbox.folders.get(role="inbox")
    ingest_batch(
        mailbox=mailbox,
        folder=folder,
        mails=[
            RawMail(
                provider_key=f"{folder.pk}:1:1",
                raw=french_message(1, subject="Absence de Léa"),
                received_at=paris(2, 9),
            )
        ],
    )
    mine = report_figures(Scope(workspace.pk, SINCE, UNTIL, assignee_id=bob.pk))
    tagged = report_figures(Scope(workspace.pk, SINCE, UNTIL, tag_id=tag.pk))
    everything = report_figures(Scope(workspace.pk, SINCE, UNTIL))
    assert mine.received == tagged.received == everything.received == 1


def _rollups() -> dict:
    """Every rollup row that counts something, and every fact, as plain values."""
    from reports.models import FactTag

    def rows(model, *fields):
        return sorted(model.objects.values_list(*fields))

    return {
        "daily": [
            r
            for r in rows(
                DailyCount, "day", "mailbox_id", "assignee_id", "tag_id", "received", "closed"
            )
            if any(r[-2:])
        ],
        "hourly": [
            r
            for r in rows(
                HourCount, "day", "hour", "mailbox_id", "assignee_id", "tag_id", "received"
            )
            if r[-1]
        ],
        "replies": [
            r
            for r in rows(
                ReplyCount, "day", "mailbox_id", "assignee_id", "tag_id", "author_id", "replies"
            )
            if r[-1]
        ],
        "facts": rows(ConversationFact, "conversation_id", "assignee_id", "counted", "tag_ids"),
        "tags": rows(FactTag, "conversation_id", "tag_id"),
    }


def test_an_assignment_moves_the_counts_as_a_full_rebuild_would(workspace, timed, alice, bob):
    tag = tag_get_or_create(workspace=workspace, name="Absences")
    conversation_tag_add(conversation=timed[1], tag=tag, actor=alice)
    # Nobody -> Bob -> Alice -> nobody, on a closed conversation with a reply and a tag.
    for assignee in (bob, alice, None):
        conversation_assign(conversation=timed[1], assignee=assignee, actor=alice)
    conversation_assign(conversation=timed[2], assignee=bob, actor=alice)
    moved = _rollups()
    assert any(r[2] == bob.pk for r in moved["daily"])  # timed[2] counts under Bob
    from reports.models import FactTag, ReplyFact

    for model in (ConversationFact, DailyCount, HourCount, ReplyCount, FactTag, ReplyFact):
        model.objects.all().delete()
    workspace_backfill(workspace_id=workspace.pk)
    assert _rollups() == moved


def test_an_assignment_takes_the_short_way_once_the_fact_exists(
    workspace, timed, alice, bob, django_assert_num_queries
):
    from reports.aggregates import fact_reassign

    # The fact, its replies, the fact again, its three rollups (it has a reply and is closed),
    # and the savepoint around them: 8 queries where a whole refresh of the fact takes 13.
    with django_assert_num_queries(8):
        assert fact_reassign(
            workspace_id=workspace.pk, conversation_id=timed[0].pk, assignee_id=bob.pk
        )
    ConversationFact.objects.filter(conversation_id=timed[0].pk).delete()
    assert not fact_reassign(
        workspace_id=workspace.pk, conversation_id=timed[0].pk, assignee_id=alice.pk
    )
