"""The sync worker run as its own process against the test parts: a mailbox on the test
Dovecot filled with messages, the worker's environment (same database, same data directory)
and its command line, and a bucket on the moto S3 server."""

import os
import sys

import boto3
from django.conf import settings
from django.db import connection

from inbox.mail.mailboxes import mailbox_create
from inbox.models import Mailbox
from tests.mail import french_message
from trupeo.storage import object_stores_forget


def filled_mailbox(
    dovecot, workspace, name: str, count: int, *, body_words: int = 120, sent_folder: bool = False
) -> Mailbox:
    """A Dovecot account `name` with `count` messages in its inbox, connected as a mailbox."""
    user, password = dovecot.add_user(name)
    if sent_folder:
        dovecot.create_folder(user, "Sent")
    with dovecot.connect(user) as imap:
        for n in range(count):
            imap.append("INBOX", french_message(n, body_words=body_words))
    return mailbox_create(
        workspace=workspace,
        address=f"{name}@lycee-verne.fr",
        credentials={"imap_password": password},
        imap_host=dovecot.host,
        imap_port=dovecot.port,
        imap_security="none",
        imap_username=user,
    )


def database_url() -> str:
    """The test database, as a URL another process can open."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def worker_env(**extra: str) -> dict[str, str]:
    """The environment of a worker process that uses the tests' database and data directory."""
    return {
        **os.environ,
        **extra,
        "DATABASE_URL": database_url(),
        "TRUPEO_DATA_DIR": str(settings.DATA_DIR),
    }


def sync_command(mailbox: Mailbox, *, batch_size: int) -> list[str]:
    """One pass of the sync worker over one mailbox."""
    return [
        sys.executable,
        "manage.py",
        "sync_mailboxes",
        "--once",
        "--mailbox",
        str(mailbox.pk),
        "--batch-size",
        str(batch_size),
    ]


def s3_bucket_create(endpoint: str, name: str) -> None:
    # moto refuses CreateBucket with R2's region "auto"; the store itself uses "auto".
    boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        region_name="us-east-1",
    ).create_bucket(Bucket=name)


def s3_bucket_use(settings, endpoint: str, name: str) -> None:
    """A new bucket on the moto S3 server, and the object store (R2 settings) pointed at it."""
    s3_bucket_create(endpoint, name)
    settings.R2_BUCKET, settings.R2_ENDPOINT_URL, settings.R2_REGION = name, endpoint, "auto"
    settings.R2_ACCESS_KEY_ID = settings.R2_SECRET_ACCESS_KEY = "test"
    object_stores_forget()
