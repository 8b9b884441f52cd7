"""Core pages: sign-in, the home page (which sends each role to its starting point), job progress, notifications."""

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import connection
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from ningju.core import scoping
from ningju.core.audit import audit
from ningju.core.http import AuthedRequest
from ningju.core.models import AuditAction, Job, JobStatus, Notification, Role


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True


@login_required
def home(request: AuthedRequest) -> HttpResponse:
    user = request.user
    if user.role == Role.CADRE:
        return redirect("route_today")  # 8:30, on the phone: today's walk first
    if user.role == Role.AREA_HEAD and user.area is not None:
        return redirect("area_detail", code=user.area.code)
    if user.role == Role.STREET_ADMIN:
        return redirect("area_list")
    return render(request, "core/home.html")


@login_required
def job_detail(request: AuthedRequest, job_id: int) -> HttpResponse:
    job = scoping.get_for_user(request.user, Job.objects.all(), pk=job_id)  # only one's own jobs
    template = "core/job.html#progress" if request.htmx else "core/job.html"
    return render(request, template, {"job": job})


@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


@never_cache  # an export file: personal data, never kept by a browser or proxy
@login_required
def job_download(request: AuthedRequest, job_id: int) -> FileResponse:
    """The result file of one's own finished job (an export); the export itself was audited when it was made."""
    job = scoping.get_for_user(request.user, Job.objects.all(), pk=job_id, status=JobStatus.SUCCEEDED)
    if not job.output_file:
        raise Http404(_("结果文件已过保存期限被删除，请重新导出。"))
    audit(user=request.user, action=AuditAction.DOWNLOAD, target=job, detail={"kind": job.kind}, request=request)
    return FileResponse(
        job.output_file.open("rb"), as_attachment=True, filename=(job.output_file.name or "").rsplit("/", 1)[-1]
    )


NOTIFICATIONS_PAGE_SIZE = 50


@login_required
def notifications(request: AuthedRequest) -> HttpResponse:
    """One's own notices, newest first; unread ones stand out."""
    own = Notification.objects.filter(user=request.user)
    page = Paginator(own, NOTIFICATIONS_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "core/notifications.html", {"page": page})


@login_required
@require_POST
def notifications_read_all(request: AuthedRequest) -> HttpResponse:
    Notification.objects.filter(user=request.user, read_at__isnull=True).update(read_at=timezone.now())
    return redirect("notifications")


@login_required
def notification_open(request: AuthedRequest, notice_id: int) -> HttpResponse:
    """Follow a notice's link, marking it read. Only a path on this site is followed: a stored link pointing
    elsewhere (or one of someone else's notices) never turns this page into a redirector."""
    notice = scoping.get_or_404(request.user, Notification.objects.all(), pk=notice_id)
    if notice.read_at is None:
        notice.read_at = timezone.now()
        notice.save(update_fields=["read_at"])
    url = notice.url
    local = url.startswith("/") and url_has_allowed_host_and_scheme(url, allowed_hosts=None)
    return redirect(url if local else "notifications")
