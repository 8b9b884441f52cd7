"""WSGI entry point, served by gunicorn (see the Makefile's `run`)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ningju.settings")
application = get_wsgi_application()
