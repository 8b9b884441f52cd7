"""Insights (数治化): the Chinese text engine, similar demands and clusters, dashboards and the yearly report."""
