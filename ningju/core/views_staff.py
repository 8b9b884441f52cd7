"""A member of staff's work phone: masked by default, revealed to their street's administrators with a reason."""

from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from ningju.core import scoping, services
from ningju.core.errors import ApplicationError
from ningju.core.http import AuthedRequest
from ningju.core.models import User


class ReasonForm(forms.Form):
    reason = forms.CharField(label=gettext_lazy("查看事由"), min_length=2, max_length=200)


@never_cache  # a POST answer holds a clear phone number
@login_required
@require_http_methods(["GET", "POST"])
def staff_phone(request: AuthedRequest, user_id: int) -> HttpResponse:
    """GET: the masked number and the reveal form; POST: the number in clear, once, audited with the reason."""
    scoping.require_street_admin(request.user)
    staff = scoping.get_for_user(request.user, User.objects.all(), pk=user_id)
    context: dict[str, Any] = {"staff": staff, "form": ReasonForm()}
    if request.method == "POST":
        form = ReasonForm(request.POST)
        context["form"] = form
        if not form.is_valid():
            context["error"] = _("请填写查看事由（至少2个字）。")
        else:
            try:
                context["value"] = services.staff_phone_reveal(
                    user=request.user, staff=staff, reason=form.cleaned_data["reason"], request=request
                )
            except ApplicationError as error:
                context["error"] = error.message
    template = (
        "core/staff_phone.html#result" if request.htmx and request.method == "POST" else "core/staff_phone.html"
    )
    return render(request, template, context, status=400 if "error" in context else 200)
