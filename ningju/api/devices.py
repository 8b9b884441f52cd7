"""The "我的设备" page: the devices signed in to the API with a token, and revoking one.

Everyone sees and revokes their own; a street administrator also the staff of their own street's (a lost phone),
nobody another street's. What a user may see and revoke is the DeviceToken rule in ningju/api/permissions.py.
"""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from ningju.api.models import DeviceToken
from ningju.api.tokens import token_revoke
from ningju.core import scoping
from ningju.core.http import AuthedRequest


class RevokeForm(forms.Form):
    token = forms.IntegerField(min_value=1, max_value=scoping.MAX_ID)


@login_required
def devices(request: AuthedRequest) -> HttpResponse:
    visible = scoping.visible(request.user, DeviceToken.objects.select_related("user")).order_by("-created")
    own = [token for token in visible if token.user_id == request.user.pk]
    others = [token for token in visible if token.user_id != request.user.pk]
    context = {
        "own": own,
        "others": others,
        "show_street": scoping.is_street_admin(request.user),
        "days": settings.NINGJU_TOKEN_DAYS,
    }
    return render(request, "api/devices.html", context)


@login_required
@require_POST
def device_revoke(request: AuthedRequest) -> HttpResponse:
    form = RevokeForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请选择要注销的设备。"))
        return redirect("devices")
    token = scoping.get_for_user(
        request.user, DeviceToken.objects.select_related("user"), pk=form.cleaned_data["token"]
    )
    own = token.user_id == request.user.pk
    token_revoke(
        token=token, by=request.user, reason="device_page" if own else "revoked_by_admin", request=request
    )
    messages.success(request, _("已注销该设备：它下次访问时需要重新登录。"))
    return redirect("devices")
