"""Forms of the mailboxes: connecting one over IMAP + SMTP, and its signature.

Passwords are never rendered back (`PasswordInput(render_value=False)`): a page that shows
the form again after a failed test asks for them again.
"""

import ipaddress
import re

from django import forms
from django.utils.functional import lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.models import Workspace
from inbox.mail.imap import (
    DEFAULT_PORTS,
    Binding,
    ServerSettings,
    credentials_binding,
    default_port,
    endpoint_sentence,
)
from inbox.mail.network import host_problem, private_hosts_allowed
from inbox.models import Mailbox, Security

# Well-known ports that only work one way: implicit TLS, or a plain start (then STARTTLS).
_TLS_PORTS = {"imap": {993}, "smtp": {465}}
_PLAIN_PORTS = {"imap": {143}, "smtp": {25, 587}}

_LABEL_RE = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def port_security_problem(protocol: str, port: int, security: str) -> str:
    """A sentence when a well-known port cannot work with `security`, else ""."""
    if port in _TLS_PORTS[protocol] and security != Security.TLS:
        return str(
            _(
                "Port %(port)s expects TLS from the first byte: choose TLS, or use port "
                "%(other)s for STARTTLS."
            )
            % {"port": port, "other": default_port(protocol, Security.STARTTLS)}
        )
    if port in _PLAIN_PORTS[protocol] and security == Security.TLS:
        return str(
            _("Port %(port)s starts unencrypted: choose STARTTLS, or use port %(other)s for TLS.")
            % {"port": port, "other": default_port(protocol, Security.TLS)}
        )
    return ""


def clean_host(value: str) -> str:
    """A server name or IP address as a connection needs it, or ValidationError in words."""
    host = value.strip().lower().rstrip(".")
    if "://" in host or "/" in host or "@" in host:
        raise forms.ValidationError(
            _("Enter only the server's name, such as imap.example.fr, without “imap://” or a path.")
        )
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    if ":" in host:
        raise forms.ValidationError(_("Enter the port in its own field, not after the name."))
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        ascii_host = ""
    labels = ascii_host.split(".")
    if not ascii_host or len(ascii_host) > 253 or not all(_LABEL_RE.match(x) for x in labels):
        raise forms.ValidationError(
            _("“%(host)s” is not a server name. It looks like imap.example.fr.") % {"host": value}
        )
    return ascii_host


def _password_widget() -> forms.PasswordInput:
    # "new-password" keeps browsers from filling in the admin's own Trupeo password.
    return forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"})


def _text_widget(placeholder: str = "") -> forms.TextInput:
    attrs = {"autocomplete": "off", "autocapitalize": "none", "spellcheck": "false"}
    if placeholder:
        attrs["placeholder"] = placeholder
    return forms.TextInput(attrs=attrs)


def _port_help(tls: int, plain: int) -> str:
    return gettext("Left empty: %(tls)s with TLS, %(plain)s otherwise.") % {
        "tls": tls,
        "plain": plain,
    }


_lazy_port_help = lazy(_port_help, str)


def _port_field(protocol: str) -> forms.IntegerField:
    ports = DEFAULT_PORTS[protocol]
    return forms.IntegerField(
        label=_("Port"),
        required=False,
        min_value=1,
        max_value=65535,
        error_messages={
            "invalid": _("A port is a number between 1 and 65535."),
            "min_value": _("A port is a number between 1 and 65535."),
            "max_value": _("A port is a number between 1 and 65535."),
        },
        help_text=_lazy_port_help(ports[Security.TLS], ports[Security.STARTTLS]),
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )


def _security_field() -> forms.ChoiceField:
    return forms.ChoiceField(
        label=_("Security"),
        choices=Security.choices,
        initial=Security.TLS,
        help_text=_("TLS encrypts from the first byte; STARTTLS upgrades a plain connection."),
    )


def _host_field(label: str, placeholder: str) -> forms.CharField:
    return forms.CharField(label=label, max_length=255, widget=_text_widget(placeholder))


def _username_field(help_text: str) -> forms.CharField:
    return forms.CharField(
        label=_("Username"),
        max_length=255,
        required=False,
        widget=_text_widget(),
        help_text=help_text,
    )


def _password_field(help_text: str = "") -> forms.CharField:
    # Not stripped: a password may begin or end with a space.
    return forms.CharField(
        label=_("Password"),
        max_length=1024,
        required=False,
        strip=False,
        widget=_password_widget(),
        help_text=help_text,
    )


