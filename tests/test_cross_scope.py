"""No record leaves its scope, on any route: a test generated from the URLconf and the OpenAPI schema.

Every URL pattern (and every operation of /api/schema/) is requested by each role of street 1 — the street
administrator, the head and a cadre of area A, a department liaison, an anonymous visitor — with its path filled by
an object of another area (B, street 1) or of another street (street 2), by GET and by POST (and every documented
method of the API). Each answer must refuse (401/403/404/405, or a redirect to the login page), must not contain
the marker string that every name, text and address of the foreign place carries, and must not have written to the
database. Pages and endpoints without path parameters (lists, forms, exports) may answer, but show no foreign
marker either, and API list filters given a foreign id find nothing. A new route without a rule here for filling
its path fails `test_every_route_is_covered` until one is added: the test cannot forget a page.

The Django admin (/admin/) is checked separately: it is Django's own, and only for staff accounts, which none of
the roles is; every one of its URLs must send each role to the admin login.
"""

import io
import json
import logging
import re
import uuid
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.apps import apps
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Model, Q
from django.http import HttpResponseBase
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from drf_spectacular.generators import SchemaGenerator

from ningju.demands.workflow import Action
from tests import scope_world
from tests.scope_world import Place, ScopeWorld

pytestmark = pytest.mark.django_db


# --- the routes -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RouteInfo:
    route: str  # the pattern as written, e.g. "demands/<int:pk>/"
    name: str
    params: tuple[str, ...]
    positional: int = 0  # unnamed groups of a regular-expression pattern (the admin's history pages)


def _walk(patterns: list[Any], prefix: str = "", namespace: str = "") -> Iterator[RouteInfo]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern), inner)
        elif isinstance(entry, URLPattern):
            route = prefix + str(entry.pattern)
            params = tuple(re.findall(r"<(?:\w+:)?(\w+)>", route)) or tuple(entry.pattern.regex.groupindex)
            regex = entry.pattern.regex
            positional = 0 if params else regex.groups - len(regex.groupindex)
            yield RouteInfo(
                route=route, name=f"{namespace}{entry.name or ''}", params=params, positional=positional
            )


ALL_ROUTES = list(_walk(get_resolver().url_patterns))
ADMIN_ROUTES = [r for r in ALL_ROUTES if r.route.startswith("admin/")]
ROUTES = [r for r in ALL_ROUTES if not r.route.startswith("admin/")]


def _pk(obj: Any) -> Any:
    return None if obj is None else obj.pk


def _one(**kwargs: Any) -> list[dict[str, Any]]:
    """One set of path parameters, or none where the place has no such object."""
    return [] if any(value is None for value in kwargs.values()) else [kwargs]


Filler = Callable[[Place], list[dict[str, Any]]]


def _by_pk(attribute: str, param: str = "pk") -> Filler:
    return lambda place: _one(**{param: _pk(getattr(place, attribute))})


def _route_of_cadre(place: Place) -> list[dict[str, Any]]:
    if place.cadre is None or place.route_day is None:
        return []
    return [{"username": place.cadre.username, "day": place.route_day.isoformat()}]


def _area_code(place: Place) -> list[dict[str, Any]]:
    return _one(code=None if place.area is None else place.area.code)


