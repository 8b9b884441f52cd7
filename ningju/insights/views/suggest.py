"""Placeholder: filled by the insights work."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
