"""Placeholder: filled by the demands pages work."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
