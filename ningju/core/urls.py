"""Pages of the core app: sign-in, home, job progress."""

from django.contrib.auth import views as auth_views
from django.urls import path

from ningju.core import views

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("jobs/<int:job_id>/", views.job_detail, name="job_detail"),
    path("jobs/<int:job_id>/download/", views.job_download, name="job_download"),
    path("healthz", views.healthz, name="healthz"),
]
