"""Placeholder: filled by the meetings work."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
