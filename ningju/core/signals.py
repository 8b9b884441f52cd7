"""Logins, failed logins and logouts go to the audit log (django-axes separately counts failures for lockout)."""

import logging
from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest

from ningju.core.audit import audit
from ningju.core.models import AuditAction

log = logging.getLogger("ningju.auth")


@receiver(user_logged_in, dispatch_uid="ningju_audit_login")
def on_login(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    log.info("login %s", user.get_username())
    audit(user=user, action=AuditAction.LOGIN, request=request)


@receiver(user_login_failed, dispatch_uid="ningju_audit_login_failed")
def on_login_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    username = str(credentials.get("username", ""))[:150]
    log.warning("failed login for %r", username)
    audit(user=None, username=username, action=AuditAction.LOGIN_FAILED, request=request)


@receiver(user_logged_out, dispatch_uid="ningju_audit_logout")
def on_logout(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    if user is not None:
        audit(user=user, action=AuditAction.LOGOUT, request=request)
