"""Issuing API tokens through the same authentication path as the sign-in page: django-axes lockout, audit log."""

from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_cool_off
from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.models import update_last_login
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _
from rest_framework.request import Request

from ningju.api.models import DeviceToken
from ningju.api.tokens import token_create
from ningju.core import mfa
from ningju.core.audit import audit
from ningju.core.errors import ApplicationError
from ningju.core.models import AuditAction
from ningju.core.passwords import PASSWORD_CHANGE_REQUIRED, must_change_password


def lockout_message() -> str:
    cool_off = get_cool_off()
    if cool_off is None:
        return _("连续登录失败次数过多，该账号已被锁定。请联系街道管理员解锁。")
    minutes = max(1, round(cool_off.total_seconds() / 60))
    return _("连续登录失败次数过多，该账号已被暂时锁定。请%(minutes)d分钟后再试，或联系街道管理员解锁。") % {
        "minutes": minutes
    }


def token_obtain(
    *, request: Request, username: str, password: str, otp: str = "", name: str = ""
) -> tuple[DeviceToken, str]:
    """A new token for one device of the user with these credentials: the stored row and the token itself.

    `authenticate()` runs every configured backend, axes first: a locked account is refused even with the right
    password, each failure counts towards the lockout and fires `user_login_failed` (which the audit log
    records). It gets DRF's request, as DRF's own token view does, so that axes marks the lockout on it and the
    answer stays this endpoint's JSON rather than the sign-in page's HTML lockout page.

    Then the second factor, as on the sign-in page: a user whose role requires it, or who has enrolled anyway,
    gets no token without a valid code (`otp`: the authenticator's 6 digits or a recovery code); a user whose role
    requires it and who has not enrolled gets none at all until they enrol on the web.
    """
    user = authenticate(request=request, username=username, password=password)
    if user is None:
        if getattr(request, "axes_locked_out", False):
            raise PermissionDenied(lockout_message())
        raise ApplicationError(_("用户名或密码不正确。"))
    if must_change_password(user):
        # An administrator's temporary password opens only the web page where the user chooses their own.
        raise ApplicationError(str(PASSWORD_CHANGE_REQUIRED))
    enrolled = mfa.is_enrolled(user)
    if mfa.mfa_required(user) and not enrolled:
        raise ApplicationError(_("您的账号必须使用两步验证：请先在网页上启用两步验证，然后再用客户端登录。"))
    if enrolled:
        if not otp.strip():
            raise ApplicationError(_("您的账号已启用两步验证：请在 otp 中填写验证器应用显示的6位验证码。"))
        if not mfa.verify_otp(user, otp, request=request._request):
            raise ApplicationError(_("验证码不正确或已过期，请输入验证器应用当前显示的6位验证码。"))
    # What a successful sign-in does, without `user_logged_in`: its receivers expect a browser session (axes
    # would create one), and a token client has none.
    if settings.AXES_RESET_ON_SUCCESS:
        AxesProxyHandler.reset_attempts(username=user.get_username())
    update_last_login(type(user), user)
    audit(
        user=user, action=AuditAction.LOGIN, detail={"via": "api_token", "device": name}, request=request._request
    )
    return token_create(user=user, name=name)
