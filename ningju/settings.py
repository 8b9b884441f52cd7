"""Ningju's one settings module, driven by the environment.

A local run (the default) works with no configuration at all: SQLite in WAL mode under `var/`, a secret key and a
field-encryption key generated once and kept under `var/`, the embedded task queue. With `NINGJU_ENV=production`
nothing is generated: the secrets must come from the environment, or the process refuses to start.
"""

import os
import secrets
import sys
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import dj_database_url
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
PACKAGE_DIR = Path(__file__).resolve().parent


def env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def env_bool(name: str, default: bool = False) -> bool:
    value = env(name)
    if value is None:
        return default
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), not {value!r}")


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in (env(name, default) or "").split(",") if item.strip()]


NINGJU_ENV = env("NINGJU_ENV", "local")
if NINGJU_ENV not in ("local", "production"):
    raise ImproperlyConfigured(f"NINGJU_ENV must be 'local' or 'production', not {NINGJU_ENV!r}")
PRODUCTION = NINGJU_ENV == "production"
# pytest imports this module with pytest already loaded; tests run background tasks inline.
TESTING = "pytest" in sys.modules

VAR_DIR = Path(env("NINGJU_VAR_DIR", str(BASE_DIR / "var")) or "")
VAR_DIR.mkdir(parents=True, exist_ok=True)


def local_secret(name: str, make: "type[object] | None" = None) -> str:
    """Return a secret from the environment, or (local runs only) from a file under var/, made once."""
    value = env(name)
    if value:
        return value
    if PRODUCTION:
        raise ImproperlyConfigured(
            f"{name} must be set in the environment when NINGJU_ENV=production; refusing to start without it."
        )
    path = VAR_DIR / name.lower()
    if not path.exists():
        fresh = Fernet.generate_key().decode() if name == "NINGJU_FIELD_KEY" else secrets.token_urlsafe(50)
        path.write_text(fresh)
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = local_secret("NINGJU_SECRET_KEY")
# A var/ made before NINGJU_LOOKUP_KEY existed holds a field key but no look-up key: its hashes were made with the
# HKDF derivation of the first field key, so that derivation is what gets written (once) below.
# (A field key given in the environment may likewise belong to an existing database.)
_LEGACY_VAR = not PRODUCTION and (bool(env("NINGJU_FIELD_KEY")) or (VAR_DIR / "ningju_field_key").exists())
# Comma-separated Fernet keys: the first encrypts, all decrypt (`ningju rotate-keys`).
NINGJU_FIELD_KEYS = [key.strip() for key in local_secret("NINGJU_FIELD_KEY").split(",") if key.strip()]
# The keyed hash behind search by ID/phone and the duplicate-person check: its own key, stable across field-key
# rotations (URL-safe base64 of 32 bytes). See README "Keys" for the value an existing production database needs.
if not PRODUCTION and not env("NINGJU_LOOKUP_KEY") and not (VAR_DIR / "ningju_lookup_key").exists():
    from ningju.core.crypto import legacy_lookup_key, new_lookup_key

    _lookup_path = VAR_DIR / "ningju_lookup_key"
    _lookup_path.write_text(legacy_lookup_key(NINGJU_FIELD_KEYS[0]) if _LEGACY_VAR else new_lookup_key())
    _lookup_path.chmod(0o600)
NINGJU_LOOKUP_KEY = local_secret("NINGJU_LOOKUP_KEY")

DEBUG = env_bool("NINGJU_DEBUG", default=False)
ALLOWED_HOSTS = env_list("NINGJU_ALLOWED_HOSTS", "" if PRODUCTION else "127.0.0.1,localhost,[::1]")
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("NINGJU_ALLOWED_HOSTS must be set when NINGJU_ENV=production.")
CSRF_TRUSTED_ORIGINS = env_list("NINGJU_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "knox",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "template_partials",
    "simple_history",
    "axes",
    "huey.contrib.djhuey",
    # Second factor: TOTP authenticators and one-time recovery codes (ningju/core/mfa.py).
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "ningju.core",
    "ningju.registry",
    "ningju.visits",
    "ningju.demands",
    "ningju.insights",
    "ningju.meetings",
    "ningju.api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Permissions-Policy on every response, static files included (Django has no setting for it).
    "ningju.core.middleware.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.user.is_verified(): the session passed the second factor (django_otp.login).
    "django_otp.middleware.OTPMiddleware",
    # Until the session passed the second factor, those who need one see only the verify/enrolment pages.
    "ningju.core.mfa_middleware.MFAMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # After an administrator's password reset: only the password change page until the user has changed it.
    "ningju.core.middleware.PasswordChangeRequiredMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Content-Security-Policy on every response (the policy is CONTENT_SECURITY_POLICY below).
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # AxesMiddleware last: it turns a lockout raised by the backend into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "ningju.urls"
WSGI_APPLICATION = "ningju.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "ningju.core.context_processors.ningju",
            ],
        },
    }
]

