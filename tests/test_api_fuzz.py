"""Schema fuzzing: schemathesis sends generated requests (valid and invalid) to every operation of /api/schema/ and
checks each answer against the schema — no server error, only documented status codes, content types and bodies.

It runs the WSGI application in-process (the same Django stack a live server runs, without a socket), inside the
test's transaction, so what the fuzzer creates is rolled back. Examples per operation are bounded and the seed is
fixed (`derandomize`): the same cases every run, so a failure here is reproducible and never flaky.
"""

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.core.cache import cache
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.utils import timezone
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import FailureGroup

from ningju.api.models import DeviceToken
from ningju.api.tokens import token_create
from ningju.core.models import User
from ningju.demands.services import demand_create
from ningju.meetings import services as meeting_services
from ningju.meetings.models import MeetingKind
from tests.conftest import World

MAX_EXAMPLES = 25  # per operation and mode, as a street admin: ~45 operations × 2 modes in about a minute
CADRE_EXAMPLES = 10  # the same for a cadre, where most ids are out of scope: a shorter second pass
HYPOTHESIS = settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
    report_multiple_bugs=False,
)


# Every check schemathesis has, at its defaults, but one: a schema cannot state every rule of the domain (a demand's
# area must exist, an action item needs an owner or a department, a password must match), so a schema-valid request
# may still be refused with the API's 400 (or 409) — never with anything else.
CONFIG = SchemathesisConfig.from_dict(
    {
        "checks": {
            "positive_data_acceptance": {"expected-statuses": ["2xx", "400", "401", "403", "404", "409"]},
        }
    }
)


@dataclass
class Report:
    cases: int = 0
    failures: list[str] = field(default_factory=list)


@pytest.fixture(autouse=True)
def _no_throttle_leftovers() -> Iterator[None]:
    cache.clear()  # the token endpoint's throttle counts in the cache
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _keep_the_test_connection() -> Iterator[None]:
    """Requests run inside the test's transaction: like Django's test client, keep the connection open between
    them (a WSGI request's end would otherwise close it, and the test's transaction with it)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def seeded(world: World) -> None:
    """A little of everything, so that generated ids sometimes hit a real record."""
    demand, _created = demand_create(
        user=world.cadre, area=world.hengdeli, kind="problem", source="visit", text="楼道堆物"
    )
    meeting = meeting_services.meeting_save(
        user=world.head, kind=MeetingKind.JOINT, title="联席会议", held_at=timezone.now(), area=world.hengdeli
    )
    meeting_services.agenda_add(user=world.head, meeting=meeting, demand_ids=[demand.pk])


def signed_in(user: User) -> Callable[[], dict[str, str]]:
    """The headers of a signed-in device of `user`. The fuzzer also calls the sign-out operations (DELETE
    /api/v1/auth/token/ and /auth/tokens/), which revoke the token: the device then signs in again."""
    device: list[DeviceToken] = []
    headers: dict[str, str] = {}

    def current() -> dict[str, str]:
        if not device or not DeviceToken.objects.filter(pk=device[0].pk).exists():
            token, key = token_create(user=user, name="schemathesis")
            device[:] = [token]
            headers["Authorization"] = f"Token {key}"
        return dict(headers)

    return current


def fuzz_operation(
    operation: Any, mode: GenerationMode, headers: Callable[[], dict[str, str]], report: Report, examples: int
) -> None:
    """Up to `examples` generated requests to one operation; the first failing answer is recorded (hypothesis
    stops there and re-raises it after shrinking, which is swallowed: the report keeps the list)."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(HYPOTHESIS, max_examples=examples)
    def run(case: Any) -> None:
        report.cases += 1
        cache.clear()  # the fuzzer must not trip the token throttle (429 is tested elsewhere)
        try:
            case.call_and_validate(headers=headers())
        except (FailureGroup, Exception) as failure:  # FailureGroup: every failed check of this answer
            report.failures.append(f"{operation.label} [{mode.value}]: {failure}")
            raise

    with contextlib.suppress(FailureGroup, Exception):
        run()


def fuzz(user: User, examples: int = MAX_EXAMPLES) -> Report:
    """Every operation of the schema, in both generation modes, as `user`; failures collected, not raised."""
    headers = signed_in(user)
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application(), config=CONFIG)
    report = Report()
    for result in schema.get_all_operations():
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            fuzz_operation(result.ok(), mode, headers, report, examples)
    return report


@pytest.mark.django_db(transaction=False)
def test_every_operation_answers_as_documented_for_a_street_admin(world: World) -> None:
    seeded(world)
    started = time.monotonic()
    report = fuzz(world.admin)
    elapsed = time.monotonic() - started
    print(f"schemathesis: {report.cases} cases in {elapsed:.1f} s as street admin")
    assert report.cases > 0
    assert report.failures == [], "\n\n".join(dict.fromkeys(report.failures))


@pytest.mark.django_db(transaction=False)
def test_every_operation_answers_as_documented_for_a_cadre(world: World) -> None:
    """An area user: the same operations, most ids now outside the scope (403/404), still only documented answers."""
    seeded(world)
    started = time.monotonic()
    report = fuzz(world.cadre, CADRE_EXAMPLES)
    print(f"schemathesis: {report.cases} cases in {time.monotonic() - started:.1f} s as cadre")
    assert report.cases > 0
    assert report.failures == [], "\n\n".join(dict.fromkeys(report.failures))