# How each route's path is filled from a foreign place: by URL name.
FILLERS: dict[str, Filler] = {
    "job_detail": _by_pk("job", "job_id"),
    "job_download": _by_pk("job", "job_id"),
    "password_reset": _by_pk("cadre", "user_id"),
    "notification_open": _by_pk("notification", "notice_id"),
    "area_detail": _area_code,
    "compound_detail": _by_pk("compound"),
    "compound_contact_reveal": _by_pk("compound"),
    "staff_phone": _by_pk("cadre", "user_id"),
    "building_detail": _by_pk("building"),
    "household_detail": _by_pk("household"),
    "household_edit": _by_pk("household"),
    "resident_edit": _by_pk("resident"),
    "resident_reveal": _by_pk("resident"),
    "tag_edit": _by_pk("tag"),
    "route_day": _route_of_cadre,
    "route_print": _route_of_cadre,
    "route_replan": _route_of_cadre,
    "household_visits": _by_pk("household"),
    "visit_detail": _by_pk("visit"),
    "pairing_area": _area_code,
    "pairing_proposal": _area_code,
    "pairing_hand_over": _area_code,
    "finding_to_demand": _by_pk("finding", "finding_pk"),
    "demand_category_edit": _by_pk("category"),
    "demand_detail": _by_pk("demand"),
    "demand_step": lambda place: [
        {"pk": place.demand.pk, "action": action.value} for action in Action if place.demand is not None
    ],
    "demand_attachment": _by_pk("attachment"),
    "cluster_detail": _by_pk("cluster"),
    "cluster_decide": lambda place: [
        {"pk": place.cluster.pk, "decision": d} for d in ("confirm", "dismiss") if place.cluster is not None
    ],
    "cluster_split": _by_pk("cluster"),
    "mechanism_new": _by_pk("cluster"),
    "mechanism_detail": _by_pk("mechanism"),
    "mechanism_edit": _by_pk("mechanism"),
    "action_detail": _by_pk("action_item"),
    "event_detail": _by_pk("event"),
    "event_edit": _by_pk("event"),
    "event_residents": _by_pk("event"),
    "event_register": _by_pk("event"),
    "event_registration": _by_pk("registration"),
    "training_detail": _by_pk("training"),
    "training_edit": _by_pk("training"),
    "training_attendance": _by_pk("training"),
    "scorecard_issue": _by_pk("scorecard"),
    "meeting_detail": _by_pk("meeting"),
    "meeting_edit": _by_pk("meeting"),
    "meeting_attendee_add": _by_pk("meeting"),
    "meeting_attendee_remove": _by_pk("attendee"),
    "meeting_agenda": _by_pk("meeting"),
    "meeting_agenda_remove": _by_pk("agenda_item"),
    "meeting_agenda_action": _by_pk("agenda_item"),
    "meeting_file_add": _by_pk("meeting"),
    "meeting_file": _by_pk("meeting_file"),
    "api_area_detail": lambda place: _one(pk=_pk(place.area)),
    "api_compound_detail": _by_pk("compound"),
    "api_building_detail": _by_pk("building"),
    "api_household_detail": _by_pk("household"),
    "api_resident_detail": _by_pk("resident"),
    "api_resident_reveal": _by_pk("resident"),
    "api_visit_detail": _by_pk("visit"),
    "api_meeting_detail": _by_pk("meeting"),
    "api_action_detail": _by_pk("action_item"),
}
for _route in ROUTES:
    if _route.name.startswith("api_demand_") and _route.params == ("pk",):
        FILLERS.setdefault(_route.name, _by_pk("demand"))


# --- the world, built once for the module -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sw(
    django_db_setup: None, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ScopeWorld]:
    """Built once inside a transaction that is rolled back after the module (each test runs in a savepoint of
    it), so no other test module ever sees these rows."""
    media = override_settings(MEDIA_ROOT=tmp_path_factory.mktemp("scope-media"))
    media.enable()
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        quiet = logging.getLogger("django.request")
        level = quiet.level
        quiet.setLevel(logging.ERROR)  # thousands of expected 403/404 warnings would only slow the module down
        try:
            world = scope_world.build()
            CLIENTS.update(log_in(world))
            SESSIONS.update(
                {role: c.cookies[settings.SESSION_COOKIE_NAME].value for role, c in CLIENTS.items() if c.cookies}
            )
            for place in (world.area_b, world.street_2, world.nested_b):
                for model in TABLES.values():
                    BASELINE[(place.name, model)] = foreign_rows(model, place)
            yield world
        finally:
            quiet.setLevel(level)
            print(f"\ncross-scope cases (route × role × object × method) in this process: {COUNTED['cases']}")
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)
            media.disable()


ROLES = ["street_admin", "area_head", "cadre", "liaison", "anonymous"]


CLIENTS: dict[str, Client] = {}


