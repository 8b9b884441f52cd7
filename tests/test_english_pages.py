"""English is complete: every page a role opens, in English, shows no Chinese but the data.

The world is the cross-scope test's (tests/scope_world.py): street 1 with area B's whole life (a household, a visit
with a finding, a demand with its steps, a meeting, an event, a training, a cluster, notifications …). Each role of
street 1 — the street administrator, area B's head and cadre, a department liaison — opens every page of the site
(each URL pattern, its path filled with area B's objects) with the language set to English. What the database holds
(names, addresses, demand texts) is data and stays as typed; it is removed from the page before looking. Anything
Chinese left is a string of the interface.

Two checks:
- `test_every_interface_string_is_wrapped`: with a pseudo-English catalogue (every Chinese run of a msgid
  replaced), Chinese left on a page was never passed through gettext. This holds whatever the catalogue says.
- `test_english_pages_have_no_chinese`: with the real catalogue, Chinese left was wrapped but not translated.
"""

import html
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.apps import apps
from django.db import models
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django.utils.translation import trans_real

from ningju.core.models import User
from tests.scope_world import Place, ScopeWorld
from tests.test_cross_scope import FILLERS, ROUTES, RouteInfo, sw  # noqa: F401  (sw: the module's world fixture)

pytestmark = pytest.mark.django_db

# CJK ideographs, CJK punctuation (、。「」) and full-width forms (（）：，), which an English page has no use for.
CHINESE = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]+")

# Pages that are not pages: downloads, redirects after an action, the service worker, the API, the language switch.
SKIPPED_PREFIXES = ("api/", "i18n/", "healthz")
ROLES = ("street_admin", "area_head", "cadre", "liaison")


def pages() -> list[RouteInfo]:
    return [r for r in ROUTES if r.name and not r.route.startswith(SKIPPED_PREFIXES)]


def role_user(world: ScopeWorld, role: str) -> User:
    """Area B's own head and cadre (whose objects fill the paths), street 1's administrator and liaison."""
    b = world.area_b
    head, cadre = b.users[0], b.users[1]
    return {"street_admin": world.admin, "area_head": head, "cadre": cadre, "liaison": world.liaison}[role]


# Pages that need a query to show anything: the visit form is opened for one household or patrol site.
QUERIES: dict[str, Callable[[Place], list[str]]] = {
    "visit_new": lambda place: (
        [f"?household={place.household.pk}", f"?patrol_site={place.patrol_site.pk}"]
        if place.household is not None and place.patrol_site is not None
        else []
    ),
}


def urls(route: RouteInfo, place: Place) -> list[str]:
    if route.name in QUERIES:
        return [reverse(route.name) + query for query in QUERIES[route.name](place)]
    if not route.params:
        return [reverse(route.name)]
    return [reverse(route.name, kwargs=kwargs) for kwargs in FILLERS[route.name](place)]


def data_strings() -> list[str]:
    """Every text the database holds, and the addresses composed from it: longest first, so a name is removed
    before a shorter name inside it."""
    found: set[str] = set()
    for model in apps.get_models():
        fields = [
            f.attname for f in model._meta.concrete_fields if isinstance(f, models.CharField | models.TextField)
        ]
        if not fields:
            continue
        for row in model._default_manager.values_list(*fields):
            found.update(value for value in row if isinstance(value, str) and CHINESE.search(value))
        if hasattr(model, "address"):
            found.update(str(obj.address) for obj in model._default_manager.all())
    found.update(u.display_name for u in User.objects.all())
    return sorted((value for value in found if CHINESE.search(value)), key=len, reverse=True)


# Chinese an English page keeps on purpose: the language switch names each language in itself ("中文"), and the
# model page's default column names are those of the street's spreadsheet, whatever the interface language; so are
# the 12345 file's column names the import page lists, the category path and the address written as users type them.
KEPT = [
    re.compile(r'<option value="zh-hans"[^>]*>[^<]*</option>'),
    re.compile(r'<input type="text" name="(?:label_col|text_cols)"[^>]*>'),
]
# ... stripped after the data, whose names may hold the same words (an area named "…居民区").
KEPT_AFTER_DATA = re.compile(
    "|".join(["工单编号", "受理时间", "诉求内容", "工单号", "来电时间", "问题描述", "事发地址", "地址", "居民区"])
    + "|噪音扰民/商铺夜间经营噪音|633弄5号302室"
)


def chinese_left(body: str, data: list[str]) -> list[str]:
    text = body
    for kept in KEPT:
        text = kept.sub("", text)
    text = html.unescape(text)
    for value in data:
        text = text.replace(value, " ")
    text = KEPT_AFTER_DATA.sub("", text)
    text = re.sub(r"\s+", " ", text)
    return sorted({text[max(m.start() - 40, 0) : m.end() + 20] for m in CHINESE.finditer(text)})


def english_client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    client.cookies["django_language"] = "en"
    return client


def walk(world: ScopeWorld) -> dict[str, list[str]]:
    """{"role GET url": [Chinese left]} over every page each role may open (refusals are the scope tests' job)."""
    data = data_strings()
    problems: dict[str, list[str]] = {}
    for role in ROLES:
        client = english_client(role_user(world, role))
        for route in pages():
            for place in (world.area_b, world.nested_b):
                for url in urls(route, place):
                    response = client.get(url)
                    if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
                        continue
                    body = response.content.decode()
                    assert '<html lang="en">' in body or "<html" not in body, f"{url} is not in English"
                    left = chinese_left(body, data)
                    if left:
                        problems[f"{role} GET {url}"] = left
    return problems


def report(problems: dict[str, list[str]]) -> str:
    """Each Chinese run with the number of pages it is on (the catalogue's to-do list), then the pages in context."""
    runs: dict[str, int] = {}
    for left in problems.values():
        for run in {run for snippet in left for run in CHINESE.findall(snippet)}:
            runs[run] = runs.get(run, 0) + 1
    summary = ", ".join(f"{run} ({n})" for run, n in sorted(runs.items(), key=lambda item: -item[1]))
    pages = "\n".join(f"{page}: {' | '.join(left)}" for page, left in sorted(problems.items()))
    return f"{summary}\n\n{pages}"


@pytest.fixture
def pseudo_english() -> Iterator[None]:
    """An English catalogue that translates every msgid: its Chinese runs become "~". What stays Chinese on a page
    was never looked up."""
    catalogue = trans_real.translation("en")

    def pseudo(method: Callable[..., str]) -> Callable[..., str]:
        def translated(*args: Any) -> str:
            return CHINESE.sub("~", method(*args))

        return translated

    originals = {name: getattr(catalogue, name) for name in ("gettext", "ngettext") if hasattr(catalogue, name)}
    for name, method in originals.items():
        setattr(catalogue, name, pseudo(method))
    try:
        yield
    finally:
        for name in originals:
            delattr(catalogue, name)  # back to the class's methods
        translation.activate("zh-hans")


def test_every_interface_string_is_wrapped(sw: ScopeWorld, pseudo_english: None) -> None:  # noqa: F811
    problems = walk(sw)
    assert not problems, "Chinese never passed through gettext:\n" + report(problems)


def test_english_pages_have_no_chinese(sw: ScopeWorld) -> None:  # noqa: F811
    problems = walk(sw)
    assert not problems, "Chinese left on English pages:\n" + report(problems)
