"""Placeholder: periodic tasks of the insights work (text)."""
