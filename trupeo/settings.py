"""Trupeo settings: one module, read from the environment.

Embedded defaults (SQLite, a file broker, a local data folder, mail on the console) make
`make run` work with no server; production sets the variables listed in `.env.example`.
"""

import os
import re
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

from trupeo.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is missing. Set it in the environment (see .env.example), "
            "or set DEBUG=True for a local trial."
        )
    SECRET_KEY = "insecure-local-only-key-never-used-when-DEBUG-is-off"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
# Without it, the address `make run` serves on (its PORT), so emailed links work locally.
SITE_URL = env_str("SITE_URL", f"http://127.0.0.1:{env_str('PORT', '8000')}").rstrip("/")

DATA_DIR = Path(env_str("TRUPEO_DATA_DIR") or BASE_DIR / "var").resolve()
# The embedded defaults (SQLite, file cache, file broker, local objects) all live here.
DATA_DIR.mkdir(parents=True, exist_ok=True)

# Master keys that wrap every workspace key: "id:base64key", newest first. The newest
# wraps new keys; every listed key can unwrap. Locally a fixed key keeps `make run` simple.
TRUPEO_MASTER_KEYS = env_str("TRUPEO_MASTER_KEYS")
if not TRUPEO_MASTER_KEYS:
    if not DEBUG:
        raise ImproperlyConfigured(
            "TRUPEO_MASTER_KEYS is missing. Generate one with `python -m trupeo.crypto` "
            "and set it in the environment."
        )
    TRUPEO_MASTER_KEYS = "dev1:ZGV2LW9ubHktbWFzdGVyLWtleS1ub3QtZm9yLXByb2Q="

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.google",
    "allauth.socialaccount.providers.microsoft",
    "accounts",
    "inbox",
    "billing",
    "contacts",
    "privacy",
    "webhooks",
    "api",
    # Django Ninja's static files: the API docs page's Swagger UI, served by us (no CDN).
    "ninja",
    "portal",
    "reports",
    "sla",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django.middleware.common.CommonMiddleware",
    "trupeo.request_guard.NulRefusingMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.language_middleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "accounts.middleware.staff_mfa_middleware",
    "accounts.middleware.workspace_middleware",
]

ROOT_URLCONF = "trupeo.urls"
WSGI_APPLICATION = "trupeo.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.workspace",
                "billing.context_processors.billing_banner",
                "privacy.context_processors.processor_terms_banner",
            ],
        },
    },
    {
        # The few partials repeated dozens of times a page (the lists' rows, a conversation's
        # messages) render ~5x faster in Jinja2; Django's templates include them with
        # `{% jinja %}` (accounts/templatetags/jinja.py). See ARCHITECTURE.md.
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "NAME": "jinja2",
        "DIRS": [BASE_DIR / "jinja2"],
        "APP_DIRS": False,
        "OPTIONS": {"environment": "trupeo.jinja.environment"},
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'trupeo.sqlite3'}",
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Parameters travel apart from the SQL, binary: sealed values are not hex-encoded into
    # huge query strings (ingestion measured 20 % faster).
    DATABASES["default"].setdefault("OPTIONS", {})["server_side_binding"] = True
    # Parallel query workers for our short queries cost more CPU to start than they save
    # (measured by bench/load.py on 2 cores: capacity +13 %); raise it for a database host
    # with cores to spare and long reports.
    DATABASES["default"]["OPTIONS"]["options"] = (
        f"-c max_parallel_workers_per_gather={env_int('DATABASE_PARALLEL_WORKERS', 0)}"
    )
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the worker write while the web server reads.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # A file, not memory: tests hand the database to real worker processes. One per test
    # run, so two runs side by side never share it.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / f"test-{os.getpid()}.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    # Nothing in the cache is the only copy: while Redis is down reads miss and pages still
    # serve (trupeo/cache.py). Short timeouts so an unreachable Redis costs little.
    CACHES = {
        "default": {
            "BACKEND": "trupeo.cache.ResilientRedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {
                "socket_connect_timeout": 0.5,
                "socket_timeout": 1.0,
                # Rate limits stay in force (per process) during an outage.
                "LOCAL_FALLBACK_PREFIXES": ["allauth:rl:", "ratelimit:"],
            },
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(DATA_DIR / "cache"),
        }
    }
# What each process keeps of a workspace's lists (accounts.workspace_lists): in its own
# memory, never expiring (keys carry the workspace's version), a few entries per workspace.
CACHES["per_process"] = {
    "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
    "LOCATION": "workspace-lists",
    "TIMEOUT": None,
    "OPTIONS": {"MAX_ENTRIES": 5000},
}

