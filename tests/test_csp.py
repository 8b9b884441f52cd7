"""Output safety without a browser: every response carries a strict Content-Security-Policy, and no template, form
widget or rendered page has an inline script, an on*= handler or a <style> block that the policy would block."""

import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from ningju.core.models import User
from tests.conftest import World

PACKAGE = Path(__file__).resolve().parent.parent / "ningju"
TEMPLATES = sorted(path for path in PACKAGE.rglob("templates/**/*.html"))
# Pages served with the docs' relaxed policy (ningju/api/urls.py): third-party bundles that need a <style> block.
DOCS_TEMPLATES = {"api/redoc.html"}

SCRIPT_TAG = re.compile(r"<script\b([^>]*)>", re.IGNORECASE)
HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE)
# DOM event handler attributes set from Python (form widget attrs): {"onchange": ...}.
PY_HANDLER = re.compile(
    r"""["']on(?:click|change|submit|input|load|error|focus|blur|key\w+|mouse\w+|pointer\w+|touch\w+)["']\s*:"""
)


def directives(header: str) -> dict[str, list[str]]:
    policy: dict[str, list[str]] = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            policy[words[0]] = words[1:]
    return policy


def template_name(path: Path) -> str:
    return path.as_posix().split("/templates/", 1)[1]


def test_templates_are_found() -> None:
    names = {template_name(path) for path in TEMPLATES}
    assert {"base.html", "demands/new.html", "meetings/troika_new.html", "insights/dashboard.html"} <= names


@pytest.mark.parametrize("path", TEMPLATES, ids=template_name)
def test_template_has_no_inline_script_or_handler(path: Path) -> None:
    source = path.read_text()

    for attributes in SCRIPT_TAG.findall(source):
        assert "src=" in attributes or 'type="application/json"' in attributes, f"inline <script{attributes}>"
    assert not HANDLER.search(source), HANDLER.search(source)
    assert "javascript:" not in source
    if template_name(path) not in DOCS_TEMPLATES:
        assert "<style" not in source, "a <style> block: the policy allows stylesheets from our origin only"


def test_no_form_widget_sets_an_event_handler() -> None:
    offenders = [
        f"{path.relative_to(PACKAGE)}:{number}"
        for path in PACKAGE.rglob("*.py")
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if PY_HANDLER.search(line)
    ]
    assert not offenders


def test_every_page_has_a_policy_that_runs_no_inline_script(client: Client, db: None) -> None:
    response = client.get(reverse("login"))

    policy = directives(response["Content-Security-Policy"])
    assert policy["script-src"] == ["'self'"]
    assert policy["default-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"]
    assert policy["form-action"] == ["'self'"]
    assert policy["connect-src"] == ["'self'"]
    assert policy["worker-src"] == ["'self'"]
    assert "'unsafe-inline'" not in policy["style-src"]


@pytest.mark.parametrize(
    ("tiles", "host"),
    [("osm", "https://tile.openstreetmap.org"), ("amap", "https://*.is.autonavi.com"), ("none", None)],
)
def test_map_tiles_are_the_only_foreign_images(tiles: str, host: str | None) -> None:
    # The policy is read when settings load: a fresh interpreter with the environment of a deployment.
    code = "from django.conf import settings; print(' '.join(settings.CONTENT_SECURITY_POLICY['DIRECTIVES']['img-src']))"
    result = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "ningju.settings", "NINGJU_MAP_TILES": tiles},
        capture_output=True,
        text=True,
        check=True,
    )

    sources = result.stdout.split()
    assert sources[:2] == ["'self'", "data:"]
    assert sources[2:] == ([host] if host else [])


@pytest.mark.parametrize("page", ["api_docs", "api_redoc"])
def test_api_docs_relax_styles_but_not_scripts(client: Client, db: None, page: str) -> None:
    response = client.get(reverse(page))

    policy = directives(response["Content-Security-Policy"])
    assert policy["script-src"] == ["'self'"]
    assert "<script>" not in response.content.decode()


class _Markup(HTMLParser):
    """Collects what the policy would block in a rendered page."""

    def __init__(self) -> None:
        super().__init__()
        self.blocked: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if tag == "script" and "src" not in named and named.get("type") != "application/json":
            self.blocked.append(f"inline <script {named}>")
        if tag == "style":
            self.blocked.append("<style> block")
        for name, value in attrs:
            if name.startswith("on"):
                self.blocked.append(f"<{tag} {name}={value!r}>")
            if name in ("href", "src", "action", "formaction") and (value or "").strip().lower().startswith(
                "javascript:"
            ):
                self.blocked.append(f"<{tag} {name}={value!r}>")


def _plain_routes() -> list[str]:
    """Every page route without a parameter (the API and the admin have their own tests)."""

    def walk(patterns: list[URLPattern | URLResolver], prefix: str = "") -> list[tuple[str, str | None]]:
        found: list[tuple[str, str | None]] = []
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                found += walk(pattern.url_patterns, prefix + str(pattern.pattern))
            else:
                found.append((prefix + str(pattern.pattern), pattern.name))
        return found

    skip = ("api/", "admin/", "i18n/")
    return sorted(
        name
        for route, name in walk(get_resolver().url_patterns)
        if name and "<" not in route and not route.startswith(skip) and not route.endswith((".xlsx", ".js"))
    )


PAGES = _plain_routes()


def test_the_page_walk_covers_the_pages_that_had_inline_code() -> None:
    assert {"demand_new", "troika_new", "dashboard", "scorecards", "demand_rates", "home"} <= set(PAGES)


@pytest.mark.parametrize("role", ["street_admin", "area_head", "cadre", "liaison"])
def test_rendered_pages_carry_the_policy_and_nothing_it_blocks(client: Client, world: World, role: str) -> None:
    user: User = world.users()[role]
    client.force_login(user)
    checked = 0
    for name in PAGES:
        response = client.get(reverse(name))
        if response.status_code != 200 or not response["Content-Type"].startswith("text/html"):
            continue
        checked += 1
        assert "'unsafe-inline'" not in directives(response["Content-Security-Policy"])["script-src"], name
        markup = _Markup()
        markup.feed(response.content.decode())
        assert not markup.blocked, (name, markup.blocked)
    assert checked >= 10
