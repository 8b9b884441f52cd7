"""Passwords: Argon2 for every new password and no MD5 in production; a user changes their own password; a street
administrator's reset forces a change at the next sign-in; locked accounts are unlocked by their street's
administrator."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from axes.models import AccessAttempt
from cryptography.fernet import Fernet
from django.conf import settings
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from ningju.core import passwords
from ningju.core.models import AuditAction, AuditEntry, User
from tests import factories
from tests.conftest import World

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent
NEW_PASSWORD = "Qiu-shui-2026-changde"


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def post_login(client: Client, username: str, password: str, ip: str = "127.0.0.1"):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ip)


def change_password(client: Client, old: str, new: str = NEW_PASSWORD):
    return client.post(
        reverse("password_change"), {"old_password": old, "new_password1": new, "new_password2": new}
    )


# --- the hasher -----------------------------------------------------------------------------------------------


def production_hashers(tmp_path: Path) -> list[str]:
    """PASSWORD_HASHERS as a production process (not the test run) sees them."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("NINGJU_", "DJANGO_"))}
    env = {
        **clean,
        "NINGJU_ENV": "production",
        "NINGJU_VAR_DIR": str(tmp_path),
        "NINGJU_SECRET_KEY": "k" * 50,
        "NINGJU_FIELD_KEY": Fernet.generate_key().decode(),
        "NINGJU_LOOKUP_KEY": "A" * 43 + "=",
        "NINGJU_ALLOWED_HOSTS": "ningju.example.org",
        "DJANGO_SETTINGS_MODULE": "ningju.settings",
    }
    code = "import json; from ningju import settings; print(json.dumps(settings.PASSWORD_HASHERS))"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return list(json.loads(result.stdout.strip().splitlines()[-1]))


