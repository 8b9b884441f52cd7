"""Notifications: in-app notices once per key, email and the WeCom robot only when configured (never the network in
tests), the workflow steps that tell people, the user's own notices page and the header badge."""

import json
from typing import Any

import pytest
from django.core import mail
from django.test import Client

from ningju.core import notify as notify_module
from ningju.core.models import NoticeLevel, Notification, User
from ningju.core.notify import notify
from ningju.demands.models import Demand, Kind, Source
from ningju.demands.services import demand_act, demand_create
from tests.conftest import World

WEBHOOK = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=test-key"


class FakeResponse:
    def __enter__(self) -> "FakeResponse":
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def read(self) -> bytes:
        return b'{"errcode":0}'


@pytest.fixture
def posts(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Every request the WeCom channel would send, captured instead of sent."""
    sent: list[dict[str, Any]] = []

    def urlopen(request: Any, timeout: float) -> FakeResponse:
        sent.append({"url": request.full_url, "body": json.loads(request.data), "timeout": timeout})
        return FakeResponse()

    monkeypatch.setattr(notify_module.urllib.request, "urlopen", urlopen)
    return sent


def with_email(user: User, address: str) -> User:
    user.email = address
    user.save(update_fields=["email"])
    return user


# --- channels ---------------------------------------------------------------------------------------------------


def test_only_in_app_notices_are_written_by_default(
    world: World, posts: list[dict[str, Any]], django_capture_on_commit_callbacks: Any
) -> None:
    with_email(world.cadre, "cadre@example.org")
    with django_capture_on_commit_callbacks(execute=True):
        created = notify(users=[world.cadre, world.head], title="测试通知", key="test:1")
    assert created == 2
    assert Notification.objects.filter(key="test:1").count() == 2
    assert mail.outbox == [] and posts == []


def test_the_same_key_reaches_a_user_once(world: World, django_capture_on_commit_callbacks: Any) -> None:
    notify(users=[world.cadre], title="测试通知", key="test:1")
    assert notify(users=[world.cadre, world.head], title="测试通知", key="test:1") == 1
    assert Notification.objects.filter(user=world.cadre).count() == 1


def test_email_goes_to_new_notices_of_users_with_an_address_when_switched_on(
    world: World, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.NINGJU_NOTIFY_EMAIL = True
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with_email(world.cadre, "cadre@example.org")
    with django_capture_on_commit_callbacks(execute=True):
        notify(users=[world.cadre, world.head], title="诉求 #7 已超时", body="楼道堆物", key="test:2")
    assert [(m.to, m.subject) for m in mail.outbox] == [(["cadre@example.org"], "[宁聚] 诉求 #7 已超时")]
    assert "楼道堆物" in mail.outbox[0].body

    with django_capture_on_commit_callbacks(execute=True):
        notify(users=[world.cadre], title="诉求 #7 已超时", key="test:2")
    assert len(mail.outbox) == 1  # nothing new, no second email


def test_the_wecom_robot_gets_one_markdown_message_when_configured(
    world: World, settings: Any, posts: list[dict[str, Any]], django_capture_on_commit_callbacks: Any
) -> None:
    settings.NINGJU_WECOM_WEBHOOK = WEBHOOK
    world.cadre.full_name, world.head.full_name = "张敏", "李书记"
    User.objects.bulk_update([world.cadre, world.head], ["full_name"])
    with django_capture_on_commit_callbacks(execute=True):
        notify(
            users=[world.cadre, world.head],
            title="诉求 #7 已超时",
            body="楼道堆物",
            url="/demands/7/",
            level=NoticeLevel.RED,
            key="test:3",
        )
    assert len(posts) == 1
    assert posts[0]["url"] == WEBHOOK and posts[0]["timeout"] == 5
    body = posts[0]["body"]
    assert body["msgtype"] == "markdown"
    content = body["markdown"]["content"]
    assert "诉求 #7 已超时" in content and "楼道堆物" in content and "张敏、李书记" in content


def test_a_failing_channel_never_undoes_the_notice(
    world: World, settings: Any, monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    settings.NINGJU_WECOM_WEBHOOK = WEBHOOK

    def unreachable(request: Any, timeout: float) -> None:
        raise OSError("network is unreachable")

    monkeypatch.setattr(notify_module.urllib.request, "urlopen", unreachable)
    with django_capture_on_commit_callbacks(execute=True):
        assert notify(users=[world.cadre], title="测试", key="test:4") == 1
    assert Notification.objects.filter(user=world.cadre, key="test:4").exists()


# --- workflow steps ---------------------------------------------------------------------------------------------


def recorded(world: World) -> Demand:
    demand, _created = demand_create(
        user=world.cadre,
        area=world.hengdeli,
        kind=Kind.PROBLEM,
        source=Source.VISIT,
        text="楼下酒吧午夜后噪音很大",
        household=world.household,
    )
    return demand


def act(demand: Demand, user: User, action: str, capture: Any, **params: Any) -> Demand:
    with capture(execute=True):
        return demand_act(user=user, demand_id=demand.pk, action=action, **params)


def titles(user: User) -> list[str]:
    return list(Notification.objects.filter(user=user).order_by("id").values_list("title", flat=True))


def test_a_whistle_tells_the_street_administrator_with_the_reason(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    capture = django_capture_on_commit_callbacks
    demand = recorded(world)
    demand = act(demand, world.cadre, "contact", capture)
    demand = act(demand, world.cadre, "start_handling", capture)
    demand = act(demand, world.head, "whistle", capture, reason="酒吧噪音超出居民区职权")
    notice = Notification.objects.get(user=world.admin)
    assert notice.title == f"恒德里吹哨：诉求 #{demand.pk}"
    assert notice.body == "酒吧噪音超出居民区职权"
    assert notice.url == f"/demands/{demand.pk}/"
    assert titles(world.head) == []  # the one who blew it is not told


def test_a_dispatch_tells_the_liaison_and_a_department_result_tells_the_owner(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    capture = django_capture_on_commit_callbacks
    demand = recorded(world)
    for user, action, params in [
        (world.cadre, "contact", {}),
        (world.cadre, "start_handling", {}),
        (world.head, "whistle", {"reason": "需要执法"}),
        (world.admin, "street_accept", {}),
        (world.admin, "dispatch", {"departments": [world.department.pk]}),
    ]:
        demand = act(demand, user, action, capture, **params)
    assert titles(world.liaison) == [f"新派单：诉求 #{demand.pk}，请在时限内报到"]
    assert titles(world.cadre) == []
    for action in ("acknowledge", "department_start"):
        demand = act(demand, world.liaison, action, capture)
    demand = act(demand, world.liaison, "department_resolve", capture, note="已现场整改完毕")
    assert titles(world.cadre) == [f"诉求 #{demand.pk} 部门已办结，请安排回访"]


def test_an_extension_request_and_its_decision_reach_the_admin_and_the_requester(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    capture = django_capture_on_commit_callbacks
    demand = act(recorded(world), world.cadre, "contact", capture)
    demand = act(demand, world.cadre, "request_extension", capture, reason="需协调物业", days=2)
    assert titles(world.admin) == [f"诉求 #{demand.pk} 申请延期 2 个工作日"]
    demand = act(demand, world.admin, "approve_extension", capture)
    assert titles(world.cadre) == [f"诉求 #{demand.pk} 的延期申请已批准"]


def test_a_dissatisfied_callback_tells_the_owner_and_the_area_head(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    capture = django_capture_on_commit_callbacks
    demand = recorded(world)
    for action in ("contact", "start_handling", "resolve", "request_callback"):
        demand = act(demand, world.cadre, action, capture)
    demand = act(demand, world.head, "callback", capture, callback_result="dissatisfied")
    expected = f"诉求 #{demand.pk} 回访不满意，需再次处置"
    assert titles(world.cadre) == [expected]
    assert titles(world.head) == []  # the head took the callback themself


def test_a_demand_received_in_another_area_tells_its_head(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        demand, _created = demand_create(
            user=world.other_cadre, area=world.hengdeli, kind=Kind.HELP, source=Source.WALK_IN, text="独居老人求助"
        )
    assert titles(world.head) == [f"恒德里新诉求 #{demand.pk}（{world.other_cadre.display_name}登记）"]


# --- the page and the badge -------------------------------------------------------------------------------------


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_page_lists_only_ones_own_notices(world: World) -> None:
    notify(users=[world.cadre], title="给干部的通知", key="a")
    notify(users=[world.head], title="给书记的通知", key="b")
    response = client_for(world.cadre).get("/notifications/")
    assert response.status_code == 200
    text = response.content.decode()
    assert "给干部的通知" in text and "给书记的通知" not in text
    assert response.context["unread_notices"] == 1


def test_mark_all_read_clears_the_badge(world: World) -> None:
    notify(users=[world.cadre], title="一", key="a", level=NoticeLevel.RED)
    notify(users=[world.cadre], title="二", key="b")
    client = client_for(world.cadre)
    response = client.get("/notifications/")
    assert response.context["unread_notices"] == 2 and response.context["unread_red"]
    assert client.post("/notifications/read/").status_code == 302
    response = client.get("/notifications/")
    assert response.context["unread_notices"] == 0 and not response.context["unread_red"]
    assert not Notification.objects.filter(user=world.cadre, read_at__isnull=True).exists()


def test_opening_a_notice_marks_it_read_and_follows_its_local_link(world: World) -> None:
    notify(users=[world.cadre], title="诉求 #7", url="/demands/7/", key="a")
    notice = Notification.objects.get(user=world.cadre)
    response = client_for(world.cadre).get(f"/notifications/{notice.pk}/open/")
    assert response.status_code == 302 and response["Location"] == "/demands/7/"
    notice.refresh_from_db()
    assert notice.read_at is not None


@pytest.mark.parametrize("url", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:x"])
def test_a_notice_never_redirects_off_the_site(world: World, url: str) -> None:
    Notification.objects.create(user=world.cadre, title="可疑", url=url, key="evil")
    notice = Notification.objects.get(user=world.cadre)
    response = client_for(world.cadre).get(f"/notifications/{notice.pk}/open/")
    assert response.status_code == 302 and response["Location"] == "/notifications/"


def test_someone_elses_notice_cannot_be_opened(world: World) -> None:
    notify(users=[world.head], title="给书记的通知", url="/demands/7/", key="a")
    notice = Notification.objects.get(user=world.head)
    assert client_for(world.cadre).get(f"/notifications/{notice.pk}/open/").status_code == 404
    notice.refresh_from_db()
    assert notice.read_at is None


def test_the_header_bell_shows_the_unread_count(world: World) -> None:
    notify(users=[world.admin], title="一", key="a")
    response = client_for(world.admin).get("/notifications/")
    assert 'href="/notifications/"' in response.content.decode()
    assert "通知：1条未读" in response.content.decode()


def test_the_notifications_page_needs_sign_in(db: None) -> None:
    response = Client().get("/notifications/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
