"""Response headers: nothing that shows a clear identifier or holds residents' data is kept by a browser or proxy
(`Cache-Control: no-store`), and every response says which browser features the site may use
(Permissions-Policy)."""

from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import HttpResponseBase
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from ningju.core.models import Job, JobStatus, User
from ningju.demands.attachments import attachment_add
from ningju.demands.models import Kind, Source
from ningju.demands.services import demand_create
from ningju.meetings import services as meeting_services
from ningju.meetings.models import MeetingFile, MeetingKind
from tests.conftest import World

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" + b"0" * 32


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def assert_not_stored(response: HttpResponseBase) -> None:
    assert response.status_code == 200, response.status_code
    directives = {part.strip() for part in response["Cache-Control"].split(",")}
    assert "no-store" in directives, response["Cache-Control"]
    assert not any(d.startswith("max-age=") and d != "max-age=0" for d in directives), response["Cache-Control"]


def test_revealed_identifier_page_is_not_stored(world: World) -> None:
    response = signed_in(world.cadre).post(
        reverse("resident_reveal", args=[world.resident.pk]), {"field": "id_number", "reason": "核对身份"}
    )
    assert "310106194503071228" in response.content.decode()
    assert_not_stored(response)


def test_api_reveal_is_not_stored(world: World) -> None:
    client = APIClient()
    client.force_authenticate(world.cadre)
    response = client.post(
        reverse("api_resident_reveal", args=[world.resident.pk]), {"field": "phone", "reason": "电话回访"}
    )
    assert_not_stored(response)


def test_export_download_is_not_stored(world: World, settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path
    job = Job.objects.create(
        kind="registry_export", handler="x", created_by=world.admin, status=JobStatus.SUCCEEDED
    )
    job.output_file.save("e.xlsx", ContentFile(b"clear ids"), save=True)
    assert_not_stored(signed_in(world.admin).get(reverse("job_download", args=[job.pk])))


def test_demand_attachment_is_not_stored_nor_cached_for_an_hour(
    world: World, settings: Any, tmp_path: Any
) -> None:
    settings.MEDIA_ROOT = tmp_path
    demand, _created = demand_create(
        user=world.cadre, area=world.hengdeli, kind=Kind.PROBLEM, source=Source.VISIT, text="楼道堆物",
        household=world.household, reporter=world.resident,
    )  # fmt: skip
    attachment = attachment_add(user=world.cadre, demand=demand, upload=SimpleUploadedFile("整改通知.pdf", PDF))
    assert_not_stored(signed_in(world.head).get(reverse("demand_attachment", args=[attachment.pk])))


def test_meeting_file_is_not_stored(world: World, settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path
    meeting = meeting_services.meeting_save(
        user=world.head, kind=MeetingKind.JOINT, title="联席会议", held_at=timezone.now(), area=world.hengdeli
    )
    stored = MeetingFile.objects.create(
        meeting=meeting, file=ContentFile(PDF, name="m.pdf"), name="纪要.pdf", uploaded_by=world.head
    )
    assert_not_stored(signed_in(world.head).get(reverse("meeting_file", args=[stored.pk])))


def test_overdue_and_troika_exports_are_not_stored(world: World) -> None:
    head = signed_in(world.head)
    assert_not_stored(head.get(reverse("overdue_export")))
    assert_not_stored(signed_in(world.admin).get(reverse("troika_export")))


def test_scorecard_export_is_not_stored(world: World) -> None:
    response = signed_in(world.admin).get(reverse("scorecards"), {"format": "xlsx"})
    assert response["Content-Disposition"].startswith("attachment")
    assert_not_stored(response)


def test_temporary_password_page_is_not_stored(world: World) -> None:
    assert_not_stored(signed_in(world.admin).post(reverse("password_reset", args=[world.cadre.pk])))


def test_every_response_carries_a_permissions_policy(world: World) -> None:
    for response in (
        Client().get(reverse("login")),
        signed_in(world.cadre).get(reverse("area_list")),
        Client().get("/api/v1/areas/"),
    ):
        policy = {part.strip() for part in response["Permissions-Policy"].split(",")}
        # The visit form records where the visit took place and takes photos; nothing listens or pays.
        assert {"geolocation=(self)", "camera=(self)", "microphone=()", "payment=()", "usb=()"} <= policy
