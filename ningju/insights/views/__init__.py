"""Insight pages (数治化): intake suggestions, clusters and mechanisms, dashboards, the report."""
