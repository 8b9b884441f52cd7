"""WSGI entry point, served by gunicorn (see the Makefile's `run`)."""

import os

from django.conf import settings
from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver
from django.utils import translation

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ningju.settings")
application = get_wsgi_application()

# Load every page's code now (the URLconf imports scikit-learn, PyVRP, reportlab …: seconds): with gunicorn's
# --preload the master does it once before forking, so no resident waits for it on a worker's first request.
get_resolver().url_patterns  # noqa: B018 — touching it is the point
# Reversing a URL builds the resolver's tables once per language (a second on a busy machine): build them here too.
for _code, _name in settings.LANGUAGES:
    with translation.override(_code):
        get_resolver().reverse_dict  # noqa: B018 — touching it is the point

# The same for the intake desk's category suggestion: jieba's dictionary and each street's classifier and index
# (seconds once per process) are loaded here, so a worker's first suggestion answers in milliseconds.
from ningju.insights.engine import warm_up  # noqa: E402 — needs the application set up above

warm_up()
