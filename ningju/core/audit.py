"""Writing the audit log: every reveal of personal data, every export and import, every login attempt."""

from typing import Any

from django.db import models
from django.http import HttpRequest

from ningju.core.models import AuditAction, AuditEntry


def client_ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def audit(
    *,
    user: Any,
    action: AuditAction,
    target: models.Model | None = None,
    target_type: str = "",
    target_id: str = "",
    field: str = "",
    reason: str = "",
    detail: dict[str, Any] | None = None,
    request: HttpRequest | None = None,
    username: str = "",
) -> AuditEntry:
    if target is not None:
        target_type = target._meta.label_lower
        target_id = str(target.pk)
    authenticated = getattr(user, "is_authenticated", False)
    return AuditEntry.objects.create(
        user=user if authenticated else None,
        username=username or (user.get_username() if authenticated else ""),
        action=action,
        target_type=target_type,
        target_id=target_id,
        field=field,
        reason=reason[:200],
        detail=detail or {},
        ip_address=client_ip(request),
    )
