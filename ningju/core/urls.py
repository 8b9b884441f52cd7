"""Pages of the core app: sign-in, home, job progress, notifications."""

from django.contrib.auth import views as auth_views
from django.urls import path

from ningju.core import views, views_mfa, views_staff

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/staff/<int:user_id>/phone/", views_staff.staff_phone, name="staff_phone"),
    path("accounts/mfa/verify/", views_mfa.verify, name="mfa_verify"),
    path("accounts/mfa/enrol/", views_mfa.enrol, name="mfa_enrol"),
    path("accounts/security/", views_mfa.security, name="account_security"),
    path("accounts/security/mfa/disable/", views_mfa.disable, name="mfa_disable"),
    path("accounts/security/mfa/reset/", views_mfa.reset, name="mfa_reset"),
    path("jobs/<int:job_id>/", views.job_detail, name="job_detail"),
    path("jobs/<int:job_id>/download/", views.job_download, name="job_download"),
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/read/", views.notifications_read_all, name="notifications_read_all"),
    path("notifications/<int:notice_id>/open/", views.notification_open, name="notification_open"),
    path("healthz", views.healthz, name="healthz"),
]