# --- database -------------------------------------------------------------------------------------------
DATABASE_URL = env("DATABASE_URL", f"sqlite:///{VAR_DIR / 'ningju.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL or "", conn_max_age=60, conn_health_checks=True)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets the web workers read while the task worker writes; IMMEDIATE avoids lock upgrades
        # that would fail with "database is locked" under concurrent writes.
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=10000;",
        "transaction_mode": "IMMEDIATE",
    }
    if TESTING:
        # A file, not SQLite's in-memory default: the browser tests' gunicorn (another process) reads the same test
        # database. One file per pytest process, so that two test runs in one checkout never share one.
        DATABASES["default"]["TEST"] = {
            "NAME": str(Path(tempfile.gettempdir()) / f"ningju-test-{os.getpid()}.sqlite3")
        }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- cache and background tasks ---------------------------------------------------------------------------
REDIS_URL = env("REDIS_URL")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
elif TESTING:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
else:
    # A local run has several processes (gunicorn workers, the task worker): a file cache under var/ is shared by all,
    # so dashboards the task worker computes after each refresh are ready for the web workers.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache" / "django"),
        }
    }

# One task mechanism for everything long or periodic: huey, embedded (SQLite file) by default, Redis when set.
HUEY: dict[str, object] = {
    "name": "ningju",
    "immediate": TESTING or env_bool("NINGJU_TASKS_IMMEDIATE"),
    "consumer": {"workers": 2, "worker_type": "thread"},
}
if REDIS_URL:
    HUEY.update({"huey_class": "huey.RedisHuey", "url": REDIS_URL})
else:
    HUEY.update({"huey_class": "huey.SqliteHuey", "filename": str(VAR_DIR / "tasks.sqlite3")})