class ImapMailboxForm(forms.Form):
    """Connect (or change) an IMAP + SMTP mailbox.

    Left empty, the IMAP username is the address, the SMTP username and password are the
    IMAP ones, and ports follow the security. When editing (`instance`), an empty password
    keeps the saved one (`stored_credentials`) — only while the server, port and username it
    was saved for stay the same: a saved password never leaves for another server.
    """

    address = forms.EmailField(
        label=_("Shared address"),
        help_text=_("The address your customers write to, such as contact@example.fr."),
        widget=forms.EmailInput(attrs={"autocomplete": "off", "placeholder": "contact@…"}),
    )
    name = forms.CharField(
        label=_("Display name"),
        max_length=120,
        required=False,
        help_text=_("Shown to your team and as the sender's name, such as “Scolarité”."),
    )

    imap_host = _host_field(_("IMAP server"), "imap.example.fr")
    imap_security = _security_field()
    imap_port = _port_field("imap")
    imap_username = _username_field(
        _("Usually the full address. Left empty, the shared address is used.")
    )
    imap_password = _password_field()

    smtp_host = _host_field(_("SMTP server"), "smtp.example.fr")
    smtp_security = _security_field()
    smtp_port = _port_field("smtp")
    smtp_username = _username_field(_("Left empty: the same as for IMAP."))
    smtp_password = _password_field(_("Left empty: the same as for IMAP."))

    save_anyway = forms.BooleanField(
        label=_("Save even if the connection test fails"),
        required=False,
        help_text=_("The mailbox is then shown as failing until the server answers."),
    )

    def __init__(
        self,
        *args,
        workspace: Workspace,
        instance: Mailbox | None = None,
        stored_credentials: dict | None = None,
        allow_private_hosts: bool | None = None,
        **kwargs,
    ) -> None:
        self.workspace = workspace
        self.instance = instance
        self.stored_credentials = stored_credentials or {}
        if allow_private_hosts is None:
            allow_private_hosts = private_hosts_allowed()
        self.allow_private_hosts = allow_private_hosts
        # Where the password used for each protocol may go (None: typed in this form).
        self.bound_to: dict[str, Binding | None] = {"imap": None, "smtp": None}
        if instance is not None:
            kwargs.setdefault(
                "initial",
                {
                    "address": instance.address,
                    "name": instance.name,
                    "imap_host": instance.imap_host,
                    "imap_security": instance.imap_security,
                    "imap_port": instance.imap_port,
                    "imap_username": instance.imap_username,
                    "smtp_host": instance.smtp_host,
                    "smtp_security": instance.smtp_security,
                    "smtp_port": instance.smtp_port,
                    "smtp_username": instance.smtp_username,
                },
            )
        super().__init__(*args, **kwargs)
        if instance is not None:
            # The address is the mailbox's identity: changing it is a new mailbox.
            self.fields["address"].disabled = True
            self.fields["address"].help_text = _("To use another address, connect a new mailbox.")
            keep = _(
                "Left empty: the saved password is kept, as long as the server, port and "
                "username stay the same."
            )
            self.fields["imap_password"].help_text = keep
            self.fields["smtp_password"].help_text = _(
                "Left empty: the saved password is kept (or follows the IMAP password if they "
                "were the same)."
            )
            self.fields["save_anyway"].help_text = _(
                "The new settings are then saved even though the server did not accept them."
            )

    # --- groups, for the template -------------------------------------------------------

    def identity_fields(self) -> list[forms.BoundField]:
        return [self["address"], self["name"]]

    def imap_fields(self) -> list[forms.BoundField]:
        return [self[f"imap_{n}"] for n in ("host", "security", "port", "username", "password")]

    def smtp_fields(self) -> list[forms.BoundField]:
        return [self[f"smtp_{n}"] for n in ("host", "security", "port", "username", "password")]

    # --- validation -----------------------------------------------------------------------

    def clean_address(self) -> str:
        address = self.cleaned_data["address"].strip().lower()
        taken = Mailbox.objects.filter(workspace=self.workspace, address=address)
        if self.instance is not None:
            taken = taken.exclude(pk=self.instance.pk)
        if taken.exists():
            raise forms.ValidationError(
                _("%(address)s is already connected in this workspace.") % {"address": address}
            )
        return address

    def clean_name(self) -> str:
        return self.cleaned_data["name"].strip()

    def clean_imap_host(self) -> str:
        return clean_host(self.cleaned_data["imap_host"])

    def clean_smtp_host(self) -> str:
        return clean_host(self.cleaned_data["smtp_host"])

    def clean_imap_username(self) -> str:
        return self.cleaned_data["imap_username"].strip()

    def clean_smtp_username(self) -> str:
        return self.cleaned_data["smtp_username"].strip()

    def clean(self) -> dict:
        data = super().clean()
        for protocol in ("imap", "smtp"):
            security = data.get(f"{protocol}_security")
            if security is None or f"{protocol}_port" not in data:
                continue
            port = data[f"{protocol}_port"] or default_port(protocol, security)
            data[f"{protocol}_port"] = port
            problem = port_security_problem(protocol, port, security)
            if problem:
                self.add_error(f"{protocol}_port", problem)
            host = data.get(f"{protocol}_host")
            if host:
                # Early, in words; every connection checks again on what it resolves then.
                problem = host_problem(
                    host, security=security, allow_private=self.allow_private_hosts
                )
                if problem:
                    self.add_error(f"{protocol}_host", problem)

        address = data.get("address", "")
        data["imap_username"] = data.get("imap_username") or address
        data["smtp_username"] = data.get("smtp_username") or data["imap_username"]

        typed_imap = data.get("imap_password", "")
        imap_password = typed_imap or self._saved_password("imap", data)
        if not imap_password and "imap_password" not in self.errors:
            self.add_error("imap_password", _("Enter the mailbox's password."))
        smtp_password = data.get("smtp_password", "")
        if not smtp_password:
            stored_imap = self.stored_credentials.get("imap_password", "")
            stored_smtp = self.stored_credentials.get("smtp_password", "")
            if typed_imap and (not stored_smtp or stored_smtp == stored_imap):
                smtp_password = typed_imap  # the same password as IMAP, typed again
            elif self.instance is not None:
                smtp_password = self._saved_password("smtp", data)
                if not smtp_password and "smtp_password" not in self.errors:
                    self.add_error("smtp_password", _("Enter the SMTP password."))
        data["imap_password"] = imap_password
        data["smtp_password"] = smtp_password
        return data

    def _destination(self, protocol: str, data: dict) -> Binding | None:
        try:
            return (
                data[f"{protocol}_host"],
                int(data[f"{protocol}_port"]),
                data[f"{protocol}_username"],
            )
        except (KeyError, TypeError, ValueError):
            return None  # a field is invalid: its own error says so

    def _saved_binding(self, protocol: str) -> Binding | None:
        bound = credentials_binding(self.stored_credentials, protocol)
        if bound is None and self.instance is not None:
            # Saved before passwords were bound: bound to the columns as saved.
            m = self.instance
            security = getattr(m, f"{protocol}_security")
            bound = (
                getattr(m, f"{protocol}_host"),
                getattr(m, f"{protocol}_port") or default_port(protocol, security),
                getattr(m, f"{protocol}_username"),
            )
        return bound

    def _saved_password(self, protocol: str, data: dict) -> str:
        """The saved password of `protocol` if this form may use it, else "" (with an error
        in words when the server, port or username it was saved for changed)."""
        password = self.stored_credentials.get(f"{protocol}_password", "")
        if not password:
            return ""
        bound = self._saved_binding(protocol)
        if bound is None or self._destination(protocol, data) != bound:
            self.add_error(f"{protocol}_password", endpoint_sentence(protocol.upper()))
            return ""
        self.bound_to[protocol] = bound
        return password

    # --- what the view and the command need (valid forms only) ------------------------------

    def imap_server(self) -> ServerSettings:
        return self._server("imap")

    def smtp_server(self) -> ServerSettings:
        return self._server("smtp")

    def _server(self, protocol: str) -> ServerSettings:
        d = self.cleaned_data
        return ServerSettings(
            host=d[f"{protocol}_host"],
            port=d[f"{protocol}_port"],
            security=d[f"{protocol}_security"],
            username=d[f"{protocol}_username"],
            password=d[f"{protocol}_password"],
            bound_to=self.bound_to[protocol],
        )

    def credentials(self) -> dict:
        """What is sealed: the passwords, and the (host, port, username) each is for."""
        return {
            "imap_password": self.cleaned_data["imap_password"],
            "smtp_password": self.cleaned_data["smtp_password"],
            "bound_to": {
                "imap": list(self.imap_server().destination),
                "smtp": list(self.smtp_server().destination),
            },
        }

    def server_fields(self) -> dict:
        """The clear (not secret) columns of the mailbox."""
        d = self.cleaned_data
        fields = (
            "imap_host",
            "imap_port",
            "imap_security",
            "imap_username",
            "smtp_host",
            "smtp_port",
            "smtp_security",
            "smtp_username",
        )
        return {name: d[name] for name in fields}


class MailboxSignatureForm(forms.Form):
    """The signature (legal footer) appended to mail sent from a shared address."""

    signature = forms.CharField(
        label=_("Signature"),
        required=False,
        max_length=4000,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_(
            "Added under every reply and new message sent from this address, after “-- ”. "
            "Left empty: no signature."
        ),
    )
