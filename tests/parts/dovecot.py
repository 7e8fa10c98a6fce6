"""A real Dovecot IMAP server on loopback, for sync tests.

Everything lives in one temporary directory (config, sockets, state, logs, maildirs), so
the system's Dovecot is never touched. Two listeners: plain IMAP (STARTTLS offered) and
implicit TLS, with a throw-away self-signed certificate.

Use the session-scoped `dovecot` fixture and give each test its own mailbox with
`dovecot.add_user(...)` (or the `dovecot_user` fixture): users are cheap, servers are not.
"""

from __future__ import annotations

import datetime as dt
import grp
import os
import pwd
import re
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pytest
from imapclient import IMAPClient

from tests.parts import free_loopback_port, require_part, self_signed_certificate

HOST = "127.0.0.1"
SUPPORTED_SERIES = "2.3"  # 2.4 changed the config syntax entirely; see _check_version
START_TIMEOUT = 10.0
_USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_APPENDUID_RE = re.compile(rb"\[APPENDUID (\d+) (\d+)\]")

Security = Literal["plain", "tls", "starttls"]


@dataclass(frozen=True)
class _Accounts:
    """System users Dovecot runs as. It refuses root for mail processes."""

    login: str
    internal: str
    internal_group: str
    mail_uid: int
    mail_gid: int
    unprivileged: bool  # running as ourselves, not root: no chroot, no chown


@dataclass
class DovecotServer:
    """A running Dovecot plus helpers that act on mailboxes as a real client would."""

    host: str
    port: int
    tls_port: int
    root: Path
    config_path: Path
    cert_pem: bytes = field(repr=False)
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _passwords: dict[str, str] = field(default_factory=dict, repr=False)

    # --- users -----------------------------------------------------------------------

    def add_user(self, name: str = "user", password: str | None = None) -> tuple[str, str]:
        """Create a fresh, empty account and return (username, password).

        The server is shared by the whole session, so a taken name gets a numeric suffix:
        every call yields a mailbox no other test has touched.
        """
        if not _USERNAME_RE.match(name):
            raise ValueError(f"unsupported IMAP test username {name!r}")
        username = name
        counter = 1
        while username in self._passwords:
            counter += 1
            username = f"{name}-{counter}"
        password = password or os.urandom(9).hex()
        # One passwd-file per user: Dovecot opens it on each login, so no reload races.
        user_file = self.root / "users" / username
        user_file.write_text(f"{username}:{{PLAIN}}{password}::::::\n")
        self._passwords[username] = password
        return username, password

    # --- connections -----------------------------------------------------------------

    def ssl_context(self) -> ssl.SSLContext:
        """A client context that trusts this server's certificate (and verifies it)."""
        return ssl.create_default_context(cadata=self.cert_pem.decode("ascii"))

    def client(self, security: Security = "plain") -> IMAPClient:
        """An unauthenticated IMAPClient on the requested listener."""
        if security == "tls":
            return IMAPClient(
                self.host, self.tls_port, ssl=True, ssl_context=self.ssl_context(), timeout=10
            )
        imap = IMAPClient(self.host, self.port, ssl=False, timeout=10)
        if security == "starttls":
            imap.starttls(self.ssl_context())
        return imap

    @contextmanager
    def connect(self, user: str, security: Security = "plain") -> Iterator[IMAPClient]:
        """A logged-in IMAPClient for `user`, logged out on exit."""
        imap = self.client(security)
        try:
            imap.login(user, self._passwords[user])
            yield imap
        finally:
            with suppress(Exception):
                imap.logout()

    # --- mailbox helpers -------------------------------------------------------------

    def create_folder(self, user: str, folder: str) -> None:
        with self.connect(user) as imap:
            imap.create_folder(folder)

    def append(
        self,
        user: str,
        folder: str,
        raw: bytes,
        flags: Iterable[str | bytes] = (),
        internal_date: dt.datetime | None = None,
    ) -> int:
        """APPEND a message and return the UID the server gave it (UIDPLUS)."""
        with self.connect(user) as imap:
            return _append(imap, folder, raw, flags, internal_date)

    def expunge(self, user: str, folder: str, uid: int) -> None:
        """Remove one message for good, as another client deleting it would."""
        with self.connect(user) as imap:
            imap.select_folder(folder)
            imap.add_flags([uid], [b"\\Deleted"])
            imap.uid_expunge([uid])

    def set_flags(self, user: str, folder: str, uid: int, flags: Iterable[str | bytes]) -> None:
        """Replace the flags of one message (bumps its MODSEQ under CONDSTORE)."""
        with self.connect(user) as imap:
            imap.select_folder(folder)
            imap.set_flags([uid], list(flags))

    def uids(self, user: str, folder: str) -> list[int]:
        with self.connect(user) as imap:
            imap.select_folder(folder, readonly=True)
            return sorted(imap.search("ALL"))

    def uidvalidity(self, user: str, folder: str) -> int:
        with self.connect(user) as imap:
            return int(imap.folder_status(folder, [b"UIDVALIDITY"])[b"UIDVALIDITY"])

    def change_uidvalidity(self, user: str, folder: str, *, renumber: bool = True) -> int:
        """Invalidate every cursor on `folder` and return the new UIDVALIDITY.

        With `renumber` (the default) the messages also get new UIDs, as after a server
        migration or index rebuild: the same mail, known by different numbers. Works on
        INBOX too, which cannot be deleted and recreated.
        """
        if renumber:
            self._reappend_all(user, folder)
        new_value = self.uidvalidity(user, folder) % 0xFFFF_FFFF + 1
        self.doveadm("mailbox", "update", "-u", user, "--uid-validity", str(new_value), folder)
        return new_value

    def _reappend_all(self, user: str, folder: str) -> None:
        with self.connect(user) as imap:
            imap.select_folder(folder)
            uids = imap.search("ALL")
            if not uids:
                return
            fetched = imap.fetch(uids, [b"RFC822", b"FLAGS", b"INTERNALDATE"])
            imap.add_flags(uids, [b"\\Deleted"])
            imap.uid_expunge(uids)
            for uid in sorted(fetched):
                data = fetched[uid]
                flags = [f for f in data[b"FLAGS"] if f != b"\\Recent"]
                _append(imap, folder, data[b"RFC822"], flags, data[b"INTERNALDATE"])

    # --- plumbing --------------------------------------------------------------------

    def doveadm(self, *args: str) -> str:
        """Run doveadm against this instance (not the system one)."""
        doveadm = _find_binary("doveadm")
        if doveadm is None:
            raise RuntimeError("doveadm not found next to dovecot")
        result = subprocess.run(
            [doveadm, "-c", str(self.config_path), *args],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"doveadm {' '.join(args)} failed: {result.stderr.strip()}")
        return result.stdout

    def log_text(self) -> str:
        path = self.root / "log" / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=5)
        self._process = None
        shutil.rmtree(self.root, ignore_errors=True)


