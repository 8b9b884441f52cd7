"""The demand page: scoped like every record, the whole timeline, exactly the steps each person may take, steps
posted as forms that change the demand or change nothing with a clear message, and attachments that are checked,
stored privately and served only to those who may see the demand, with every serve audited."""

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from ningju.core.models import AuditAction, AuditEntry, User
from ningju.demands import display
from ningju.demands.attachments import attachment_add
from ningju.demands.models import Attachment, Demand, DemandEvent, Kind, Source
from ningju.demands.services import demand_act, demand_create
from ningju.demands.workflow import Action, State
from tests.conftest import World

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" + b"0" * 32


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def record(world: World, user: User | None = None, **kwargs: Any) -> Demand:
    fields: dict[str, Any] = {
        "area": world.hengdeli,
        "kind": Kind.PROBLEM,
        "source": Source.VISIT,
        "text": "楼下酒吧午夜后噪音很大",
        "household": world.household,
        "reporter": world.resident,
        **kwargs,
    }
    demand, _created = demand_create(user=user or world.cadre, **fields)
    return demand


def step(demand: Demand, user: User, action: str, **params: Any) -> Demand:
    return demand_act(user=user, demand_id=demand.pk, action=action, expected_version=demand.version, **params)


def in_area_handling(world: World) -> Demand:
    demand = record(world)
    demand = step(demand, world.cadre, Action.CONTACT)
    return step(demand, world.cadre, Action.START_HANDLING)


def dispatched(world: World) -> Demand:
    demand = step(in_area_handling(world), world.head, Action.WHISTLE, reason="酒吧噪音超出居民区职权")
    demand = step(demand, world.admin, Action.STREET_ACCEPT)
    return step(demand, world.admin, Action.DISPATCH, departments=[world.department.pk])


def page(client: Client, user: User, demand: Demand) -> Any:
    client.force_login(user)
    return client.get(reverse("demand_detail", args=[demand.pk]))


def offered(response: Any) -> set[str]:
    """The steps the page offers, by the URL each form posts to."""
    return set(re.findall(r"/step/([a-z_]+)/", response.content.decode()))


def post_step(client: Client, demand: Demand, action: str, **data: Any) -> Any:
    data.setdefault("version", demand.version)
    return client.post(reverse("demand_step", args=[demand.pk, action]), data)


# --- scoping -----------------------------------------------------------------------------------------------------


def test_cadre_of_another_area_is_refused_with_a_chinese_message(client: Client, world: World) -> None:
    response = page(client, world.other_cadre, record(world))
    assert response.status_code == 403
    assert "您无权查看该记录" in response.content.decode()


def test_missing_demand_is_not_found(client: Client, world: World) -> None:
    client.force_login(world.cadre)
    assert client.get(reverse("demand_detail", args=[999])).status_code == 404


def test_liaison_sees_only_demands_dispatched_to_their_department(client: Client, world: World) -> None:
    fresh = record(world, text="楼道灯坏了")
    sent = dispatched(world)
    assert page(client, world.liaison, fresh).status_code == 403
    assert page(client, world.liaison, sent).status_code == 200


def test_page_shows_the_demand_with_reporter_name_but_no_identifiers(client: Client, world: World) -> None:
    demand = record(world)
    body = page(client, world.head, demand).content.decode()
    assert "楼下酒吧午夜后噪音很大" in body
    assert "王秀英" in body and "13812345678" not in body and "310106194503071228" not in body
    assert reverse("household_detail", args=[world.household.pk]) in body
    assert world.cadre.display_name in body  # the first-contact owner
    assert "受理" in body


def test_liaison_reads_the_address_without_a_registry_link(client: Client, world: World) -> None:
    body = page(client, world.liaison, dispatched(world)).content.decode()
    assert world.household.address in body
    assert reverse("household_detail", args=[world.household.pk]) not in body
    assert "城管" in body  # the dispatch table names the department


# --- timeline ------------------------------------------------------------------------------------------------------