# Celery: Redis when present, otherwise a broker in files under the data folder, so
# `make run` starts a real worker and scheduler without any server.
CELERY_BROKER_URL = REDIS_URL or "filesystem://"
if not REDIS_URL:
    _broker_dir = str(DATA_DIR / "broker")
    (DATA_DIR / "broker").mkdir(exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": _broker_dir,
        "data_folder_out": _broker_dir,
        "processed_folder": _broker_dir,
        "store_processed": False,
        # Fanout and remote control (kombu's default: "control" in the current directory).
        "control_folder": str(DATA_DIR / "broker" / "control"),
    }
if REDIS_URL:
    # A broker outage must not hold a page for long: publishing gives up quickly, the failure
    # is logged (trupeo/queueing.py) and the durable row in the database is picked up again by
    # a periodic sweep once Redis is back.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_connect_timeout": 1, "socket_timeout": 5}
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")
CELERY_TIMEZONE = "Europe/Paris"
CELERY_BEAT_SCHEDULE = {
    # Polling fallback beside IMAP IDLE, and the retry loop of failing mailboxes (it backs off).
    "sync-mailboxes": {"task": "inbox.tasks.sync_all_mailboxes", "schedule": 60.0},
    # Webhook retries that are due, and deliveries whose task a broker outage lost.
    "webhook-deliveries": {"task": "webhooks.tasks.webhook_deliveries_sweep", "schedule": 60.0},
    "reply-clock-alerts": {"task": "sla.tasks.reply_clock_alerts", "schedule": 60.0},
    # Gmail watches (7 days) and Graph subscriptions (~3 days) renewed well before they end.
    "renew-push": {"task": "inbox.tasks.renew_push_subscriptions", "schedule": 3600.0},
    "recover-stuck-sends": {"task": "inbox.tasks.recover_stuck_sends", "schedule": 120.0},
    # Notification emails whose task was lost (a broker outage) are queued again.
    "requeue-notification-emails": {
        "task": "inbox.tasks.requeue_notification_emails",
        "schedule": 120.0,
    },
    # Privacy: GDPR deadlines, retention and the daily encrypted backup.
    "gdpr-reminders": {"task": "privacy.tasks.send_gdpr_reminders", "schedule": 3600.0},
    "breach-alerts": {"task": "privacy.tasks.send_breach_alerts", "schedule": 900.0},
    "purge-expired-exports": {"task": "privacy.tasks.purge_expired_exports", "schedule": 3600.0},
    "requeue-stale-exports": {"task": "privacy.tasks.requeue_stale_exports", "schedule": 300.0},
    "purge-security-log": {"task": "privacy.tasks.purge_security_log", "schedule": 86400.0},
    "backup-database": {"task": "privacy.tasks.backup_database", "schedule": 86400.0},
    # Each workspace's retention policy, once a night (one thin task per workspace).
    "retention-runs": {
        "task": "privacy.tasks.queue_retention_runs",
        "schedule": crontab(hour=3, minute=30),
    },
    # Expired backups' keys destroyed on their own schedule, whatever the day's backup did.
    "prune-backups": {"task": "privacy.tasks.prune_backups", "schedule": 3600.0},
    # Stored objects no row references (a worker killed mid-batch) are deleted once old.
    "sweep-orphans": {"task": "privacy.tasks.sweep_orphans", "schedule": 86400.0},
    # Trials and grace periods end on their own, without a Stripe event.
    "billing-access": {"task": "billing.tasks.access_refresh_all", "schedule": 900.0},
    "wake-snoozed": {"task": "inbox.tasks.wake_snoozed", "schedule": 30.0},
    # Requester portal: erasure requests followed (admins reminded, requester told), spent
    # sign-in links and ended sessions deleted.
    "portal-erasures": {"task": "portal.tasks.follow_erasures", "schedule": 3600.0},
    "portal-purge-signin": {"task": "portal.tasks.purge_signin_links", "schedule": 3600.0},
}

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"

# django-allauth: the email address is the login, and it must be verified.
ACCOUNT_ADAPTER = "accounts.adapters.AccountAdapter"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_SIGNUP_FORM_CLASS = "accounts.forms.SignupExtraForm"
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Trupeo] "
ACCOUNT_RATE_LIMITS = {
    "login": "30/m/ip",
    "login_failed": "10/m/ip,5/5m/key",
    "signup": "10/m/ip",
    "reset_password": "10/m/ip,3/m/key",
}
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if not DEBUG else "http"
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Trupeo"

