"""What ships answers every page: every URL pattern of the project, requested with GET as each role (and signed
out) from gunicorn with the collected static files, on a seeded street. No answer may be a server error.

Path parameters are real: ids, area codes, usernames and dates of objects in the seed, chosen in the area of the
area users, so that most pages are answered for real rather than refused. A new URL pattern with a parameter this
test does not know fails it until a value is added to `path_values()`.
"""

import re
import stat
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.db.models import Model
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RoutePattern
from django.utils import timezone

from ningju.core.models import Job, JobKind, JobStatus, Notification, User
from ningju.demands.models import Attachment, Category, Demand
from ningju.insights.models import Cluster, Mechanism
from ningju.meetings.models import (
    ActionItem,
    AgendaItem,
    Attendee,
    Event,
    Meeting,
    MeetingFile,
    Registration,
    ScorecardIssue,
    TrainingSession,
)
from ningju.registry.models import Building, Compound, Household, Resident, ResidentialArea, Tag
from ningju.visits.models import Finding, Route, Visit
from tests.e2e.conftest import ShippedServers

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# The demo's accounts, one per role; the area users work in 恒德里 (310106006006).
ROLES = {
    "street_admin": "admin",
    "area_head": "head-006",
    "cadre": "cadre-006-1",
    "liaison": "dept-chengguan",
    "anonymous": None,
}
# Admin pages that take an object id, an app label or a content type: no role above is staff, so the admin sends
# each of them to its login page before it reads the parameter. The admin's pages without one are requested.
ADMIN_WITH_PARAMETERS = re.compile(r"^admin/.*(<|\(\?P<|\^\()")
# DRF's catch-all (`api/^.*$`, an unknown API path answered with JSON) is requested at an unknown path.
CATCH_ALL = {"api_not_found": "/api/v1/no-such-endpoint/"}


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a redirect is an answer in itself (to the login page, to the next page)


OPENER = urllib.request.build_opener(NoRedirect)


def fetch(url: str, session: str | None) -> tuple[int, str]:
    request = urllib.request.Request(url, headers={"Accept-Language": "zh-hans"})
    if session:
        request.add_header("Cookie", f"{settings.SESSION_COOKIE_NAME}={session}")
    try:
        with OPENER.open(request, timeout=120) as response:
            return int(response.status), response.headers.get("Content-Type", "")
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type", "")