def clients(sw: ScopeWorld) -> dict[str, Client]:
    """The roles' clients, logged in once for the module (their sessions live in the module's transaction); one
    that a request logged out (the logout route) logs in again."""
    for role, key in SESSIONS.items():
        cookie = CLIENTS[role].cookies.get(settings.SESSION_COOKIE_NAME)
        if cookie is None or cookie.value != key:
            CLIENTS[role].cookies[settings.SESSION_COOKIE_NAME] = key  # its row is still there: writes roll back
    return CLIENTS


SESSIONS: dict[str, str] = {}


def log_in(sw: ScopeWorld) -> dict[str, Client]:
    out = {}
    for role, user in sw.roles().items():
        client = Client()
        if user is not None:
            client.force_login(user)
        out[role] = client
    return out


# --- what counts as a leak ------------------------------------------------------------------------------------------

# Writes that say nothing about the foreign object: the session a login keeps, django-axes' access log (a logout
# stamps it), the audit trail (which records refused attempts too).
BENIGN_TABLES = {"django_session", "axes_accesslog", "axes_accessattempt", "core_auditentry"}


def body_text(response: HttpResponseBase) -> str:
    """Everything a user could read in the answer: the page, the JSON, a download (xlsx files unzipped)."""
    streaming = getattr(response, "streaming", False)
    raw = b"".join(response.streaming_content) if streaming else response.content  # type: ignore[attr-defined]
    if raw[:2] == b"PK":
        try:
            with zipfile.ZipFile(io.BytesIO(raw)) as archive:
                raw = b"".join(archive.read(name) for name in archive.namelist())
        except zipfile.BadZipFile:
            pass
    return raw.decode("utf-8", errors="replace") + " " + response.get("Location", "")


def is_refusal(response: HttpResponseBase) -> bool:
    if response.status_code in (401, 403, 404, 405):
        return True
    location = response.get("Location", "")
    return response.status_code in (301, 302, 303) and (
        "/accounts/login/" in location or "/admin/login/" in location
    )


def writes(queries: CaptureQueriesContext) -> list[tuple[str, str]]:
    """(table, statement) of every INSERT, UPDATE and DELETE but the benign ones."""
    found = []
    for query in queries.captured_queries:
        sql = query["sql"].strip()
        if sql.split(None, 1)[0].upper() not in ("INSERT", "UPDATE", "DELETE"):
            continue
        table = re.search(r'(?:INTO|UPDATE|FROM)\s+"?(\w+)"?', sql, re.IGNORECASE)
        name = table.group(1) if table is not None else ""
        if name not in BENIGN_TABLES:
            found.append((name, sql[:160]))
    return found


def post_body(place: Place) -> dict[str, Any]:
    """A plausible body for any form or endpoint: every related id a write might take, pointing at the foreign
    place, and harmless texts."""
    ids: dict[str, Any] = {
        "household": _pk(place.household),
        "resident": _pk(place.resident),
        "reporter": _pk(place.resident),
        "building": _pk(place.building),
        "compound": _pk(place.compound),
        "patrol_site": _pk(place.patrol_site),
        "area": _pk(place.area),
        "demand": _pk(place.demand),
        "visit": None if place.visit is None else str(place.visit.pk),
        "finding": _pk(place.finding),
        "meeting": _pk(place.meeting),
        "event": _pk(place.event),
        "registration": _pk(place.registration),
        "department": _pk(place.department),
        "category": _pk(place.category),
        "tag": _pk(place.tag),
        "cadre": _pk(place.cadre),
        "owner": _pk(place.cadre),
        "user": _pk(place.cadre),
        "action_item": _pk(place.action_item),
    }
    body: dict[str, Any] = {key: value for key, value in ids.items() if value is not None}
    for many, one in (("demands", "demand"), ("tags", "tag"), ("households", "household"), ("users", "user")):
        if one in body:
            body[many] = [body[one]]
    body.update(
        text="越权测试",
        title="越权测试",
        name="越权测试",
        note="越权测试",
        reason="越权测试",
        description="越权测试",
        kind="problem",
        source="walk_in",
        days=1,
        deadline="2026-06-30",
        attended="on",
        version=1,
    )
    return body


@dataclass
class Case:
    role: str
    place: str
    method: str
    url: str
    problem: str

    def __str__(self) -> str:
        return f"{self.role} {self.method} {self.url} ({self.place}): {self.problem}"


