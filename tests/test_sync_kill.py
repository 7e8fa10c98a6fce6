"""A sync worker killed (SIGKILL) at random instants, then resumed: exact count, no duplicates."""

import random
import signal
import subprocess
import time
from pathlib import Path

import pytest

from inbox.models import Mailbox, Message
from tests.sync_worker import filled_mailbox, sync_command, worker_env
from trupeo.storage import object_store

ROOT = Path(__file__).resolve().parent.parent
MESSAGES = 600
KILLING_ATTEMPTS = 6


def _stored(mailbox) -> int:
    return Message.objects.filter(mailbox=mailbox).count()


@pytest.mark.django_db(transaction=True)
def test_killed_worker_resumes_without_loss_or_duplicates(dovecot, workspace):
    mailbox = filled_mailbox(
        dovecot, workspace, "killed", MESSAGES, body_words=300, sent_folder=True
    )
    env = worker_env()
    command = sync_command(mailbox, batch_size=40)
    rng = random.Random(20261122)
    kills = mid_sync_kills = 0
    for attempt in range(40):
        worker = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        # Killed a few times at a random point of the sync — after a random number of new
        # messages, then a random fraction of a batch — whatever the machine's speed; then
        # left to finish.
        if attempt >= KILLING_ATTEMPTS:
            worker.wait(timeout=600)
        else:
            # Never so near the end that the sync could finish before the kill.
            target = min(_stored(mailbox) + rng.randint(1, 150), MESSAGES - 200)
            deadline = time.monotonic() + 300
            while (
                worker.poll() is None and _stored(mailbox) < target and time.monotonic() < deadline
            ):
                time.sleep(0.05)
            time.sleep(rng.uniform(0, 0.05))  # somewhere inside the next batch
        if worker.poll() is None:
            worker.send_signal(signal.SIGKILL)
            worker.wait()
            kills += 1
            mid_sync_kills += 0 < _stored(mailbox) < MESSAGES
            # A killed worker's lease would expire after a few minutes; let time pass.
            Mailbox.objects.filter(pk=mailbox.pk).update(sync_lease_until=None)
            continue
        output = worker.stdout.read().decode()
        assert worker.returncode == 0, output
        if "ok in" in output:
            break
    else:
        pytest.fail("the sync never completed")
    assert kills >= 2, "the worker was never interrupted: the test proves nothing"
    assert mid_sync_kills >= 1, "never killed in the middle of the sync: it proves nothing"

    keys = list(Message.objects.filter(mailbox=mailbox).values_list("provider_key", flat=True))
    assert len(keys) == MESSAGES
    assert len(set(keys)) == MESSAGES
    store = object_store()
    raws = Message.objects.filter(mailbox=mailbox).values_list("raw_object", flat=True)
    assert all(store.exists(key) for key in raws)
    folder = mailbox.folders.get(role="inbox")
    assert folder.last_uid == max(int(k.rsplit(":", 1)[1]) for k in keys)
