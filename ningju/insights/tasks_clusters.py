"""Placeholder: periodic tasks of the insights work (clusters)."""