def test_timeline_shows_each_step_with_actor_and_reason(client: Client, world: World) -> None:
    demand = dispatched(world)
    body = page(client, world.admin, demand).content.decode()
    timeline = body[body.index('id="timeline"') :]
    for label in ("登记", "联系", "开始处置", "吹哨", "街道受理", "派单"):
        assert f'<strong class="event-action">{label}</strong>' in timeline
    assert "酒吧噪音超出居民区职权" in timeline
    assert world.head.display_name in timeline and "居民区书记/主任" in timeline
    assert "派单部门：城管" in timeline
    assert "居民区处置 → " in timeline


def test_callback_result_and_extension_days_read_in_words(client: Client, world: World) -> None:
    demand = in_area_handling(world)
    demand = step(demand, world.cadre, Action.REQUEST_EXTENSION, reason="需协调物业", days=3)
    demand = step(demand, world.admin, Action.APPROVE_EXTENSION)
    demand = step(demand, world.cadre, Action.RESOLVE)
    demand = step(demand, world.cadre, Action.REQUEST_CALLBACK)
    demand = step(demand, world.cadre, Action.CALLBACK, callback_result="basically_satisfied")
    body = page(client, world.cadre, demand).content.decode()
    assert "延期：3个工作日" in body
    assert "回访结果：基本满意" in body
    assert "已批准" in body  # the extension request's status
    assert "结案" in body


def test_merged_demand_links_to_its_target_and_back(client: Client, world: World) -> None:
    target = record(world, text="酒吧噪音（首次反映）")
    duplicate = record(world, text="酒吧噪音（再次反映）", reporter=None)
    step(duplicate, world.admin, Action.MERGE, reason="同一家酒吧", target=target.pk)
    body = page(client, world.admin, duplicate).content.decode()
    assert reverse("demand_detail", args=[target.pk]) in body
    back = page(client, world.admin, target).content.decode()
    assert reverse("demand_detail", args=[duplicate.pk]) in back


# --- the steps each person may take -----------------------------------------------------------------------------


def test_cadre_sees_contact_on_a_fresh_demand_and_no_whistle(client: Client, world: World) -> None:
    assert offered(page(client, world.cadre, record(world))) == {"contact"}


def test_area_head_sees_whistle_in_area_handling(client: Client, world: World) -> None:
    demand = in_area_handling(world)
    assert "whistle" in offered(page(client, world.head, demand))
    assert "whistle" not in offered(page(client, world.cadre, demand))


def test_street_admin_sees_street_accept_then_dispatch(client: Client, world: World) -> None:
    demand = step(in_area_handling(world), world.head, Action.WHISTLE, reason="需要部门")
    assert {"street_accept", "merge"} == offered(page(client, world.admin, demand))
    demand = step(demand, world.admin, Action.STREET_ACCEPT)
    assert {"dispatch", "merge"} == offered(page(client, world.admin, demand))


def test_liaison_sees_acknowledge(client: Client, world: World) -> None:
    assert "acknowledge" in offered(page(client, world.liaison, dispatched(world)))


def test_dispatch_form_preselects_the_categorys_usual_department(client: Client, world: World) -> None:
    from ningju.demands.models import Category

    noise = Category.objects.get(street=world.street, name="噪音扰民", parent=None)
    noise.default_department = world.department
    noise.save(update_fields=["default_department"])
    demand = step(in_area_handling(world), world.head, Action.WHISTLE, reason="需要部门")
    Demand.objects.filter(pk=demand.pk).update(category=noise)
    demand = step(Demand.objects.get(pk=demand.pk), world.admin, Action.STREET_ACCEPT)
    body = page(client, world.admin, demand).content.decode()
    assert re.search(rf'name="departments" value="{world.department.pk}"[^>]*checked', body)


def test_each_step_form_has_exactly_the_inputs_its_rule_requires(client: Client, world: World) -> None:
    demand = step(record(world), world.cadre, Action.CONTACT)
    demand = step(demand, world.cadre, Action.START_HANDLING)
    body = page(client, world.head, demand).content.decode()
    whistle = body[body.index('id="step-whistle"') :]
    whistle = whistle[: whistle.index("</details>")]
    assert 'name="reason"' in whistle and 'name="version"' in whistle and 'name="files"' in whistle
    resolve = body[body.index('id="step-resolve"') :]
    resolve = resolve[: resolve.index("</details>")]
    assert 'name="reason"' not in resolve and 'name="note"' in resolve