def check(
    client: Client,
    role: str,
    place: Place,
    method: str,
    url: str,
    *,
    foreign_path: bool,
    nested: bool,
    markers: list[str],
    body: dict[str, Any] | None = None,
    as_json: bool = False,
) -> Case | None:
    """Request `url` and say what is wrong, or None. `foreign_path`: the path names a foreign object, so the answer
    must be a refusal (unless `nested`: street 1's own object, readable, with foreign data inside) and nothing may
    be written; otherwise the user may write in their own scope, but no row of the foreign place may change and no
    new row may point at one. Each request's writes are rolled back, so every case starts from the same world."""
    kwargs: dict[str, Any] = {}
    if body is not None:
        kwargs = {"data": json.dumps(body), "content_type": "application/json"} if as_json else {"data": body}
    problems = []
    with transaction.atomic():
        with CaptureQueriesContext(connection) as queries:
            response = getattr(client, method.lower())(url, **kwargs)
        written = writes(queries)
        if written and foreign_path and not nested:
            problems.append(f"wrote to the database: {written[0]}")
        elif written:
            for model in {TABLES[table] for table, _sql in written if table in TABLES}:
                if foreign_rows(model, place) != BASELINE[(place.name, model)]:
                    problems.append(f"changed {model._meta.label} rows of {place.name}")
        transaction.set_rollback(True)
    text = body_text(response)
    if response.status_code >= 500:
        problems.append(f"server error {response.status_code}")
    if foreign_path and not nested and not is_refusal(response):
        problems.append(f"answered {response.status_code}, not a refusal")
    for marker in markers:
        if marker in text:
            problems.append(f"body shows {marker}")
    if problems:
        return Case(role, place.name, method, url, "; ".join(problems))
    return None


# Every model (with the many-to-many tables) by its table, and what each foreign place holds of it.
TABLES: dict[str, type[Model]] = {m._meta.db_table: m for m in apps.get_models(include_auto_created=True)}
BASELINE: dict[tuple[str, type[Model]], frozenset[str]] = {}


def place_objects(place: Place) -> dict[type[Model], set[Any]]:
    objects: dict[type[Model], set[Any]] = {} if place.inner is None else place_objects(place.inner)
    for name, value in [*vars(place).items(), *(("user", user) for user in place.users)]:
        if isinstance(value, Model) and name not in place.containers:
            objects.setdefault(type(value), set()).add(value.pk)
    return objects


def foreign_rows(model: type[Model], place: Place) -> frozenset[str]:
    """The rows of `model` that are the place's objects or point at one."""
    objects = place_objects(place)
    where = Q(pk__in=objects.get(model, set()))
    for f in model._meta.concrete_fields:
        if f.is_relation and f.related_model in objects:
            where |= Q(**{f"{f.attname}__in": objects[f.related_model]})
    return frozenset(repr(row) for row in model._default_manager.filter(where).values_list())


def markers_for(sw: ScopeWorld, role: str) -> list[str]:
    return sorted({place.marker for place in sw.foreign_places(role)})


# --- known leaks, fixed elsewhere (strict: when the fix lands, the xpass fails and the mark must go) -------------

KNOWN_LEAKS: dict[str, str] = {}


def _param(route: RouteInfo) -> Any:
    reason = KNOWN_LEAKS.get(route.name)
    marks = [pytest.mark.xfail(strict=True, reason=f"leak: {reason}")] if reason else []
    return pytest.param(route, id=route.name or route.route, marks=marks)


COUNTED: dict[str, int] = {"cases": 0}