def test_production_hashes_with_argon2_and_accepts_no_md5(tmp_path: Path) -> None:
    hashers = production_hashers(tmp_path)
    assert hashers[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"
    assert not any("MD5" in hasher for hasher in hashers)
    assert not any("ningju" in hasher for hasher in hashers)  # the test run's cheap Argon2 stays in tests


def test_test_run_accepts_no_md5_either() -> None:
    assert not any("MD5" in hasher for hasher in settings.PASSWORD_HASHERS)


def test_new_password_is_stored_with_argon2(world: World) -> None:
    world.cadre.set_password(NEW_PASSWORD)
    world.cadre.save(update_fields=["password"])
    world.cadre.refresh_from_db()
    assert world.cadre.password.startswith("argon2$argon2id$")


def test_pbkdf2_password_still_signs_in_and_is_upgraded_to_argon2(world: World) -> None:
    from django.contrib.auth.hashers import make_password

    User.objects.filter(pk=world.cadre.pk).update(password=make_password("ningju-demo", hasher="pbkdf2_sha256"))
    assert post_login(Client(), "cadre-006-1", "ningju-demo").status_code == 302
    world.cadre.refresh_from_db()
    assert world.cadre.password.startswith("argon2$")


# --- changing one's own password --------------------------------------------------------------------------------


def test_user_changes_own_password_and_it_is_audited(world: World) -> None:
    client = signed_in(world.cadre)
    page = client.get(reverse("password_change"))
    assert page.status_code == 200 and "修改密码" in page.content.decode()
    response = change_password(client, "ningju-demo")
    assert response.status_code == 302
    world.cadre.refresh_from_db()
    assert world.cadre.check_password(NEW_PASSWORD)
    assert AuditEntry.objects.filter(action=AuditAction.PASSWORD_CHANGE, user=world.cadre).count() == 1
    # Still signed in after the change (the session hash was updated).
    assert client.get(reverse("area_list")).status_code == 200


def test_password_change_refuses_wrong_old_password_and_weak_new_one(world: World) -> None:
    client = signed_in(world.cadre)
    wrong_old = change_password(client, "not-my-password")
    assert wrong_old.status_code == 200 and "旧密码不正确" in wrong_old.content.decode()
    weak = change_password(client, "ningju-demo", new="12345678")
    assert weak.status_code == 200
    assert "密码太短，至少需要10个字符。" in weak.content.decode()  # in Chinese (Django 5.2's catalogue lacks it)
    assert "这个密码太常见了" in weak.content.decode()
    world.cadre.refresh_from_db()
    assert world.cadre.check_password("ningju-demo")
    assert not AuditEntry.objects.filter(action=AuditAction.PASSWORD_CHANGE).exists()


def test_header_links_to_password_change(world: World) -> None:
    page = signed_in(world.cadre).get(reverse("area_list")).content.decode()
    assert reverse("password_change") in page


def test_anonymous_visitor_is_sent_to_login_from_password_change() -> None:
    response = Client().get(reverse("password_change"))
    assert response.status_code == 302 and reverse("login") in response["Location"]


# --- an administrator's reset -----------------------------------------------------------------------------------


def reset(client: Client, user: User):
    return client.post(reverse("password_reset", args=[user.pk]))


def test_street_admin_resets_password_shown_once_and_audited(world: World) -> None:
    response = reset(signed_in(world.admin), world.cadre)
    assert response.status_code == 200
    temporary = response.context["temporary"]
    assert len(temporary) >= 12 and temporary in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    world.cadre.refresh_from_db()
    assert world.cadre.must_change_password and world.cadre.check_password(temporary)
    assert not world.cadre.check_password("ningju-demo")
    entry = AuditEntry.objects.get(action=AuditAction.PASSWORD_RESET)
    assert entry.user == world.admin and entry.target_id == str(world.cadre.pk)
    assert temporary not in json.dumps(entry.detail)


def test_reset_user_must_change_password_before_any_other_page(world: World) -> None:
    temporary = reset(signed_in(world.admin), world.cadre).context["temporary"]
    client = Client()
    assert post_login(client, "cadre-006-1", temporary).status_code == 302
    for blocked in (reverse("home"), reverse("area_list"), reverse("demand_mine"), reverse("notifications")):
        response = client.get(blocked)
        assert response.status_code == 302 and response["Location"] == reverse("password_change"), blocked
    page = client.get(reverse("password_change"))
    assert page.status_code == 200 and "请先设置您自己的新密码" in page.content.decode()
    api = client.get("/api/v1/areas/")
    assert api.status_code == 403 and api.json()["detail"] == "请先在网页上修改密码"

    assert change_password(client, temporary).status_code == 302
    world.cadre.refresh_from_db()
    assert not world.cadre.must_change_password
    assert client.get(reverse("area_list")).status_code == 200
    assert passwords.must_change_password(world.cadre) is False


def test_reset_user_gets_no_api_token_until_the_password_is_changed(world: World) -> None:
    temporary = reset(signed_in(world.admin), world.cadre).context["temporary"]
    response = APIClient().post(
        reverse("api_token"), {"username": "cadre-006-1", "password": temporary}, format="json"
    )
    assert response.status_code == 400 and response.json()["detail"] == "请先在网页上修改密码"
    assert "token" not in response.json()
    client = Client()
    post_login(client, "cadre-006-1", temporary)
    change_password(client, temporary)
    after = APIClient().post(
        reverse("api_token"), {"username": "cadre-006-1", "password": NEW_PASSWORD}, format="json"
    )
    assert after.status_code == 200 and after.json()["token"]


@pytest.mark.usefixtures("real_mfa")
def test_reset_street_admin_passes_the_second_factor_then_changes_password(world: World) -> None:
    from tests.mfa_helpers import authenticator, fresh_code, verify_session

    colleague = factories.street_admin(world.street, username="admin-2")
    authenticator(colleague)  # enrolled with an authenticator app
    admin = signed_in(world.admin)
    verify_session(admin, world.admin)
    temporary = reset(admin, colleague).context["temporary"]
    client = Client()
    post_login(client, "admin-2", temporary)
    landing = client.get(reverse("home"), follow=True)
    assert landing.redirect_chain and len(landing.redirect_chain) < 5  # no loop between the two middlewares
    assert client.get(reverse("mfa_verify")).status_code == 200
    verified = client.post(reverse("mfa_verify"), {"code": fresh_code(colleague)}, follow=True)
    assert verified.request["PATH_INFO"] == reverse("password_change")
    assert change_password(client, temporary).status_code == 302
    assert client.get(reverse("area_list")).status_code == 200


def test_reset_user_may_still_sign_out(world: World) -> None:
    temporary = reset(signed_in(world.admin), world.cadre).context["temporary"]
    client = Client()
    post_login(client, "cadre-006-1", temporary)
    assert client.post(reverse("logout")).status_code == 302
    assert "_auth_user_id" not in client.session


def test_other_street_admin_cannot_reset_password(world: World) -> None:
    response = reset(signed_in(world.other_street_admin), world.cadre)
    assert response.status_code == 404
    world.cadre.refresh_from_db()
    assert not world.cadre.must_change_password and world.cadre.check_password("ningju-demo")
    assert not AuditEntry.objects.filter(action=AuditAction.PASSWORD_RESET).exists()


def test_area_head_cannot_reset_a_cadres_password(world: World) -> None:
    assert reset(signed_in(world.head), world.cadre).status_code == 403
    world.cadre.refresh_from_db()
    assert world.cadre.check_password("ningju-demo")


def test_staff_page_lists_own_street_only(world: World) -> None:
    page = signed_in(world.admin).get(reverse("staff_accounts")).content.decode()
    assert "cadre-006-1" in page and "dept-chengguan" in page
    assert "admin-012" not in page
    assert signed_in(world.cadre).get(reverse("staff_accounts")).status_code == 403


def test_reset_is_refused_by_get(world: World) -> None:
    assert signed_in(world.admin).get(reverse("password_reset", args=[world.cadre.pk])).status_code == 405


# --- lockout per account and source, and unlocking ---------------------------------------------------------------


def lock_out(username: str, ip: str) -> None:
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        post_login(client, username, "wrong-password", ip=ip)


def test_stranger_elsewhere_cannot_lock_the_account_out_of_its_office(world: World) -> None:
    lock_out("cadre-006-1", ip="203.0.113.9")
    assert post_login(Client(), "cadre-006-1", "ningju-demo", ip="203.0.113.9").status_code == 429
    assert post_login(Client(), "cadre-006-1", "ningju-demo", ip="10.1.2.3").status_code == 302


def test_locked_accounts_page_shows_own_street_and_unlock_works(world: World) -> None:
    lock_out("cadre-006-1", ip="10.1.2.3")
    lock_out("cadre-006-1", ip="10.9.9.9")
    admin = signed_in(world.admin)
    page = admin.get(reverse("locked_accounts"))
    assert page.status_code == 200
    [account] = page.context["locked"]
    assert account.user == world.cadre and account.sources == 2

    response = admin.post(reverse("account_unlock"), {"username": "cadre-006-1"}, follow=True)
    assert "已解锁" in response.content.decode()
    assert not AccessAttempt.objects.filter(username="cadre-006-1").exists()
    assert AuditEntry.objects.get(action=AuditAction.UNLOCK).target_id == str(world.cadre.pk)
    assert post_login(Client(), "cadre-006-1", "ningju-demo", ip="10.1.2.3").status_code == 302


def test_other_street_admin_neither_sees_nor_unlocks_the_account(world: World) -> None:
    lock_out("cadre-006-1", ip="10.1.2.3")
    other = signed_in(world.other_street_admin)
    page = other.get(reverse("locked_accounts"))
    assert page.context["locked"] == [] and "cadre-006-1" not in page.content.decode()
    response = other.post(reverse("account_unlock"), {"username": "cadre-006-1"}, follow=True)
    assert "不在您负责的范围内" in response.content.decode()
    assert AccessAttempt.objects.filter(username="cadre-006-1").exists()
    assert not AuditEntry.objects.filter(action=AuditAction.UNLOCK).exists()
    assert post_login(Client(), "cadre-006-1", "ningju-demo", ip="10.1.2.3").status_code == 429


def test_cadre_cannot_open_locked_accounts(world: World) -> None:
    assert signed_in(world.cadre).get(reverse("locked_accounts")).status_code == 403
    assert signed_in(world.cadre).post(reverse("account_unlock"), {"username": "head-006"}).status_code == 403


def test_lockout_page_says_whom_to_ask(world: World) -> None:
    lock_out("cadre-006-1", ip="10.1.2.3")
    page = post_login(Client(), "cadre-006-1", "ningju-demo", ip="10.1.2.3").content.decode()
    assert "街道管理员" in page and "解锁" in page
