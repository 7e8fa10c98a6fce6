"""What every signed-in request reads before its view runs (its session, its user, their
memberships), with SQL written once per process (trupeo.model_rows): the same answers as the
ORM's queries, and nothing more reachable through them."""

from datetime import timedelta

import pytest
from django.contrib.sessions.backends.db import SessionStore as DjangoStore
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.memberships import memberships_of
from accounts.models import Membership, User
from tests.factories import add_member, workspace_for
from trupeo.sessions import SessionStore

pytestmark = pytest.mark.django_db


def _fields(instance) -> dict:
    return {k: v for k, v in instance.__dict__.items() if not k.startswith("_")}


# Sessions


def test_a_session_reads_back_what_django_wrote():
    written = DjangoStore()
    written["workspace_id"] = 7
    written["words"] = "l'élève « absent »"
    written.create()
    read = SessionStore(written.session_key)
    assert read.load() == {"workspace_id": 7, "words": "l'élève « absent »"}
    assert read.session_key == written.session_key


@pytest.mark.parametrize(
    "key",
    [
        "x" * 32,  # unknown
        "' OR '1'='1' --abcdef",  # SQL as a cookie: a parameter, never part of the query
        "a\\b%_c" * 5,
        "",
        None,
    ],
)
def test_an_unknown_or_hostile_session_key_is_a_new_empty_session(key):
    DjangoStore().create()  # some session exists
    store = SessionStore(key)
    assert store.load() == {}
    assert store.session_key is None  # a fresh key is made when it is saved


def test_an_expired_session_is_not_read():
    store = DjangoStore()
    store["workspace_id"] = 7
    store.create()
    Session.objects.filter(pk=store.session_key).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )
    assert SessionStore(store.session_key).load() == {}


def test_tampered_session_data_is_an_empty_session():
    store = DjangoStore()
    store["workspace_id"] = 7
    store.create()
    Session.objects.filter(pk=store.session_key).update(session_data="forged:data")
    assert SessionStore(store.session_key).load() == {}


def test_sign_out_ends_the_session_for_the_kept_reader(alice, workspace):
    client = Client()
    client.force_login(alice)
    assert client.get(reverse("inbox")).status_code == 200
    key = client.cookies["sessionid"].value
    client.post(reverse("account_logout"))
    assert SessionStore(key).load() == {}
    assert client.get(reverse("inbox")).status_code == 302


# The signed-in user


def test_the_user_by_id_is_the_orms_user(alice):
    alice.last_login = timezone.now()
    alice.save(update_fields=["last_login"])
    kept = User.objects.get(pk=alice.pk)
    orm = User.objects.filter(pk=alice.pk).get()
    assert _fields(kept) == _fields(orm)
    assert kept.last_login.tzinfo is not None  # through the database's converters
    assert not kept._state.adding and kept._state.db == "default"
    assert User.objects.get(id=alice.pk).pk == alice.pk


def test_a_missing_user_is_does_not_exist(alice):
    with pytest.raises(User.DoesNotExist):
        User.objects.get(pk=alice.pk + 1000)


def test_other_lookups_are_the_orms(alice):
    assert User.objects.get(email=alice.email) == alice
    assert User.objects.get(pk=str(alice.pk)) == alice  # not an int: the ORM converts it
    with pytest.raises(ValueError):
        User.objects.get(pk="1 OR 1=1")
    with pytest.raises(User.DoesNotExist):
        User.objects.get(pk=alice.pk, is_active=False)


def test_a_deactivated_user_is_signed_out_at_the_next_request(alice, alice_client):
    assert alice_client.get(reverse("inbox")).status_code == 200
    User.objects.filter(pk=alice.pk).update(is_active=False)
    assert alice_client.get(reverse("inbox")).status_code == 302


def test_a_changed_password_signs_other_sessions_out(alice, alice_client):
    assert alice_client.get(reverse("inbox")).status_code == 200
    alice.set_password("a whole new passphrase 42")
    alice.save()
    assert alice_client.get(reverse("inbox")).status_code == 302


# Memberships


def test_memberships_are_the_orms_in_joining_order_with_their_workspace(
    alice, workspace, charlie, django_assert_num_queries
):
    second = workspace_for(charlie, "Agence Ouest 2")
    add_member(second, alice)
    orm = list(
        Membership.objects.filter(user=alice).select_related("workspace").order_by("joined_at")
    )
    with django_assert_num_queries(1):
        kept = memberships_of(alice)
        workspaces = [m.workspace.name for m in kept]
        assert all(m.user is alice for m in kept)
    assert [_fields(m) for m in kept] == [_fields(m) for m in orm]
    assert [_fields(m.workspace) for m in kept] == [_fields(m.workspace) for m in orm]
    assert workspaces == ["Lycée Jules Verne", "Agence Ouest 2"]
    assert kept[0].joined_at.tzinfo is not None


def test_memberships_hold_only_the_persons_own(alice, workspace, charlie, bob):
    assert [m.user_id for m in memberships_of(bob)] == [bob.pk]
    assert {m.workspace_id for m in memberships_of(charlie)} == {
        m.workspace_id for m in Membership.objects.filter(user=charlie)
    }
    assert workspace.pk not in {m.workspace_id for m in memberships_of(charlie)}


def test_a_member_removed_loses_the_workspace_at_the_next_request(bob, bob_client, workspace):
    assert bob_client.get(reverse("inbox")).status_code == 200
    Membership.objects.filter(user=bob, workspace=workspace).delete()
    assert bob_client.get(reverse("inbox")).status_code != 200


def test_a_signed_in_request_reads_its_floor_with_the_kept_sql(alice, alice_client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        assert alice_client.get(reverse("inbox_counts")).status_code == 200
    floor = [q["sql"] for q in queries.captured_queries[:3]]
    # The kept SQL names its tables with one-letter aliases; the ORM's never does.
    assert 'FROM "django_session" s WHERE' in floor[0]
    assert 'FROM "accounts_user" u WHERE' in floor[1]
    assert 'FROM "accounts_membership" m JOIN "accounts_workspace" w' in floor[2]


def test_a_relations_manager_keeps_its_filter(alice, bob):
    from django.contrib.auth.models import Group

    group = Group.objects.create(name="Vie scolaire")
    group.user_set.add(bob)
    assert group.user_set.get(pk=bob.pk) == bob
    with pytest.raises(User.DoesNotExist):
        group.user_set.get(pk=alice.pk)  # a user, but not in the group


@pytest.mark.parametrize("pk", [2**63, -(2**63) - 1, 10**30])
def test_an_id_beyond_64_bits_is_does_not_exist(alice, pk):
    with pytest.raises(User.DoesNotExist):
        User.objects.get(pk=pk)


def test_a_password_reset_link_with_a_huge_user_part_is_not_a_server_error(client):
    # The user part is base 36: "zzzzzzzzzzzzz" is about 1.7e20, beyond any id.
    response = client.get("/accounts/password/reset/key/zzzzzzzzzzzzz-abc-123/")
    assert response.status_code < 500


def test_the_counts_version_moves_before_the_lists(monkeypatch, django_capture_on_commit_callbacks):
    from django.core.cache import cache

    from inbox import inbox_version

    moved = []
    real_incr = cache.incr
    monkeypatch.setattr(cache, "incr", lambda key, *a, **k: moved.append(key) or real_incr(key))
    inbox_version.workspace_versions(7)
    with django_capture_on_commit_callbacks(execute=True):
        inbox_version.workspace_touched(7)
    # A sidebar reloading because the lists moved finds the counts' version moved already.
    assert moved == ["inbox-counts-version:7", "inbox-version:7"]
