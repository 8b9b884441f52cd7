"""Pages of the core app: sign-in, home, job progress, notifications."""

from django.contrib.auth import views as auth_views
from django.urls import path

from ningju.core import audit_views, password_views, views, views_mfa, views_staff

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password_change/", password_views.PasswordChangeView.as_view(), name="password_change"),
    path("accounts/staff/", password_views.staff_accounts, name="staff_accounts"),
    path("accounts/staff/<int:user_id>/password_reset/", password_views.password_reset, name="password_reset"),
    path("accounts/staff/<int:user_id>/phone/", views_staff.staff_phone, name="staff_phone"),
    path("accounts/locked/", password_views.locked_accounts, name="locked_accounts"),
    path("accounts/locked/unlock/", password_views.account_unlock, name="account_unlock"),
    path("accounts/mfa/verify/", views_mfa.verify, name="mfa_verify"),
    path("accounts/mfa/enrol/", views_mfa.enrol, name="mfa_enrol"),
    path("accounts/security/", views_mfa.security, name="account_security"),
    path("accounts/security/mfa/disable/", views_mfa.disable, name="mfa_disable"),
    path("accounts/security/mfa/reset/", views_mfa.reset, name="mfa_reset"),
    path("accounts/audit/", audit_views.audit_list, name="audit_list"),
    path("jobs/<int:job_id>/", views.job_detail, name="job_detail"),
    path("jobs/<int:job_id>/download/", views.job_download, name="job_download"),
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/read/", views.notifications_read_all, name="notifications_read_all"),
    path("notifications/<int:notice_id>/open/", views.notification_open, name="notification_open"),
    path("healthz", views.healthz, name="healthz"),
]
