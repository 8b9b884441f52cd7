"""Two-step sign-in: street administrators and superusers need a code after the password, others may choose to."""

import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from ningju.core import mfa
from ningju.core.models import AuditAction, AuditEntry, User
from tests.conftest import World
from tests.mfa_helpers import authenticator, fresh_code, verify_session

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("real_mfa")]

PASSWORD = "ningju-demo"


def sign_in(client: Client, user: User) -> str:
    """Post the password as the login page does; return where the browser is sent after the login's redirect."""
    response = client.post(reverse("login"), {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302, response.content.decode()[:500]
    after = client.get(response["Location"])
    return str(after["Location"]) if after.status_code == 302 else str(response["Location"])


def test_admin_password_alone_does_not_get_in(world: World) -> None:
    authenticator(world.admin)
    client = Client()
    location = sign_in(client, world.admin)
    assert location.startswith(reverse("mfa_verify"))
    assert client.get(reverse("area_list"))["Location"].startswith(reverse("mfa_verify"))
    page = client.get(reverse("mfa_verify")).content.decode()
    assert 'autocomplete="one-time-code"' in page and 'inputmode="numeric"' in page
    assert 'class="mainnav"' not in page and world.admin.display_name not in page  # no menu before the code


def test_admin_with_the_code_gets_in(world: World) -> None:
    client = Client()
    sign_in(client, world.admin)
    response = client.post(reverse("mfa_verify"), {"code": fresh_code(world.admin), "next": reverse("area_list")})
    assert response["Location"] == reverse("area_list")
    assert client.get(reverse("area_list")).status_code == 200


def test_wrong_code_is_refused_and_audited(world: World) -> None:
    authenticator(world.admin)
    client = Client()
    sign_in(client, world.admin)
    response = client.post(reverse("mfa_verify"), {"code": "000000"})
    assert response.status_code == 200 and "验证码不正确" in response.content.decode()
    assert client.get(reverse("area_list")).status_code == 302
    assert AuditEntry.objects.filter(action=AuditAction.MFA_FAILED, user=world.admin).exists()


def test_a_recovery_code_works_once(world: World) -> None:
    device = mfa.pending_device(world.admin)
    codes = mfa.confirm_enrolment(world.admin, device, mfa.current_code(device))
    assert len(codes) == 10
    first = Client()
    sign_in(first, world.admin)
    assert first.post(reverse("mfa_verify"), {"code": codes[0].upper()}).status_code == 302
    assert first.get(reverse("area_list")).status_code == 200
    assert AuditEntry.objects.filter(action=AuditAction.RECOVERY_USED, user=world.admin).count() == 1

    again = Client()
    sign_in(again, world.admin)
    response = again.post(reverse("mfa_verify"), {"code": codes[0]})
    assert response.status_code == 200 and "验证码不正确" in response.content.decode()
    assert mfa.recovery_codes_left(world.admin) == 9


def test_cadre_signs_in_without_a_code(world: World) -> None:
    client = Client()
    sign_in(client, world.cadre)
    assert client.get(reverse("route_today")).status_code == 200


def test_unenrolled_admin_must_enrol_before_anything_else(world: World) -> None:
    client = Client()
    location = sign_in(client, world.admin)
    assert location.startswith(reverse("mfa_enrol"))
    for name in ("area_list", "notifications", "account_security"):
        assert client.get(reverse(name))["Location"].startswith(reverse("mfa_enrol")), name
    page = client.get(reverse("mfa_enrol")).content.decode()
    assert 'src="data:image/svg+xml' in page
    secret = re.search(r'class="otp-secret">([A-Z2-7 ]+)<', page)
    assert secret is not None
    device = TOTPDevice.objects.get(user=world.admin, confirmed=False)
    assert mfa.secret_base32(device) == secret.group(1).replace(" ", "")

    response = client.post(reverse("mfa_enrol"), {"code": mfa.current_code(device)})
    assert "no-store" in response["Cache-Control"]  # the recovery codes are shown once, and kept nowhere
    codes = re.findall(r"<li><code>([a-z2-7]+)</code></li>", response.content.decode())
    assert len(codes) == 10 and len(set(codes)) == 10
    assert mfa.is_enrolled(world.admin)
    assert client.get(reverse("area_list")).status_code == 200
    assert AuditEntry.objects.filter(action=AuditAction.MFA_ENROLL, user=world.admin).count() == 1


def test_enrolment_with_a_wrong_code_enrols_nothing(world: World) -> None:
    client = Client()
    sign_in(client, world.admin)
    client.get(reverse("mfa_enrol"))
    response = client.post(reverse("mfa_enrol"), {"code": "12345"})
    assert response.status_code == 200 and "验证码不正确" in response.content.decode()
    assert not mfa.is_enrolled(world.admin)
    assert client.get(reverse("area_list"))["Location"].startswith(reverse("mfa_enrol"))


def test_admin_site_needs_a_verified_session(world: World) -> None:
    world.nobody.is_staff = world.nobody.is_superuser = True
    world.nobody.save(update_fields=["is_staff", "is_superuser"])
    client = Client()
    client.post(reverse("admin:login"), {"username": "nobody", "password": PASSWORD})
    assert client.get(reverse("admin:index"))["Location"].startswith(reverse("mfa_enrol"))
    device = mfa.pending_device(world.nobody)
    client.post(reverse("mfa_enrol"), {"code": mfa.current_code(device)})
    assert client.get(reverse("admin:index")).status_code == 200


def test_staff_without_a_required_role_still_verifies_for_admin(world: World) -> None:
    world.liaison.is_staff = True
    world.liaison.save(update_fields=["is_staff"])
    client = Client()
    sign_in(client, world.liaison)
    assert client.get(reverse("admin:index"))["Location"].startswith(reverse("mfa_enrol"))


def test_mfa_roles_come_from_settings(world: World, settings) -> None:
    settings.NINGJU_MFA_ROLES = ["cadre"]
    assert mfa.mfa_required(world.cadre) and not mfa.mfa_required(world.admin)
    client = Client()
    assert sign_in(client, world.cadre).startswith(reverse("mfa_enrol"))
    other = Client()
    sign_in(other, world.admin)
    assert other.get(reverse("area_list")).status_code == 200


def test_api_answers_an_unverified_session_with_the_error_body(world: World) -> None:
    client = Client()
    sign_in(client, world.admin)
    response = client.get("/api/v1/areas/")
    assert response.status_code == 403 and response.json()["code"] == "mfa_required"


def test_verify_otp_never_raises_for_bad_input(world: World) -> None:
    authenticator(world.admin)
    for code in ["", " ", "x" * 10_000, "１２３４５６", "12 34 56", None, 123456]:
        assert mfa.verify_otp(world.admin, code) is False  # type: ignore[arg-type]
    assert mfa.verify_otp(world.admin, fresh_code(world.admin)) is True


def test_cadre_may_turn_on_mfa_and_then_needs_the_code(world: World) -> None:
    client = Client()
    sign_in(client, world.cadre)
    assert "启用两步验证" in client.get(reverse("account_security")).content.decode()
    device = mfa.pending_device(world.cadre)
    client.post(reverse("mfa_enrol"), {"code": mfa.current_code(device)})
    later = Client()
    assert sign_in(later, world.cadre).startswith(reverse("mfa_verify"))


def test_cadre_turns_mfa_off_with_a_code(world: World) -> None:
    authenticator(world.cadre)
    client = Client()
    sign_in(client, world.cadre)
    client.post(reverse("mfa_verify"), {"code": fresh_code(world.cadre)})
    client.post(reverse("mfa_disable"), {"code": "000000"})
    assert mfa.is_enrolled(world.cadre)
    TOTPDevice.objects.filter(user=world.cadre).update(last_t=-1)
    client.post(reverse("mfa_disable"), {"code": fresh_code(world.cadre)})
    assert not mfa.is_enrolled(world.cadre)
    assert sign_in(Client(), world.cadre) == reverse("route_today")


def test_street_admin_resets_a_colleagues_mfa(world: World) -> None:
    authenticator(world.cadre)
    client = Client()
    client.force_login(world.admin)
    verify_session(client, world.admin)
    page = client.get(reverse("account_security")).content.decode()
    assert world.cadre.username in page
    response = client.post(reverse("mfa_reset"), {"user": world.cadre.pk})
    assert response.status_code == 302
    assert not mfa.is_enrolled(world.cadre)
    entry = AuditEntry.objects.get(action=AuditAction.MFA_RESET)
    assert entry.user == world.admin and entry.target_id == str(world.cadre.pk)


def test_another_streets_admin_cannot_reset(world: World) -> None:
    authenticator(world.cadre)
    client = Client()
    client.force_login(world.other_street_admin)
    verify_session(client, world.other_street_admin)
    assert world.cadre.username not in client.get(reverse("account_security")).content.decode()
    response = client.post(reverse("mfa_reset"), {"user": world.cadre.pk})
    assert response.status_code == 403
    assert mfa.is_enrolled(world.cadre)
    assert not AuditEntry.objects.filter(action=AuditAction.MFA_RESET).exists()


def test_cadre_cannot_reset_anyone(world: World) -> None:
    authenticator(world.head)
    client = Client()
    client.force_login(world.cadre)
    assert client.post(reverse("mfa_reset"), {"user": world.head.pk}).status_code == 403
    assert mfa.is_enrolled(world.head)


def test_reset_sends_the_admin_back_to_enrolment(world: World) -> None:
    client = Client()
    sign_in(client, world.admin)
    client.post(reverse("mfa_verify"), {"code": fresh_code(world.admin)})
    assert client.get(reverse("area_list")).status_code == 200
    mfa.remove_devices(actor=world.other_street_admin, user=world.admin)
    assert client.get(reverse("area_list"))["Location"].startswith(reverse("mfa_enrol"))


def test_demo_secret_is_stable_and_codes_match_the_standard(world: World) -> None:
    secret = mfa.demo_secret_hex("admin")
    assert secret == mfa.demo_secret_hex("admin") != mfa.demo_secret_hex("admin-012")
    device = mfa.enrol_with_secret(world.admin, secret)
    totp = TOTP(bytes.fromhex(secret))
    assert mfa.current_code(device) == f"{totp.token():06d}"
    assert mfa.otpauth_uri(device).startswith("otpauth://totp/")
    assert not StaticToken.objects.filter(device__user=world.admin).exists()


def test_demo_enrols_the_admin_and_prints_the_secret_and_totp_gives_its_code(world: World) -> None:
    out = StringIO()
    call_command("demo", "--if-empty", stdout=out)
    device = TOTPDevice.objects.get(user=world.admin, confirmed=True)
    printed = out.getvalue()
    assert mfa.secret_base32(device) in printed and "otpauth://totp/" in printed
    assert not TOTPDevice.objects.filter(user=world.cadre).exists()  # cadres are not enrolled for them

    code = StringIO()
    call_command("totp", "admin", stdout=code)
    assert mfa.verify_otp(world.admin, code.getvalue().strip())


def test_no_demo_secret_or_code_in_production(world: World, settings) -> None:
    settings.PRODUCTION = True
    assert mfa.demo_authenticators(["admin"]) == []
    assert not TOTPDevice.objects.filter(user=world.admin).exists()
    with pytest.raises(CommandError):
        call_command("totp", "admin", stdout=StringIO())


def test_totp_refuses_an_authenticator_the_user_set_up_themselves(world: World) -> None:
    device = mfa.pending_device(world.admin)
    mfa.confirm_enrolment(world.admin, device, mfa.current_code(device))
    with pytest.raises(CommandError):
        call_command("totp", "admin", stdout=StringIO())
