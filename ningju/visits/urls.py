"""Visit pages: each views module lists its own URLs (routes and coverage; visit logging; pairing, rules, calendar)."""

from ningju.visits.views import logging, manage, routes

urlpatterns = [*routes.urlpatterns, *logging.urlpatterns, *manage.urlpatterns]
