"""Writes of the core app that span models: the audited reveal of a member of staff's phone number."""

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.utils.translation import gettext as _

from ningju.core.audit import audit
from ningju.core.errors import ApplicationError
from ningju.core.fields import SensitiveValue
from ningju.core.models import AuditAction, User
from ningju.core.permissions import can_reveal_staff_phone


def staff_phone_reveal(*, user: User, staff: User, reason: str, request: HttpRequest | None = None) -> str:
    """The clear phone number of one member of staff, for their street's administrator who gives a reason; audited."""
    if not can_reveal_staff_phone(user, staff):
        raise PermissionDenied(_("只有该工作人员所在街道的管理员可以查看完整的工作电话。"))
    reason = (reason or "").strip()
    if len(reason) < 2:
        raise ApplicationError(_("请填写查看事由（例如：联系工作、核对身份）。"))
    audit(user=user, action=AuditAction.REVEAL, target=staff, field="phone", reason=reason, request=request)
    phone: SensitiveValue | None = getattr(staff, "phone")  # noqa: B009 - the stubs type an EncryptedField as str
    return phone.reveal() if phone else ""