# "Continuer avec Google / Microsoft" appears only when its client is configured.
GOOGLE_CLIENT_ID = env_str("GOOGLE_CLIENT_ID")
GOOGLE_CLIENT_SECRET = env_str("GOOGLE_CLIENT_SECRET")
MICROSOFT_CLIENT_ID = env_str("MICROSOFT_CLIENT_ID")
MICROSOFT_CLIENT_SECRET = env_str("MICROSOFT_CLIENT_SECRET")
MICROSOFT_TENANT = env_str("MICROSOFT_TENANT", "common")
SOCIALACCOUNT_ADAPTER = "accounts.adapters.SocialAccountAdapter"
SOCIALACCOUNT_EMAIL_AUTHENTICATION = True
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = True
SOCIALACCOUNT_PROVIDERS: dict[str, dict] = {}
if GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET:
    SOCIALACCOUNT_PROVIDERS["google"] = {
        "APPS": [{"client_id": GOOGLE_CLIENT_ID, "secret": GOOGLE_CLIENT_SECRET}],
        "SCOPE": ["openid", "email", "profile"],
    }
if MICROSOFT_CLIENT_ID and MICROSOFT_CLIENT_SECRET:
    SOCIALACCOUNT_PROVIDERS["microsoft"] = {
        "APPS": [
            {
                "client_id": MICROSOFT_CLIENT_ID,
                "secret": MICROSOFT_CLIENT_SECRET,
                "settings": {"tenant": MICROSOFT_TENANT},
            }
        ],
    }
# Endpoints, configurable so tests and sovereign deployments can point them elsewhere.
GOOGLE_AUTH_URL = env_str("GOOGLE_AUTH_URL", "https://accounts.google.com/o/oauth2/v2/auth")
GOOGLE_TOKEN_URL = env_str("GOOGLE_TOKEN_URL", "https://oauth2.googleapis.com/token")
GOOGLE_REVOKE_URL = env_str("GOOGLE_REVOKE_URL", "https://oauth2.googleapis.com/revoke")
GMAIL_API_BASE_URL = env_str("GMAIL_API_BASE_URL", "https://gmail.googleapis.com")
MICROSOFT_LOGIN_BASE_URL = env_str("MICROSOFT_LOGIN_BASE_URL", "https://login.microsoftonline.com")
MICROSOFT_GRAPH_BASE_URL = env_str("MICROSOFT_GRAPH_BASE_URL", "https://graph.microsoft.com")

# Push: new mail in seconds (inbox/mail/push/). Off while its settings are empty; polling
# carries on either way. Gmail: `users.watch` publishes to this Pub/Sub topic, whose push
# subscription posts to SITE_URL/hooks/gmail/ with an OIDC token for this audience, signed for
# this service account.
GMAIL_PUBSUB_TOPIC = env_str("GMAIL_PUBSUB_TOPIC")  # projects/<project>/topics/<topic>
GMAIL_PUSH_AUDIENCE = env_str("GMAIL_PUSH_AUDIENCE") or f"{SITE_URL}/hooks/gmail/"
GMAIL_PUSH_SERVICE_ACCOUNT = env_str("GMAIL_PUSH_SERVICE_ACCOUNT")
GOOGLE_CERTS_URL = env_str("GOOGLE_CERTS_URL", "https://www.googleapis.com/oauth2/v1/certs")
# Graph posts change notifications here (public HTTPS); empty: no Graph subscriptions.
GRAPH_NOTIFICATION_URL = env_str("GRAPH_NOTIFICATION_URL")
# The IDLE watcher's lease on each mailbox (inbox/mail/watcher.py): renewed every third of it.
TRUPEO_IDLE_LEASE_SECONDS = env_int("TRUPEO_IDLE_LEASE_SECONDS", 45)
TRUPEO_IDLE_MAX_MAILBOXES = env_int("TRUPEO_IDLE_MAX_MAILBOXES", 5000)  # per watcher process
# The polling fallback's interval (at least): 60 s by default; a deployment of tens of
# thousands of mailboxes, where IDLE and push bring new mail, polls less often.
TRUPEO_POLL_SECONDS = env_int("TRUPEO_POLL_SECONDS", 60)

# Languages: French first; English selectable and stored on the user.
LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", _("French")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
LANGUAGE_COOKIE_NAME = "trupeo_language"
USE_I18N = True
TIME_ZONE = "Europe/Paris"
USE_TZ = True

