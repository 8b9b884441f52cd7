"""Pages of the core app: sign-in, home, job progress, notifications."""

from django.contrib.auth import views as auth_views
from django.urls import path

from ningju.core import views

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("jobs/<int:job_id>/", views.job_detail, name="job_detail"),
    path("jobs/<int:job_id>/download/", views.job_download, name="job_download"),
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/read/", views.notifications_read_all, name="notifications_read_all"),
    path("notifications/<int:notice_id>/open/", views.notification_open, name="notification_open"),
    path("healthz", views.healthz, name="healthz"),
]
