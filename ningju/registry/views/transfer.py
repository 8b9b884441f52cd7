"""Registry import/export pages (being written)."""

from django.http import HttpRequest, HttpResponse


def import_page(request: HttpRequest) -> HttpResponse:
    return HttpResponse(status=501)


def import_template(request: HttpRequest) -> HttpResponse:
    return HttpResponse(status=501)


def export_start(request: HttpRequest) -> HttpResponse:
    return HttpResponse(status=501)
