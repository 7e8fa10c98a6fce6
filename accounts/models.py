"""Users, workspaces (tenants), memberships and invitations."""

from datetime import timedelta
from functools import cache

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from trupeo.model_rows import ModelRows


def _fits_bigint(pk: int) -> bool:
    return -(2**63) <= pk < 2**63


@cache
def _user_by_pk(using: str) -> tuple[ModelRows, str]:
    rows = ModelRows(User, "u", using)
    pk = rows.column("pk")
    return rows, f"SELECT {rows.columns} FROM {rows.table} WHERE {pk} = %s"  # noqa: S608


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def get(self, *args, **kwargs) -> "User":
        """`User.objects.get(pk=<int>)`, how Django's auth loads the signed-in user on every
        request, read with SQL written once per process (trupeo.model_rows); any other
        lookup is the ORM's."""
        pk = kwargs.get("pk", kwargs.get("id"))
        plain = type(self) is UserManager and self.model is User and not self._hints
        # Not on a relation's manager (`rule.agents`: its filter would be skipped), a
        # migration's historical model, or an id beyond 64 bits (the ORM says DoesNotExist;
        # SQLite would raise OverflowError).
        if not plain or args or len(kwargs) != 1 or type(pk) is not int or not _fits_bigint(pk):
            return super().get(*args, **kwargs)
        rows, sql = _user_by_pk(self.db)
        found = rows.fetch(sql, [pk])
        if not found:
            raise self.model.DoesNotExist(
                f"{self.model._meta.object_name} matching query does not exist."
            )
        return rows.instance(found[0])

    def create_user(self, email: str, password: str | None = None, **fields) -> "User":
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields) -> "User":
        fields.update(is_staff=True, is_superuser=True)
        return self.create_user(email, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    email = models.EmailField(_("email address"), unique=True)
    name = models.CharField(_("name"), max_length=150, blank=True)
    language = models.CharField(
        _("language"), max_length=8, choices=settings.LANGUAGES, default=settings.LANGUAGE_CODE
    )
    last_workspace = models.ForeignKey(
        "Workspace",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("Last workspace"),
    )
    is_active = models.BooleanField(_("active"), default=True)
    is_staff = models.BooleanField(_("staff"), default=False)
    date_joined = models.DateTimeField(_("joined"), default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.email

    @property
    def display_name(self) -> str:
        return self.name or self.email.split("@")[0]

    @property
    def initials(self) -> str:
        parts = self.display_name.replace(".", " ").split()
        return "".join(p[0] for p in parts[:2]).upper() or "?"


# What an owner may raise the recipients of one message to (providers refuse more anyway).
MAX_RECIPIENTS_CEILING = 1000
MAX_UNDO_SECONDS = 60  # longer windows hold replies back more than they help


class Workspace(models.Model):
    name = models.CharField(_("name"), max_length=120)
    slug = models.SlugField(_("slug"), max_length=60, unique=True)
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("Created at"))
    # The workspace's own 32-byte key, wrapped by a master key (see trupeo.crypto).
    # Destroying it first makes every sealed value of the workspace unreadable.
    wrapped_key = models.BinaryField(editable=False, null=True, verbose_name=_("Wrapped key"))
    # Set by billing when the trial ended unpaid or the subscription lapsed: reading and
    # exporting still work, sending and syncing pause, nothing is deleted.
    read_only_since = models.DateTimeField(_("read-only since"), null=True, blank=True)
    # Moves whenever a member, tag or mailbox changes (see accounts.workspace_lists): each process
    # keeps those lists and reads them again only when this number moved.
    directory_version = models.PositiveBigIntegerField(
        default=0, editable=False, verbose_name=_("Directory version")
    )
    # How many addresses (To + Cc + Bcc) one message may have; only the owner changes it.
    max_recipients = models.PositiveIntegerField(
        _("Most recipients per message"),
        default=100,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_RECIPIENTS_CEILING)],
    )
    # How long a sent message waits before leaving, so that "Undo" can bring it back; 0: none.
    undo_send_seconds = models.PositiveSmallIntegerField(
        _("seconds to undo a send"),
        default=10,
        validators=[MaxValueValidator(MAX_UNDO_SECONDS)],
    )

    class Meta:
        verbose_name = _("workspace")
        verbose_name_plural = _("workspaces")

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        # `directory_version` moves only by `accounts.workspace_lists.bump` (an increment in the
        # database): saving an instance loaded earlier must not put an older number back.
        if not (self._state.adding or self.pk is None) and kwargs.get("update_fields") is None:
            kwargs["update_fields"] = [
                f.name
                for f in self._meta.concrete_fields
                if not f.primary_key and f.name != "directory_version"
            ]
        super().save(*args, **kwargs)

    @property
    def is_read_only(self) -> bool:
        return self.read_only_since is not None


class Role(models.TextChoices):
    OWNER = "owner", _("Owner")
    ADMIN = "admin", _("Admin")
    AGENT = "agent", _("Agent")


class Membership(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=10, choices=Role.choices, default=Role.AGENT)
    joined_at = models.DateTimeField(auto_now_add=True)
    # Away (holidays, sick leave): round-robin rules skip them.
    is_away = models.BooleanField(_("away"), default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "user"], name="membership_unique"),
            models.UniqueConstraint(
                fields=["workspace"],
                condition=models.Q(role="owner"),
                name="one_owner_per_workspace",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.workspace} ({self.role})"

    @property
    def is_admin(self) -> bool:
        return self.role in (Role.OWNER, Role.ADMIN)

    @property
    def is_owner(self) -> bool:
        return self.role == Role.OWNER


class Invitation(models.Model):
    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="invitations", verbose_name=_("Workspace")
    )
    email = models.EmailField(_("email address"))
    role = models.CharField(_("role"), max_length=10, choices=Role.choices, default=Role.AGENT)
    invited_by = models.ForeignKey(
        User, null=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("Invited by")
    )
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("Created at"))
    accepted_at = models.DateTimeField(null=True, blank=True, verbose_name=_("Accepted at"))
    accepted_by = models.ForeignKey(
        User,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("Accepted by"),
    )
    revoked_at = models.DateTimeField(null=True, blank=True, verbose_name=_("Revoked at"))

    class Meta:
        indexes = [models.Index(fields=["workspace", "email"])]

    def __str__(self) -> str:
        return f"{self.email} → {self.workspace}"

    @property
    def expires_at(self):
        return self.created_at + timedelta(days=settings.INVITATION_MAX_AGE_DAYS)

    @property
    def is_pending(self) -> bool:
        return (
            self.accepted_at is None
            and self.revoked_at is None
            and timezone.now() < self.expires_at
        )
