"""Second-factor pages: the code after the password, enrolment with a QR code, and the account's 两步验证 section."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from ningju.core import mfa, scoping
from ningju.core.http import AuthedRequest
from ningju.core.models import User


class CodeForm(forms.Form):
    code = forms.CharField(label=gettext_lazy("验证码"), max_length=mfa.MAX_CODE_LENGTH, strip=True)


class ResetForm(forms.Form):
    user = forms.IntegerField(min_value=1, max_value=2**31 - 1)


def _next_url(request: AuthedRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        return target
    return "/"


@login_required
def verify(request: AuthedRequest) -> HttpResponse:
    """The second step of signing in: a code from the authenticator, or one of the recovery codes."""
    user = request.user
    if mfa.is_verified(user):
        return redirect(_next_url(request))
    if not mfa.is_enrolled(user):
        return redirect("mfa_enrol")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = mfa.match_device(user, form.cleaned_data["code"], request=request)
        if device is not None:
            otp_login(request, device)
            if device.persistent_id.startswith("otp_static"):
                left = mfa.recovery_codes_left(user)
                messages.warning(request, _("您使用了一个恢复码，还剩 %(left)d 个。") % {"left": left})
            return redirect(_next_url(request))
        form.add_error("code", _("验证码不正确或已过期，请重新输入。"))
    context = {"form": form, "next": _next_url(request), "mfa_pending": True}
    return render(request, "registration/mfa_verify.html", context)


@never_cache  # the secret, and then the recovery codes: no browser or proxy may keep them
@login_required
def enrol(request: AuthedRequest) -> HttpResponse:
    """Set up an authenticator: scan the QR code (or type the secret), confirm with a first code, keep the
    recovery codes shown once."""
    user = request.user
    if mfa.is_enrolled(user):
        return redirect("account_security" if mfa.is_verified(user) else "mfa_verify")
    device = mfa.pending_device(user)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            codes = mfa.confirm_enrolment(user, device, form.cleaned_data["code"], request=request)
        except ValueError:
            form.add_error("code", _("验证码不正确，请核对手机时间后重新输入。"))
        else:
            otp_login(request, device)
            return render(
                request, "registration/mfa_recovery_codes.html", {"codes": codes, "next": _next_url(request)}
            )
    uri = mfa.otpauth_uri(device)
    context = {
        "form": form,
        "qr": mfa.qr_data_uri(uri),
        "secret": mfa.secret_groups(mfa.secret_base32(device)),
        "required": mfa.mfa_required(user),
        "next": _next_url(request),
        "mfa_pending": not mfa.is_verified(user),
    }
    return render(request, "registration/mfa_enrol.html", context)


@login_required
def security(request: AuthedRequest) -> HttpResponse:
    """The account's 两步验证 section; a street administrator also sees who in their street has an authenticator."""
    user = request.user
    staff: list[TOTPDevice] = []
    if scoping.is_street_admin(user):
        colleagues = scoping.visible(user, User.objects.exclude(pk=user.pk))
        staff = list(
            TOTPDevice.objects.filter(user__in=colleagues, confirmed=True)
            .select_related("user")
            .order_by("user__username")
        )
    context = {
        "enrolled": mfa.is_enrolled(user),
        "required": mfa.mfa_required(user),
        "codes_left": mfa.recovery_codes_left(user),
        "form": CodeForm(),
        "staff": staff,
    }
    return render(request, "registration/security.html", context)


@login_required
@require_POST
def disable(request: AuthedRequest) -> HttpResponse:
    """Turn MFA off (or, where it is required, remove the authenticator to set up a new one): needs a current code."""
    user = request.user
    form = CodeForm(request.POST)
    if not (form.is_valid() and mfa.verify_otp(user, form.cleaned_data["code"], request=request)):
        messages.error(request, _("验证码不正确，两步验证未更改。"))
        return redirect("account_security")
    mfa.remove_devices(actor=user, user=user, request=request)
    if mfa.mfa_required(user):
        messages.info(request, _("已移除原验证器，请设置新的验证器。"))
        return redirect("mfa_enrol")
    messages.success(request, _("两步验证已关闭。"))
    return redirect("account_security")


@login_required
@require_POST
def reset(request: AuthedRequest) -> HttpResponse:
    """A street administrator removes a colleague's authenticator (a lost phone); another street's is refused."""
    scoping.require_street_admin(request.user)
    form = ResetForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请选择要重置的用户。"))
        return redirect("account_security")
    target = scoping.get_for_user(request.user, User.objects.all(), pk=form.cleaned_data["user"])
    mfa.remove_devices(actor=request.user, user=target, request=request)
    messages.success(request, _("已重置 %(name)s 的两步验证，其下次登录时须重新设置。") % {"name": target})
    return redirect("account_security")