def _append(
    imap: IMAPClient,
    folder: str,
    raw: bytes,
    flags: Iterable[str | bytes],
    internal_date: dt.datetime | None,
) -> int:
    response = imap.append(folder, raw, flags=list(flags), msg_time=internal_date)
    match = _APPENDUID_RE.search(response)
    if match is None:
        raise RuntimeError(f"server gave no APPENDUID: {response!r}")
    return int(match.group(2))


# --- starting the server -----------------------------------------------------------------


def _find_binary(name: str) -> str | None:
    # /usr/sbin is not on a non-root PATH on Debian.
    return shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin:/usr/local/sbin")


def _check_version(dovecot: str) -> str:
    try:
        output = subprocess.run(
            [dovecot, "--version"], capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError) as exc:
        require_part("dovecot", f"`dovecot --version` failed: {exc}")
    if not output.startswith(SUPPORTED_SERIES + "."):
        require_part(
            "dovecot",
            f"version {output!r}: this fixture writes a Dovecot {SUPPORTED_SERIES} config",
        )
    return output


def _system_accounts() -> _Accounts:
    """Pick unprivileged users: dedicated ones when we are root, ourselves otherwise."""
    if os.geteuid() != 0:
        me = pwd.getpwuid(os.geteuid())
        group = grp.getgrgid(me.pw_gid).gr_name
        return _Accounts(me.pw_name, me.pw_name, group, me.pw_uid, me.pw_gid, unprivileged=True)

    def first_existing(*names: str) -> pwd.struct_passwd:
        for name in names:
            with suppress(KeyError):
                return pwd.getpwnam(name)
        require_part("dovecot", f"none of the system users {names} exists")

    login = first_existing("dovenull", "nobody")
    internal = first_existing("dovecot", "nobody")
    mail = first_existing("nobody")
    internal_group = grp.getgrgid(internal.pw_gid).gr_name
    return _Accounts(
        login.pw_name,
        internal.pw_name,
        internal_group,
        mail.pw_uid,
        mail.pw_gid,
        unprivileged=False,
    )