def url_patterns(patterns: list[Any] | None = None, prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
    """Every URL pattern of the project with its full route (the prefixes of the includes joined)."""
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(entry, URLResolver):
            yield from url_patterns(entry.url_patterns, prefix + str(entry.pattern))
        else:
            yield prefix + str(entry.pattern), entry


def first(model: type[Model], **filters: Any) -> Any:
    found = model._default_manager.filter(**filters).order_by("pk").first()
    assert found is not None, f"the seed has no {model.__name__} ({filters})"
    return found


def complete_the_seed(admin: User, cadre: User) -> None:
    """What the demo street does not make: jobs, notices, files and a normalized mechanism."""
    area = cadre.area  # type: ignore[attr-defined]
    job = Job.objects.create(
        kind=JobKind.REGISTRY_EXPORT,
        handler="ningju.registry.exports.export_job",
        status=JobStatus.SUCCEEDED,
        progress=100,
        created_by=cadre,
        finished_at=timezone.now(),
    )
    job.output_file.save("smoke.xlsx", ContentFile(b"PK smoke"), save=True)
    Notification.objects.create(user=cadre, title="冒烟测试", url="/demands/", key="smoke")
    demand = first(Demand, area=area)
    attachment = Attachment(demand=demand, name="photo.jpg", content_type="image/jpeg", size=4, uploaded_by=cadre)
    attachment.file.save("photo.jpg", ContentFile(b"\xff\xd8\xff\xd9"), save=True)
    meeting = first(Meeting, area=area)
    meeting_file = MeetingFile(
        meeting=meeting, name="纪要.txt", content_type="text/plain", size=6, uploaded_by=cadre
    )
    meeting_file.file.save("minutes.txt", ContentFile("纪要".encode()), save=True)
    mechanism = Mechanism.objects.create(street=area.street, name="楼道堆物每周巡查", cluster=first(Cluster))
    mechanism.areas.add(area)
    mechanism.owners.add(cadre)
    ScorecardIssue.objects.create(
        street=area.street,
        subject="area",
        start=timezone.localdate() - timedelta(days=30),
        end=timezone.localdate(),
        weights={},
        rows=[],
        issued_by=admin,
    )


def path_values(cadre: User) -> dict[str, dict[str, str]]:
    """The path parameters of each named route, from the seed (the cadre's area where the object has one)."""
    area: ResidentialArea = cadre.area  # type: ignore[attr-defined]
    household = first(Household, building__compound__area=area)
    route = first(Route, area=area)
    meeting = first(Meeting, area=area)
    event = first(Event, area=area)
    training = first(TrainingSession)
    cluster = first(Cluster)
    mechanism = first(Mechanism)
    demand = first(Demand, area=area)
    on_route = {"username": route.cadre.username, "day": route.day.isoformat()}
    return {
        "job_detail": {"job_id": str(first(Job).pk)},
        "job_download": {"job_id": str(first(Job).pk)},
        "password_reset": {"user_id": str(cadre.pk)},
        "notification_open": {"notice_id": str(first(Notification).pk)},
        "area_detail": {"code": area.code},
        "compound_detail": {"pk": str(first(Compound, area=area).pk)},
        "compound_contact_reveal": {"pk": str(first(Compound, area=area).pk)},
        "staff_phone": {"user_id": str(cadre.pk)},
        "building_detail": {"pk": str(first(Building, compound__area=area).pk)},
        "household_detail": {"pk": str(household.pk)},
        "household_edit": {"pk": str(household.pk)},
        "resident_edit": {"pk": str(first(Resident, household=household).pk)},
        "resident_reveal": {"pk": str(first(Resident, household=household).pk)},
        "tag_edit": {"pk": str(first(Tag).pk)},
        "route_day": on_route,
        "route_print": on_route,
        "route_replan": on_route,
        "household_visits": {"pk": str(household.pk)},
        "visit_detail": {"pk": str(first(Visit, area=area).pk)},
        "pairing_area": {"code": area.code},
        "pairing_proposal": {"code": area.code},
        "pairing_hand_over": {"code": area.code},
        "finding_to_demand": {"finding_pk": str(first(Finding, visit__area=area).pk)},
        "demand_category_edit": {"pk": str(first(Category).pk)},
        "demand_detail": {"pk": str(demand.pk)},
        "demand_step": {"pk": str(demand.pk), "action": "contact"},
        "demand_attachment": {"pk": str(first(Attachment).pk)},
        "cluster_detail": {"pk": str(cluster.pk)},
        "cluster_decide": {"pk": str(cluster.pk), "decision": "confirm"},
        "cluster_split": {"pk": str(cluster.pk)},
        "mechanism_new": {"pk": str(cluster.pk)},
        "mechanism_detail": {"pk": str(mechanism.pk)},
        "mechanism_edit": {"pk": str(mechanism.pk)},
        "action_detail": {"pk": str(first(ActionItem, meeting__area=area).pk)},
        "event_detail": {"pk": str(event.pk)},
        "event_edit": {"pk": str(event.pk)},
        "event_residents": {"pk": str(event.pk)},
        "event_register": {"pk": str(event.pk)},
        "event_registration": {"pk": str(first(Registration, event=event).pk)},
        "training_detail": {"pk": str(training.pk)},
        "training_edit": {"pk": str(training.pk)},
        "training_attendance": {"pk": str(training.pk)},
        "scorecard_issue": {"pk": str(first(ScorecardIssue).pk)},
        "meeting_detail": {"pk": str(meeting.pk)},
        "meeting_edit": {"pk": str(meeting.pk)},
        "meeting_attendee_add": {"pk": str(meeting.pk)},
        "meeting_attendee_remove": {"pk": str(first(Attendee, meeting=meeting).pk)},
        "meeting_agenda": {"pk": str(meeting.pk)},
        "meeting_agenda_remove": {"pk": str(first(AgendaItem, meeting__area=area).pk)},
        "meeting_agenda_action": {"pk": str(first(AgendaItem, meeting__area=area).pk)},
        "meeting_file_add": {"pk": str(meeting.pk)},
        "meeting_file": {"pk": str(first(MeetingFile).pk)},
        "api_area_detail": {"pk": str(area.pk)},
        "api_compound_detail": {"pk": str(first(Compound, area=area).pk)},
        "api_building_detail": {"pk": str(first(Building, compound__area=area).pk)},
        "api_household_detail": {"pk": str(household.pk)},
        "api_resident_detail": {"pk": str(first(Resident, household=household).pk)},
        "api_resident_reveal": {"pk": str(first(Resident, household=household).pk)},
        "api_visit_detail": {"pk": str(first(Visit, area=area).pk)},
        **{name: {"pk": str(demand.pk)} for name in DEMAND_API_ACTIONS},
        "api_meeting_detail": {"pk": str(meeting.pk)},
        "api_action_detail": {"pk": str(first(ActionItem, meeting__area=area).pk)},
    }


DEMAND_API_ACTIONS = [
    "api_demand_detail",
    "api_demand_contact",
    "api_demand_start_handling",
    "api_demand_resolve",
    "api_demand_request_callback",
    "api_demand_callback",
    "api_demand_close",
    "api_demand_whistle",
    "api_demand_street_accept",
    "api_demand_dispatch",
    "api_demand_redispatch",
    "api_demand_acknowledge",
    "api_demand_department_start",
    "api_demand_department_resolve",
    "api_demand_return_order",
    "api_demand_request_extension",
    "api_demand_approve_extension",
    "api_demand_deny_extension",
    "api_demand_merge",
]


def urls_to_request(values: dict[str, dict[str, str]]) -> tuple[list[str], list[str]]:
    """(the path of every URL pattern with its parameters filled, the admin patterns skipped)."""
    paths: list[str] = []
    skipped: list[str] = []
    for route, pattern in url_patterns():
        if ADMIN_WITH_PARAMETERS.search(route):
            skipped.append(route)
            continue
        if pattern.name in CATCH_ALL:
            paths.append(CATCH_ALL[pattern.name])
            continue
        assert isinstance(pattern.pattern, RoutePattern) or "(" not in route, f"no value for the regex {route}"
        parameters = re.findall(r"<(?:\w+:)?(\w+)>", route)
        if parameters:
            assert pattern.name in values, f"no seed value for the parameters of {route} ({pattern.name})"
            given = values[pattern.name]
            assert sorted(given) == sorted(parameters), (
                f"{route} takes {parameters}, the test gives {sorted(given)}"
            )
            for name, value in given.items():
                route = re.sub(rf"<(?:\w+:)?{name}>", value, route)
        paths.append("/" + route.lstrip("^").rstrip("$"))
    return paths, skipped


@pytest.fixture
def seeded() -> dict[str, User]:
    call_command("demo", households=60, seed=7, verbosity=0)
    users = {role: User.objects.get(username=name) for role, name in ROLES.items() if name}
    complete_the_seed(users["street_admin"], users["cadre"])
    return users


def session_for(user: User) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def test_every_url_as_every_role_answers_without_a_server_error(
    shipped_server: str, seeded: dict[str, User], capsys: pytest.CaptureFixture[str]
) -> None:
    paths, skipped = urls_to_request(path_values(seeded["cadre"]))
    sessions = {role: session_for(user) for role, user in seeded.items()}
    answers: dict[str, dict[str, int]] = {}
    for role in ROLES:
        for path in paths:
            status, _type = fetch(shipped_server + path, sessions.get(role))
            answers.setdefault(path, {})[role] = status

    errors = {path: by_role for path, by_role in answers.items() if any(s >= 500 for s in by_role.values())}
    assert not errors, f"server errors: {errors}"
    requests = sum(len(by_role) for by_role in answers.values())
    answered = sum(1 for by_role in answers.values() for status in by_role.values() if status == 200)
    with capsys.disabled():
        print(
            f"\nsmoke: {len(paths)} URLs × {len(ROLES)} roles = {requests} requests, {answered} answered 200, "
            f"none 5xx; {len(skipped)} admin URLs with parameters skipped"
        )
    assert requests == len(paths) * len(ROLES)
    # The seed fills the parameters for real: the area users' own pages answer, not only refusals.
    for role in ("street_admin", "area_head", "cadre"):
        own = [path for path in paths if "<" not in path and answers[path][role] == 200]
        assert len(own) > 40, f"{role}: only {len(own)} pages answered 200"


def test_service_worker_is_served_as_javascript(shipped_server: str) -> None:
    status, content_type = fetch(f"{shipped_server}/visits/sw.js", None)

    assert status == 200
    assert content_type.startswith("application/javascript")


def test_access_log_keeps_paths_but_no_identifier(
    shipped_server: str, shipped_servers: ShippedServers, server_env: dict[str, str]
) -> None:
    fetch(f"{shipped_server}/search/?q=310106194503071228", None)
    fetch(f"{shipped_server}/healthz?phone=13812345678", None)

    log = shipped_servers.get(server_env).var_dir / "access.log"
    text = log.read_text()
    assert '"GET /search/ HTTP/1.1" 302' in text
    assert "310106194503071228" not in text and "13812345678" not in text and "?" not in text
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