# --- authentication ---------------------------------------------------------------------------------------
AUTH_USER_MODEL = "core.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    # Django's own length rule, with a message Django's Chinese catalogue lacks (see the class).
    {"NAME": "ningju.core.passwords.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Argon2id for every new or changed password; PBKDF2 second, so that passwords set before Argon2 still verify and
# are re-hashed with Argon2 at the next sign-in. MD5 is accepted nowhere (tests included).
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
if TESTING and not env_bool("NINGJU_TEST_FULL_ARGON2"):
    # The same algorithm at its smallest cost: factories hash a password for every user they make.
    PASSWORD_HASHERS.insert(0, "ningju.core.passwords.TestArgon2PasswordHasher")
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# Inactivity timeout: every request pushes the expiry forward; idle for this long and the session ends.
SESSION_COOKIE_AGE = int(env("NINGJU_SESSION_IDLE_SECONDS", "1800") or 1800)
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

AXES_FAILURE_LIMIT = int(env("NINGJU_LOGIN_FAILURE_LIMIT", "5") or 5)
AXES_COOLOFF_TIME = timedelta(minutes=15)
# Lock an account from one source: failures count per (username, address) pair. A residents' committee office
# puts a dozen cadres behind one NAT address, so one person's typos must not lock out the whole office; and a
# stranger guessing elsewhere must not lock the administrator out of their own office. A street administrator
# unlocks an account of their street at /accounts/locked/.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False

# Export files can hold clear ID numbers: they are deleted this long after the job finished (the audit row stays).
NINGJU_JOB_OUTPUT_RETENTION_HOURS = int(env("NINGJU_JOB_OUTPUT_RETENTION_HOURS", "24") or 24)

# Audit rows are kept at least 6 months (Cybersecurity Law art. 21); older ones are purged by a daily task.
NINGJU_AUDIT_KEEP_DAYS = int(env("NINGJU_AUDIT_KEEP_DAYS", "365") or 365)
if NINGJU_AUDIT_KEEP_DAYS < 180:
    raise ImproperlyConfigured("NINGJU_AUDIT_KEEP_DAYS must be at least 180 (Cybersecurity Law art. 21).")
# A daily backup (`ningju backup`) into this folder when set, keeping this many days of backups.
NINGJU_BACKUP_DIR = env("NINGJU_BACKUP_DIR", "") or ""
NINGJU_BACKUP_KEEP_DAYS = int(env("NINGJU_BACKUP_KEEP_DAYS", "14") or 14)

# Map tiles for route maps: osm (OpenStreetMap, WGS-84), amap (高德, GCJ-02: points are converted for display),
# tianditu (天地图, needs NINGJU_TIANDITU_KEY), none (plain background: stops and path only).
NINGJU_MAP_TILES = env("NINGJU_MAP_TILES", "osm") or "osm"
if NINGJU_MAP_TILES not in ("osm", "amap", "tianditu", "none"):
    raise ImproperlyConfigured("NINGJU_MAP_TILES must be one of osm, amap, tianditu, none")
NINGJU_TIANDITU_KEY = env("NINGJU_TIANDITU_KEY", "") or ""
if NINGJU_MAP_TILES == "tianditu" and not NINGJU_TIANDITU_KEY:
    raise ImproperlyConfigured("NINGJU_TIANDITU_KEY must be set when NINGJU_MAP_TILES=tianditu")

# --- Content-Security-Policy (django-csp) ------------------------------------------------------------------
# Scripts only from our own origin: no inline script elements, no on*= handler attributes, no eval. A name imported as
# `<img src=x onerror=...>` that slipped past escaping still cannot run. JSON data for scripts travels in
# `json_script` blocks (type application/json is data, not script). The API docs relax this on their own views
# (ningju/api/urls.py).
MAP_TILE_HOSTS = {
    "osm": ["https://tile.openstreetmap.org"],
    "amap": ["https://*.is.autonavi.com"],
    "tianditu": ["https://*.tianditu.gov.cn"],
    "none": [],
}
CONTENT_SECURITY_POLICY: dict[str, Any] = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        # <style> elements and stylesheets only from our origin. style="" attributes stay allowed: templates
        # colour swatches and notice levels with them, and Leaflet and ECharts' tooltips write them into the DOM;
        # a style attribute cannot run script.
        "style-src": ["'self'"],
        "style-src-attr": ["'unsafe-inline'"],
        "img-src": ["'self'", "data:", *MAP_TILE_HOSTS[NINGJU_MAP_TILES]],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        # The visit service worker (/visits/sw.js).
        "worker-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# Roles that may reveal one resident's ID or phone number (each reveal is logged with its reason).
NINGJU_REVEAL_ROLES = env_list("NINGJU_REVEAL_ROLES", "street_admin,area_head,cadre")
# Roles that must sign in with a second factor (TOTP or a recovery code); superusers always must.
NINGJU_MFA_ROLES = env_list("NINGJU_MFA_ROLES", "street_admin")

# --- API --------------------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    # Token first: an anonymous API client then gets 401 with `WWW-Authenticate: Token`, not a bare 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "ningju.api.tokens.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "ningju.api.pagination.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "ningju.api.errors.exception_handler",
    "DEFAULT_THROTTLE_RATES": {"token": "20/min"},
}
# API tokens (django-rest-knox): one per device, stored hashed, valid NINGJU_TOKEN_DAYS after their last use
# (sliding: each use moves the expiry on), revoked on DELETE /api/v1/auth/token/ and when the user's password,
# role or scope changes or the account is deactivated (ningju/api/tokens.py).
KNOX_TOKEN_MODEL = "api.DeviceToken"
# knox's own migrations create its token table even when the model is swapped for ours (their CreateModel predates
# the swappable option); that unused table then references core_user and blocks PostgreSQL's TRUNCATE on flush.
# With no migrations for knox, its swapped-out model has no table at all.
MIGRATION_MODULES = {"knox": None}
NINGJU_TOKEN_DAYS = int(os.environ.get("NINGJU_TOKEN_DAYS", "30"))
REST_KNOX = {
    "TOKEN_TTL": timedelta(days=NINGJU_TOKEN_DAYS),
    "AUTO_REFRESH": True,
    "AUTH_HEADER_PREFIX": "Token",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "宁聚 Ningju API",
    "DESCRIPTION": "The registry (数据底座) of 宁聚·四百, scoped and masked exactly like the pages.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # "kind"/"status" name several choice sets (demands, meetings, events): name each one explicitly.
    "ENUM_NAME_OVERRIDES": {
        "KindEnum": "ningju.demands.models.Kind",
        "MeetingKindEnum": "ningju.meetings.models.MeetingKind",
        "MeetingStatusEnum": "ningju.meetings.models.MeetingStatus",
        "ActionStatusEnum": "ningju.meetings.models.ActionStatus",
        "EventKindEnum": "ningju.meetings.models.EventKind",
    },
    # Every operation's error answers, each the one ErrorOutput body (ningju/api/errors.py).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "ningju.api.errors.add_error_responses",
    ],
}