def _config(root: Path, accounts: _Accounts, port: int, tls_port: int) -> str:
    """A Dovecot 2.3 config confined to `root`."""
    # Login and anvil processes are chrooted by default, which only root may do.
    chroot = "\n  chroot =" if accounts.unprivileged else ""
    return f"""\
base_dir = {root}/run
state_dir = {root}/state
instance_name = trupeo-test-{port}
log_path = {root}/log/dovecot.log
protocols = imap
listen = {HOST}
shutdown_clients = yes

default_login_user = {accounts.login}
default_internal_user = {accounts.internal}
default_internal_group = {accounts.internal_group}
mail_uid = {accounts.mail_uid}
mail_gid = {accounts.mail_gid}
first_valid_uid = {accounts.mail_uid}
first_valid_gid = {accounts.mail_gid}
mail_location = maildir:~/Maildir
# A throw-away server: durability on power loss is not what tests are about.
mail_fsync = never
# "/" as most providers use, and special-use folders a sync must recognise.
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Sent {{
    special_use = \\Sent
    auto = subscribe
  }}
  mailbox Drafts {{
    special_use = \\Drafts
    auto = subscribe
  }}
  mailbox Junk {{
    special_use = \\Junk
    auto = subscribe
  }}
  mailbox Trash {{
    special_use = \\Trash
    auto = subscribe
  }}
}}

# Tests log in with plain passwords over loopback, and wrong ones should fail fast.
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%Ln {root}/users/%Ln
}}
userdb {{
  driver = static
  args = home={root}/home/%Ln allow_all_users=no
}}

ssl = yes
ssl_cert = <{root}/tls/cert.pem
ssl_key = <{root}/tls/key.pem

# IDLE wakes on inotify; the interval is the safety net where inotify is missing.
mailbox_idle_check_interval = 1 secs
protocol imap {{
  mail_max_userip_connections = 50
}}

# No brute-force penalty: a wrong-password test must not slow every later login down.
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}{chroot}
}}

service imap-login {{
  inet_listener imap {{
    address = {HOST}
    port = {port}
  }}
  inet_listener imaps {{
    address = {HOST}
    port = {tls_port}
    ssl = yes
  }}{chroot}
}}
"""


def _prepare_root(accounts: _Accounts) -> Path:
    root = Path(tempfile.mkdtemp(prefix="trupeo-dovecot-"))
    # Mail processes run as another user: it must traverse the root and own the homes.
    root.chmod(0o711)
    for sub in ("run", "state", "log", "users", "home", "tls"):
        (root / sub).mkdir()
    (root / "users").chmod(0o755)
    if not accounts.unprivileged:
        os.chown(root / "home", accounts.mail_uid, accounts.mail_gid)
    cert_pem, key_pem = self_signed_certificate(HOST)
    (root / "tls" / "cert.pem").write_bytes(cert_pem)
    key_path = root / "tls" / "key.pem"
    key_path.touch(mode=0o600)
    key_path.write_bytes(key_pem)
    return root


def _wait_until_ready(process: subprocess.Popen[bytes], port: int) -> bool:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        with suppress(OSError), socket.create_connection((HOST, port), timeout=1) as sock:
            if sock.recv(64).startswith(b"* OK"):
                return True
        time.sleep(0.05)
    return False


def start_dovecot(attempts: int = 3, extra_config: str = "") -> DovecotServer:
    """Start a private Dovecot, or skip/fail through `require_part` if that is impossible.

    `extra_config` is appended to the configuration (the benchmarks raise process limits)."""
    binary = _find_binary("dovecot")
    if binary is None:
        require_part("dovecot", "`dovecot` binary not found (apt-get install dovecot-imapd)")
    _check_version(binary)
    accounts = _system_accounts()
    failure = ""
    for _ in range(attempts):  # another process may grab a port between probe and bind
        root = _prepare_root(accounts)
        port, tls_port = free_loopback_port(), free_loopback_port()
        config_path = root / "dovecot.conf"
        config_path.write_text(_config(root, accounts, port, tls_port) + extra_config)
        with (root / "log" / "stdout.log").open("wb") as out:
            process = subprocess.Popen(
                [binary, "-F", "-c", str(config_path)], stdout=out, stderr=subprocess.STDOUT
            )
        server = DovecotServer(
            host=HOST,
            port=port,
            tls_port=tls_port,
            root=root,
            config_path=config_path,
            cert_pem=(root / "tls" / "cert.pem").read_bytes(),
            _process=process,
        )
        if _wait_until_ready(process, port):
            return server
        failure = (root / "log" / "stdout.log").read_text(errors="replace") + server.log_text()
        server.stop()
    require_part("dovecot", f"server did not start: {failure.strip()[-2000:]}")


@pytest.fixture(scope="session")
def dovecot() -> Iterator[DovecotServer]:
    server = start_dovecot()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def dovecot_user(dovecot: DovecotServer) -> tuple[str, str]:
    """A fresh, empty IMAP account on the shared server: (username, password)."""
    return dovecot.add_user("user")