def run_route(sw: ScopeWorld, route: RouteInfo, methods: tuple[str, ...] = ("GET", "POST")) -> list[Case]:
    failures: list[Case] = []
    cases = 0
    as_json = route.route.startswith("api/")
    for role, client in clients(sw).items():
        markers = markers_for(sw, role)
        for place in sw.foreign_places(role):
            nested = place is sw.nested_b
            if route.params:
                filled = FILLERS[route.name](place)
                urls = [reverse(route.name, kwargs=kwargs) for kwargs in filled]
            else:
                if nested:
                    continue  # a page without a path names no object: area B's markers are checked with B
                urls = [reverse(route.name)]
            for url in urls:
                for method in methods:
                    body = post_body(place) if method != "GET" else None
                    cases += 1
                    failure = check(
                        client,
                        role,
                        place,
                        method,
                        url,
                        foreign_path=bool(route.params),
                        nested=nested,
                        markers=[place.marker] if nested else markers,
                        body=body,
                        as_json=as_json,
                    )
                    if failure is not None:
                        failures.append(failure)
    COUNTED["cases"] += cases
    assert cases, f"{route.name}: no case was generated (no foreign object fills {route.params})"
    return failures


def test_every_route_is_covered() -> None:
    """A new page or endpoint with path parameters needs a rule for filling them with a foreign object."""
    missing = [r.route for r in ROUTES if r.params and r.name not in FILLERS]
    assert not missing, f"routes without a foreign-object filler: {missing}"
    assert not [r.route for r in ROUTES if not r.name], "every route needs a name to be reversed"


# --- the OpenAPI schema: every operation, every documented method -------------------------------------------------

SCHEMA = SchemaGenerator().get_schema(request=None, public=True)
OPERATIONS = [
    (path, method.upper())
    for path, item in SCHEMA["paths"].items()
    for method in item
    if method in ("get", "post", "put", "patch", "delete")
]
FAKE_UUID = str(uuid.UUID(int=1))


def _route_name_of(path: str) -> str:
    sample = re.sub(r"\{(\w+)\}", lambda m: FAKE_UUID if "visits" in path else "1", path)
    return resolve(sample).url_name or ""


KNOWN_OPERATION_LEAKS: dict[tuple[str, str], str] = {}


def _op_param(path: str, method: str) -> Any:
    reason = KNOWN_OPERATION_LEAKS.get((path, method))
    marks = [pytest.mark.xfail(strict=True, reason=f"leak: {reason}")] if reason else []
    return pytest.param(path, method, id=f"{method} {path}", marks=marks)


def test_the_schema_documents_operations() -> None:
    assert len(OPERATIONS) >= 40
    assert all(_route_name_of(path) for path, _method in OPERATIONS)


@pytest.mark.parametrize(("path", "method"), [_op_param(p, m) for p, m in OPERATIONS])
def test_api_operation_refuses_foreign_objects(sw: ScopeWorld, path: str, method: str) -> None:
    name = _route_name_of(path)
    route = next(r for r in ROUTES if r.name == name)
    failures = run_route(sw, route, methods=(method,))
    assert not failures, "\n".join(map(str, failures))


# Query parameters of the API's lists that take an id, and the foreign object to give them.
FILTER_OBJECTS = {
    "area": "area",
    "compound": "compound",
    "building": "building",
    "household": "household",
    "resident": "resident",
    "reporter": "resident",
    "demand": "demand",
    "meeting": "meeting",
    "event": "event",
    "category": "category",
    "department": "department",
    "patrol_site": "patrol_site",
    "cadre": "cadre",
    "owner": "cadre",
    "visit": "visit",
}
LIST_FILTERS = [
    (path, parameter["name"])
    for path, item in SCHEMA["paths"].items()
    if "get" in item and "{" not in path
    for parameter in item["get"].get("parameters", [])
    if parameter.get("in") == "query" and parameter["name"] in FILTER_OBJECTS
]


def test_api_lists_have_id_filters_to_try() -> None:
    assert {name for _path, name in LIST_FILTERS} >= {"household", "compound"}


@pytest.mark.parametrize(("path", "parameter"), [pytest.param(p, q, id=f"{p}?{q}") for p, q in LIST_FILTERS])
def test_api_list_filtered_by_a_foreign_id_shows_nothing_foreign(
    sw: ScopeWorld, path: str, parameter: str
) -> None:
    failures = []
    cases = 0
    for role, client in clients(sw).items():
        for place in sw.foreign_places(role):
            obj = getattr(place, FILTER_OBJECTS[parameter])
            if obj is None:
                continue
            cases += 1
            failure = check(
                client,
                role,
                place,
                "GET",
                f"{path}?{parameter}={obj.pk}",
                foreign_path=False,
                nested=False,
                markers=markers_for(sw, role),
            )
            if failure is not None:
                failures.append(failure)
    COUNTED["cases"] += cases
    assert cases
    assert not failures, "\n".join(map(str, failures))


