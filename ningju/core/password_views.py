"""Password pages: one's own change, a street administrator's reset of a colleague's password, locked accounts."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from ningju.core import passwords, scoping
from ningju.core.errors import ApplicationError
from ningju.core.http import AuthedRequest
from ningju.core.models import User


class PasswordChangeView(auth_views.PasswordChangeView):
    """Change one's own password (old one, new one twice, checked by AUTH_PASSWORD_VALIDATORS). The session stays
    signed in; the change is audited and lifts an administrator's "must change" flag."""

    template_name = "registration/password_change.html"
    success_url = reverse_lazy("home")

    def form_valid(self, form: PasswordChangeForm) -> HttpResponse:
        response = super().form_valid(form)
        passwords.password_changed(user=form.user, request=self.request)
        messages.success(self.request, _("密码已修改。"))
        return response


class UnlockForm(forms.Form):
    username = forms.CharField(max_length=150)


def _staff(admin: User) -> "list[User]":
    return list(
        scoping.visible(admin, User.objects.all())
        .exclude(pk=admin.pk)
        .select_related("area", "department")
        .order_by("area__name", "username")
    )


@login_required
def staff_accounts(request: AuthedRequest) -> HttpResponse:
    """The street's staff, each with a button that resets their password (a street administrator's page)."""
    scoping.require_street_admin(request.user)
    return render(request, "core/staff_accounts.html", {"staff": _staff(request.user)})


@login_required
def locked_accounts(request: AuthedRequest) -> HttpResponse:
    """The street's accounts locked by failed sign-ins, each with a button that unlocks it."""
    scoping.require_street_admin(request.user)
    context = {
        "locked": passwords.locked_accounts(request.user),
        "cooloff_minutes": int(settings.AXES_COOLOFF_TIME.total_seconds() // 60),
    }
    return render(request, "core/locked_accounts.html", context)


@login_required
@require_POST
def account_unlock(request: AuthedRequest) -> HttpResponse:
    scoping.require_street_admin(request.user)
    form = UnlockForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请选择要解锁的账号。"))
        return redirect("locked_accounts")
    try:
        passwords.account_unlock(admin=request.user, username=form.cleaned_data["username"], request=request)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("账号 %(username)s 已解锁。") % {"username": form.cleaned_data["username"]})
    return redirect("locked_accounts")


@never_cache  # the page shows the temporary password: no browser or proxy may keep it
@login_required
@require_POST
def password_reset(request: AuthedRequest, user_id: int) -> HttpResponse:
    """Reset a colleague's password: the temporary password is shown on this one response and nowhere else."""
    scoping.require_street_admin(request.user)
    user = scoping.get_or_404(request.user, User.objects.all(), pk=user_id)
    try:
        temporary = passwords.password_reset(admin=request.user, user=user, request=request)
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect("staff_accounts")
    return render(request, "core/password_reset_done.html", {"person": user, "temporary": temporary})