# --- language and time ------------------------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
# Chinese date inputs render ISO dates (Django's zh_Hans renders "2026/01/01", which <input type=date> rejects).
FORMAT_MODULE_PATH = ["ningju.formats"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- files ------------------------------------------------------------------------------------------------
STATIC_URL = "static/"
# Where collectstatic puts the files whitenoise serves (the browser tests collect into a folder of their own).
STATIC_ROOT = Path(env("NINGJU_STATIC_ROOT", str(BASE_DIR / "staticfiles")) or "")
STATICFILES_DIRS = [
    PACKAGE_DIR / "static",
    # Third-party front-end code comes from npm (package.json + package-lock.json), never pasted in.
    ("vendor/htmx", BASE_DIR / "node_modules" / "htmx.org" / "dist"),
    ("vendor/leaflet", BASE_DIR / "node_modules" / "leaflet" / "dist"),
    ("vendor/echarts", BASE_DIR / "node_modules" / "echarts" / "dist"),
]
MEDIA_ROOT = VAR_DIR / "media"
MEDIA_URL = "media/"
STORAGES: dict[str, dict[str, Any]] = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if TESTING
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
# Photos and files of demands: on local disk under var/media by default; on S3-compatible object storage (MinIO,
# 阿里云OSS, 腾讯云COS …) when a bucket is configured. django-storages speaks the S3 protocol for us.
NINGJU_S3_BUCKET = env("NINGJU_S3_BUCKET", "")
if NINGJU_S3_BUCKET:
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": NINGJU_S3_BUCKET,
            "endpoint_url": env("NINGJU_S3_ENDPOINT_URL") or None,
            "region_name": env("NINGJU_S3_REGION") or None,
            "access_key": env("NINGJU_S3_ACCESS_KEY") or None,
            "secret_key": env("NINGJU_S3_SECRET_KEY") or None,
            "default_acl": None,
            "querystring_auth": True,  # files are personal: links expire
            "file_overwrite": False,
        },
    }
# The largest photo or file a user may attach to a demand, in megabytes.
NINGJU_ATTACHMENT_MAX_MB = int(env("NINGJU_ATTACHMENT_MAX_MB", "10") or 10)
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 20 * 1024 * 1024

# --- notifications --------------------------------------------------------------------------------------
# In-app notices are always on. Email and a WeCom (企业微信) group robot are off until configured.
NINGJU_NOTIFY_EMAIL = env_bool("NINGJU_NOTIFY_EMAIL")
NINGJU_WECOM_WEBHOOK = env("NINGJU_WECOM_WEBHOOK", "") or ""
EMAIL_BACKEND = env("NINGJU_EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env("NINGJU_EMAIL_HOST", "localhost")
EMAIL_PORT = int(env("NINGJU_EMAIL_PORT", "25") or 25)
EMAIL_HOST_USER = env("NINGJU_EMAIL_USER", "") or ""
EMAIL_HOST_PASSWORD = env("NINGJU_EMAIL_PASSWORD", "") or ""
EMAIL_USE_TLS = env_bool("NINGJU_EMAIL_TLS")
DEFAULT_FROM_EMAIL = env("NINGJU_EMAIL_FROM", "ningju@localhost")
# A demand turns yellow this many working days before its deadline (0: only on the due day itself).
NINGJU_DEMAND_WARN_WORKDAYS = int(env("NINGJU_DEMAND_WARN_WORKDAYS", "0") or 0)

# --- meetings ---------------------------------------------------------------------------------------------
# 三驾马车: how many on-site troika meetings each compound holds per calendar month (一小区一月一会).
NINGJU_TROIKA_PER_MONTH = int(env("NINGJU_TROIKA_PER_MONTH", "1") or 1)

# --- security ---------------------------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SECURE_REFERRER_POLICY = "same-origin"
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("NINGJU_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = int(env("NINGJU_HSTS_SECONDS", "31536000") or 0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "ningju": {"level": "INFO"},
        "ningju.auth": {"level": "INFO"},
        "axes": {"level": "WARNING"},
    },
}

NINGJU_DEMO_PASSWORD = "ningju-demo"
NINGJU_APP_NAME = _("宁聚")