# --- the Django admin ------------------------------------------------------------------------------------------


def test_no_role_reaches_the_django_admin(sw: ScopeWorld) -> None:
    """Django's admin is for staff accounts only; none of the roles is one, so every admin URL (filled with any
    id) sends each of them to the admin's login, and shows nothing of street 2."""
    failures = []
    for role, client in clients(sw).items():
        for route in ADMIN_ROUTES:
            kwargs = {param: "registry" if param == "app_label" else "1" for param in route.params}
            args = ["1"] * route.positional
            if route.name.endswith(":"):
                continue  # the admin's unnamed catch-all (it redirects to the admin's login, like the rest)
            url = reverse(route.name, args=args) if args else reverse(route.name, kwargs=kwargs)
            response = client.get(url)
            COUNTED["cases"] += 1
            if route.name in ("admin:login", "admin:logout"):  # the admin's own login form, and leaving it
                refused = response.status_code in (200, 302)
            else:
                refused = is_refusal(response)
            if not refused or scope_world.MARK_STREET in body_text(response):
                failures.append(f"{role} GET {url}: {response.status_code}")
    assert not failures, "\n".join(failures)


# --- every route: GET and POST (an API operation the schema documents is requested above instead) ---------------


def _undocumented_methods(route: RouteInfo) -> tuple[str, ...]:
    documented = {method for path, method in OPERATIONS if _route_name_of(path) == route.name}
    return tuple(method for method in ("GET", "POST") if method not in documented)


ROUTE_CASES = [(route, _undocumented_methods(route)) for route in ROUTES]


@pytest.mark.parametrize("route", [_param(r) for r, methods in ROUTE_CASES if methods])
def test_route_refuses_foreign_objects_and_shows_no_foreign_text(sw: ScopeWorld, route: RouteInfo) -> None:
    failures = run_route(sw, route, _undocumented_methods(route))
    assert not failures, "\n".join(map(str, failures))


# --- the check can fail: the same pages show the markers to the place's own users ---------------------------------

OWN_VIEWS = [
    "household_detail",
    "demand_detail",
    "visit_detail",
    "meeting_detail",
    "event_detail",
    "action_detail",
    "training_detail",
    "api_household_detail",
    "api_demand_detail",
    "api_meeting_detail",
]


@pytest.mark.parametrize("name", OWN_VIEWS)
def test_the_foreign_pages_do_show_their_markers_to_their_own_street(sw: ScopeWorld, name: str) -> None:
    """Street 2's administrator reads street 2's records, marker and all: the fillers name real pages, and a page
    that leaked would be caught by the marker."""
    client = Client()
    assert sw.street_2.admin is not None
    client.force_login(sw.street_2.admin)
    (kwargs,) = FILLERS[name](sw.street_2)
    response = client.get(reverse(name, kwargs=kwargs))
    assert response.status_code == 200
    assert scope_world.MARK_STREET in body_text(response)


def test_street_level_objects_of_street_1_are_read_by_area_users_and_hold_area_b_data(sw: ScopeWorld) -> None:
    """The nested cases mean something: area A's cadre opens street 1's street-level meeting and event (200),
    while the street administrator sees area B's demand on that meeting's agenda and B's resident registered."""
    cadre, admin = clients(sw)["cadre"], clients(sw)["street_admin"]
    meeting = reverse("meeting_detail", kwargs={"pk": sw.nested_b.meeting.pk})  # type: ignore[union-attr]
    event = reverse("event_detail", kwargs={"pk": sw.nested_b.event.pk})  # type: ignore[union-attr]
    assert cadre.get(meeting).status_code == 200
    assert cadre.get(event).status_code == 200
    assert scope_world.MARK_AREA in body_text(admin.get(meeting))
    assert scope_world.MARK_AREA in body_text(admin.get(event))
