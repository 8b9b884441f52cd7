"""Project overrides of Django's per-language formats (settings.FORMAT_MODULE_PATH)."""