# A form's fields (files apart) may total this much: the composer's pasted screenshots travel
# inside its HTML field as data: URLs until the server turns them into parts (Django's 2.5 MB
# default refused a single large screenshot).
DATA_UPLOAD_MAX_MEMORY_SIZE = 12 * 1024 * 1024

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [
    BASE_DIR / "static",
    # Front-end libraries come from npm at install time; never copied into the repo.
    ("vendor/htmx", BASE_DIR / "node_modules" / "htmx.org" / "dist"),
    # The composer's rich-text editor (Quill 2, its UMD build: no bundler).
    ("vendor/quill", BASE_DIR / "node_modules" / "quill" / "dist"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
MEDIA_ROOT = DATA_DIR / "media"

# Object storage for sealed raw mail and attachments: R2 when configured, else a folder.
R2_BUCKET = env_str("R2_BUCKET")
R2_ENDPOINT_URL = env_str("R2_ENDPOINT_URL")
R2_ACCESS_KEY_ID = env_str("R2_ACCESS_KEY_ID")
R2_SECRET_ACCESS_KEY = env_str("R2_SECRET_ACCESS_KEY")
R2_REGION = env_str("R2_REGION", "auto")

# A private CA to trust for customers' IMAP/SMTP servers (certificates are always verified).
TRUPEO_EXTRA_CA_FILE = env_str("TRUPEO_EXTRA_CA_FILE")
# Mail servers on private or loopback addresses: refused on a hosted instance (no probing of
# its own network), allowed locally and in tests.
TRUPEO_MAIL_ALLOW_PRIVATE_HOSTS = env_bool("TRUPEO_MAIL_ALLOW_PRIVATE_HOSTS", DEBUG)

# Transactional mail: Resend when a key is set. The console (which would print password-reset
# and invitation links into the logs) only with DEBUG on; tests keep mail in memory.
RESEND_API_KEY = env_str("RESEND_API_KEY")
TRUPEO_MAIL_TO_MEMORY = env_bool("TRUPEO_MAIL_TO_MEMORY", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Trupeo <noreply@trupeo.localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
if RESEND_API_KEY:
    _mailer = {
        "BACKEND": "anymail.backends.resend.EmailBackend",
        "OPTIONS": {"api_key": RESEND_API_KEY},
    }
elif TRUPEO_MAIL_TO_MEMORY:
    _mailer = {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}
elif DEBUG:
    # Printed readable (decoded headers, text in clear), not as quoted-printable MIME.
    _mailer = {"BACKEND": "trupeo.mail_console.EmailBackend"}
else:
    raise ImproperlyConfigured(
        "No transactional mail: set RESEND_API_KEY (see .env.example). Without it, mail is "
        "printed on the console, password-reset and invitation links included, which only "
        "DEBUG=True (a local trial) allows."
    )
MAILERS = {"default": _mailer}

# Billing, consent and anti-abuse keys (their features switch off cleanly when unset).
STRIPE_SECRET_KEY = env_str("STRIPE_SECRET_KEY")
STRIPE_PUBLISHABLE_KEY = env_str("STRIPE_PUBLISHABLE_KEY")
STRIPE_WEBHOOK_SECRET = env_str("STRIPE_WEBHOOK_SECRET")
STRIPE_API_BASE = env_str("STRIPE_API_BASE")
# Plans: one Stripe price per seat, billed monthly or yearly. The amounts (cents, excluding
# VAT) are only displayed; Stripe charges what its prices say.
STRIPE_PRICE_MONTHLY = env_str("STRIPE_PRICE_MONTHLY")
STRIPE_PRICE_YEARLY = env_str("STRIPE_PRICE_YEARLY")
BILLING_SEAT_PRICE_MONTHLY_CENTS = env_int("BILLING_SEAT_PRICE_MONTHLY_CENTS", 900)
BILLING_SEAT_PRICE_YEARLY_CENTS = env_int("BILLING_SEAT_PRICE_YEARLY_CENTS", 9000)
BILLING_TRIAL_DAYS = env_int("BILLING_TRIAL_DAYS", 14)
# French VAT computed by Stripe Tax (needs it activated on the Stripe account).
STRIPE_AUTOMATIC_TAX = env_bool("STRIPE_AUTOMATIC_TAX", True)
# After a failed payment, days of full use before the workspace becomes read-only.
BILLING_GRACE_DAYS = env_int("BILLING_GRACE_DAYS", 7)
TURNSTILE_SITE_KEY = env_str("TURNSTILE_SITE_KEY")
TURNSTILE_SECRET_KEY = env_str("TURNSTILE_SECRET_KEY")
TURNSTILE_VERIFY_URL = env_str(
    "TURNSTILE_VERIFY_URL", "https://challenges.cloudflare.com/turnstile/v0/siteverify"
)
GTM_ID = env_str("GTM_ID")
CLARITY_ID = env_str("CLARITY_ID")
# They end up in script URLs: a typo is an error at start-up, not a broken tag.
if GTM_ID and not re.fullmatch(r"GTM-[A-Z0-9]{4,12}", GTM_ID):
    raise ImproperlyConfigured(f"GTM_ID must look like GTM-XXXXXXX, not {GTM_ID!r}.")
if CLARITY_ID and not re.fullmatch(r"[a-z0-9]{6,16}", CLARITY_ID):
    raise ImproperlyConfigured(f"CLARITY_ID must be Clarity's project id, not {CLARITY_ID!r}.")
TRUPEO_CONSENT_STRICT = env_bool("TRUPEO_CONSENT_STRICT", False)
# The consent banner asks again when its version changes or its answer is older than this
# (13 months at most, CNIL; 390 days is also GA4's cookie lifetime here).
TRUPEO_CONSENT_VERSION = env_str("TRUPEO_CONSENT_VERSION", "1")
TRUPEO_CONSENT_LIFETIME_DAYS = env_int("TRUPEO_CONSENT_LIFETIME_DAYS", 390)
if not 1 <= TRUPEO_CONSENT_LIFETIME_DAYS <= 390:
    raise ImproperlyConfigured(
        "TRUPEO_CONSENT_LIFETIME_DAYS must be between 1 and 390 (13 months)."
    )

INVITATION_MAX_AGE_DAYS = 7

# REST API (api/): requests allowed per token in each window of seconds (api.auth).
API_RATE_LIMIT = env_int("API_RATE_LIMIT", 600)
API_RATE_WINDOW = env_int("API_RATE_WINDOW", 60)

# Privacy: sign-in logs (IP address, browser) are kept this many days (a year: the LCEN
# retention of connection data), encrypted backups 30 days (the policy's promise), and the
# version of the data-processing terms a new workspace's owner accepts.
TRUPEO_SECURITY_LOG_DAYS = env_int("TRUPEO_SECURITY_LOG_DAYS", 365)
TRUPEO_BACKUP_DAYS = env_int("TRUPEO_BACKUP_DAYS", 30)
TRUPEO_ORPHAN_MARGIN_HOURS = env_int("TRUPEO_ORPHAN_MARGIN_HOURS", 48)
TRUPEO_DPA_VERSION = env_str("TRUPEO_DPA_VERSION", "2026-04-25")
# Who hears of GDPR requests, their deadlines and the breach register's 72-hour clock: every
# active staff account with an address, plus these (a shared DPO mailbox, comma-separated).
TRUPEO_STAFF_EMAILS = env_list("TRUPEO_STAFF_EMAILS")

# Security. Behind a TLS-terminating proxy that sets X-Forwarded-Proto.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz/$"]
# Sessions live in the database, never in the cache: a Redis outage must not sign anyone out.
SESSION_ENGINE = "trupeo.sessions"
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# HSTS preload is a one-way commitment each deployer takes for itself; not a default.
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Covering indexes (INCLUDE) serve the reports on PostgreSQL; SQLite ignores the extra
    # columns, which is fine for a local trial.
    SILENCED_SYSTEM_CHECKS.append("models.W040")

# Content security policy with nonces; our templates carry no inline script or style.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.NONCE],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "frame-src": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    # Social sign-in posts to us, then redirects to the identity provider.
    "form-action": [
        CSP.SELF,
        *([GOOGLE_AUTH_URL] if GOOGLE_CLIENT_ID else []),
        *([MICROSOFT_LOGIN_BASE_URL] if MICROSOFT_CLIENT_ID else []),
    ],
    "base-uri": [CSP.NONE],
    "object-src": [CSP.NONE],
}

# The debug page and error emails mask passwords inside URLs (REDIS_URL, DATABASE_URL…) too.
DEFAULT_EXCEPTION_REPORTER_FILTER = "trupeo.error_reports.UrlPasswordFilter"
DEFAULT_EXCEPTION_REPORTER = "trupeo.error_reports.UrlPasswordReporter"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    # "Not Found: /invitations/<token>/": the token of a link never reaches the logs.
    "filters": {"link_secrets": {"()": "trupeo.error_reports.LinkSecretFilter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["link_secrets"],
        }
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # At DEBUG, IMAPClient logs the commands it sends and receives: message content.
        "imapclient": {"level": "WARNING"},
    },
}