# --- posting a step ----------------------------------------------------------------------------------------------


def test_posting_a_step_moves_the_state_and_writes_an_event(client: Client, world: World) -> None:
    demand = record(world)
    client.force_login(world.cadre)
    response = post_step(client, demand, "contact", note="已电话联系王阿姨")
    assert response.status_code == 302 and response.url == reverse("demand_detail", args=[demand.pk])
    demand.refresh_from_db()
    assert demand.state == State.CONTACTED and demand.version == 2
    event = DemandEvent.objects.filter(demand=demand).last()
    assert event is not None and event.action == Action.CONTACT and event.actor == world.cadre
    assert event.note == "已电话联系王阿姨"
    assert "已完成“联系”" in client.get(response.url).content.decode()


def test_dispatch_posts_the_chosen_departments(client: Client, world: World) -> None:
    demand = step(in_area_handling(world), world.head, Action.WHISTLE, reason="需要部门")
    demand = step(demand, world.admin, Action.STREET_ACCEPT)
    client.force_login(world.admin)
    post_step(client, demand, "dispatch", departments=[world.department.pk])
    demand.refresh_from_db()
    assert demand.state == State.DISPATCHED
    assert demand.dispatches.get().department == world.department


def test_missing_reason_shows_the_chinese_message_and_changes_nothing(client: Client, world: World) -> None:
    demand = in_area_handling(world)
    events = DemandEvent.objects.count()
    client.force_login(world.head)
    response = post_step(client, demand, "whistle", reason="  ", note="我写的说明")
    assert response.status_code == 400
    body = response.content.decode()
    assert "吹哨须填写原因" in body
    assert "我写的说明" in body  # the input is kept
    assert 'id="step-whistle" open' in body
    demand.refresh_from_db()
    assert demand.state == State.AREA_HANDLING and DemandEvent.objects.count() == events


def test_step_not_allowed_to_this_person_shows_why_and_changes_nothing(client: Client, world: World) -> None:
    demand = in_area_handling(world)
    client.force_login(world.cadre)
    response = post_step(client, demand, "whistle", reason="想吹哨")
    assert response.status_code == 400
    assert "只有本居民区书记/主任可以吹哨" in response.content.decode()
    demand.refresh_from_db()
    assert demand.state == State.AREA_HANDLING


def test_stale_version_shows_the_refresh_message_and_changes_nothing(client: Client, world: World) -> None:
    demand = record(world)
    seen = demand.version
    step(demand, world.head, Action.CONTACT)  # someone else acted meanwhile
    client.force_login(world.cadre)
    response = post_step(client, demand, "start_handling", version=seen)
    assert response.status_code == 302
    follow = client.get(response.url).content.decode()
    assert "该诉求已被他人更新，请刷新后重试" in follow
    demand.refresh_from_db()
    assert demand.state == State.CONTACTED and demand.version == seen + 1


def test_other_areas_cadre_cannot_post_a_step(client: Client, world: World) -> None:
    demand = record(world)
    client.force_login(world.other_cadre)
    assert post_step(client, demand, "contact").status_code == 403
    demand.refresh_from_db()
    assert demand.state == State.ACCEPTED


def test_unknown_step_is_not_found(client: Client, world: World) -> None:
    demand = record(world)
    client.force_login(world.cadre)
    assert post_step(client, demand, "explode").status_code == 404


# --- attachments ---------------------------------------------------------------------------------------------------


