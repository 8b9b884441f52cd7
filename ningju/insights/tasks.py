"""Huey tasks of the insights app (huey discovers `<app>.tasks`): each part keeps its own in a module of its own."""

from ningju.insights import tasks_clusters, tasks_rollups, tasks_text

__all__ = ["tasks_clusters", "tasks_rollups", "tasks_text"]