def test_photo_posted_with_a_step_is_kept_on_its_event(client: Client, world: World, media: Path) -> None:
    demand = record(world)
    client.force_login(world.cadre)
    photo = SimpleUploadedFile("门口.png", PNG, content_type="image/png")
    post_step(client, demand, "contact", files=[photo])
    attachment = Attachment.objects.get()
    assert attachment.event is not None and attachment.event.action == Action.CONTACT
    assert attachment.name == "门口.png" and attachment.content_type == "image/png"
    assert "门口" not in attachment.file.name  # the stored name says nothing about the resident
    assert (media / attachment.file.name).read_bytes() == PNG
    body = client.get(reverse("demand_detail", args=[demand.pk])).content.decode()
    assert f"{reverse('demand_attachment', args=[attachment.pk])}?inline=1" in body  # a thumbnail


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("script.exe", b"MZ\x90\x00", "类型不支持"),
        ("photo.jpg", b"<html>not a photo</html>", "内容与扩展名“.jpg”不符"),
        ("big.pdf", PDF + b"0" * (1024 * 1024 + 1), "超过1MB的上限"),
    ],
)
def test_wrong_or_too_big_file_is_refused_and_nothing_is_written(
    client: Client, world: World, settings: Any, media: Path, name: str, content: bytes, message: str
) -> None:
    settings.NINGJU_ATTACHMENT_MAX_MB = 1
    demand = record(world)
    client.force_login(world.cadre)
    response = post_step(client, demand, "contact", files=[SimpleUploadedFile(name, content)])
    assert response.status_code == 400
    assert message in response.content.decode()
    demand.refresh_from_db()
    assert demand.state == State.ACCEPTED
    assert not Attachment.objects.exists()
    assert not any(media.rglob("*.*"))


def test_download_is_audited_and_served_as_a_file(client: Client, world: World) -> None:
    demand = record(world)
    attachment = attachment_add(user=world.cadre, demand=demand, upload=SimpleUploadedFile("整改通知.pdf", PDF))
    client.force_login(world.head)
    response = client.get(reverse("demand_attachment", args=[attachment.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment")
    assert b"".join(response.streaming_content) == PDF
    entry = AuditEntry.objects.get(action=AuditAction.DOWNLOAD)
    assert entry.user == world.head and entry.target_id == str(attachment.pk)


def test_other_areas_cadre_cannot_download_and_nothing_is_audited(client: Client, world: World) -> None:
    demand = record(world)
    attachment = attachment_add(user=world.cadre, demand=demand, upload=SimpleUploadedFile("a.png", PNG))
    client.force_login(world.other_cadre)
    assert client.get(reverse("demand_attachment", args=[attachment.pk])).status_code == 403
    assert not AuditEntry.objects.filter(action=AuditAction.DOWNLOAD).exists()


def test_liaison_downloads_the_photos_of_a_dispatched_demand(client: Client, world: World) -> None:
    demand = dispatched(world)
    attachment = attachment_add(user=world.cadre, demand=demand, upload=SimpleUploadedFile("a.png", PNG))
    client.force_login(world.liaison)
    response = client.get(reverse("demand_attachment", args=[attachment.pk]) + "?inline=1")
    assert response.status_code == 200 and response["Content-Disposition"].startswith("inline")


def test_media_files_have_no_public_url(client: Client, world: World) -> None:
    demand = record(world)
    attachment = attachment_add(user=world.cadre, demand=demand, upload=SimpleUploadedFile("a.png", PNG))
    client.force_login(world.cadre)
    assert client.get("/media/" + attachment.file.name).status_code == 404


# --- display helpers -------------------------------------------------------------------------------------------------


def test_deadline_is_red_when_past_and_yellow_on_its_last_day(world: World) -> None:
    demand = record(world)
    assert demand.due_at is not None
    due = demand.due_at
    assert display.deadline_colour(demand, due + timedelta(seconds=1)) == "red"
    assert display.deadline_colour(demand, due - timedelta(hours=2)) == "yellow"
    assert display.deadline_colour(demand, due - timedelta(days=2)) == ""
    demand.due_at = None
    assert display.deadline_colour(demand, timezone.now()) == ""


def test_overdue_demand_shows_red_on_its_page(client: Client, world: World) -> None:
    demand = record(world)
    Demand.objects.filter(pk=demand.pk).update(due_at=timezone.now() - timedelta(hours=1))
    body = page(client, world.cadre, demand).content.decode()
    assert "deadline-red" in body and "已超时" in body
