"""Field-key rotation: `ningju rotate-keys` adds a key, re-encrypts every encrypted column and its history rows,
survives a crash half way, and retires the old key only when nothing needs it. The look-up key is separate, so
search by phone/ID and the duplicate-person check work before, during and after."""

import base64
import hashlib
import hmac
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction

from ningju.core import crypto, rotation
from ningju.core.models import AuditAction, AuditEntry, Role, User
from ningju.registry import selectors, services
from ningju.registry.models import Compound, Resident
from tests import factories
from tests.conftest import World

pytestmark = pytest.mark.django_db

CLEAR_ID = "310106194503071228"  # the world's resident
CLEAR_PHONE = "13812345678"
STAFF_PHONE = "13912345678"
COMMITTEE = "张三 13700001111"


@pytest.fixture
def key_file(settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A local run's var/ with the test keys in its field-key file, which the command may rewrite."""
    monkeypatch.delenv("NINGJU_FIELD_KEY", raising=False)
    settings.VAR_DIR = tmp_path
    path = tmp_path / "ningju_field_key"
    path.write_text(",".join(settings.NINGJU_FIELD_KEYS))
    yield path
    crypto.reset_caches()


@pytest.fixture
def data(world: World) -> World:
    """Residents (with history rows), a member of staff with a phone, and a compound's committee contact."""
    resident = world.resident
    resident._change_reason = "更正"  # type: ignore[attr-defined]
    resident.notes = "一条历史"
    resident.save()
    factories.UserFactory(role=Role.CADRE, area=world.household.building.compound.area, phone=STAFF_PHONE)
    compound = world.household.building.compound
    compound.owners_committee_contact = COMMITTEE
    compound.save(update_fields=["owners_committee_contact"])
    return world


def stored_tokens() -> list[str]:
    tokens = []
    for model, fields in rotation.encrypted_columns():
        for row in model._base_manager.values_list(*(f.attname for f in fields)):
            tokens.extend(value.token() for value in row if value)
    return tokens


def keys_in_file(path: Path) -> list[str]:
    return path.read_text().split(",")


def assert_lookups_and_reveals_work(world: World) -> None:
    """What a cadre notices: search by full phone and by ID finds the resident, a second person with the same ID
    is refused, and the reveal gives the clear number."""
    found = selectors.search(world.admin, "138 1234 5678")["residents"]
    assert list(found) == [world.resident]
    assert list(selectors.search(world.admin, CLEAR_ID)["residents"]) == [world.resident]
    with pytest.raises(IntegrityError), transaction.atomic():
        factories.ResidentFactory(household=world.other_household, id_number=CLEAR_ID)
    resident = Resident.objects.get(pk=world.resident.pk)
    assert (
        services.resident_reveal(user=world.admin, resident=resident, field="phone", reason="回访") == CLEAR_PHONE
    )
    assert User.objects.get(phone__isnull=False, role=Role.CADRE, username__startswith="user").phone.reveal()
    assert (
        Compound.objects.get(pk=world.household.building.compound_id).owners_committee_contact.reveal()
        == COMMITTEE
    )


def test_adding_a_field_key_changes_no_lookup_hash(data: World, settings) -> None:
    before = Resident.objects.get(pk=data.resident.pk).phone_hash
    settings.NINGJU_FIELD_KEYS = [Fernet.generate_key().decode(), *settings.NINGJU_FIELD_KEYS]
    crypto.reset_caches()
    try:
        assert crypto.lookup_hash("phone", CLEAR_PHONE) == before
        assert_lookups_and_reveals_work(data)
    finally:
        crypto.reset_caches()


def test_rotate_keys_reencrypts_every_column_and_history_row_under_the_new_key(
    data: World, key_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old_key = keys_in_file(key_file)[0]
    history_before = [h.phone.token() for h in Resident.history.filter(id=data.resident.pk)]
    assert_lookups_and_reveals_work(data)

    call_command("rotate-keys", "--add-key", "--batch-size", "1")

    new_key, kept = keys_in_file(key_file)
    assert kept == old_key and new_key != old_key
    assert [new_key, old_key] == django_settings.NINGJU_FIELD_KEYS
    tokens = stored_tokens()
    assert len(tokens) >= 7  # residents' two numbers, their history rows, the staff phone, the contact
    assert all(crypto.under_primary_key(t) and not crypto.readable_by(t, old_key) for t in tokens)
    history_after = [h.phone.token() for h in Resident.history.filter(id=data.resident.pk)]
    assert len(history_after) == len(history_before) >= 2 and set(history_after).isdisjoint(history_before)
    assert_lookups_and_reveals_work(data)
    out = capsys.readouterr().out
    assert "registry.HistoricalResident: 1/" in out  # progress, a batch at a time
    entry = AuditEntry.objects.get(action=AuditAction.KEY_ROTATION)
    assert entry.detail["step"] == "add_key" and entry.detail["rotated"] == len(tokens)


def test_a_crashed_rotation_leaves_mixed_keys_that_still_work_and_resumes(
    data: World, key_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_rotate = crypto.rotate
    calls = {"n": 0}

    def crash_after_three(token: str) -> str:
        calls["n"] += 1
        if calls["n"] > 3:
            raise RuntimeError("power cut")
        return real_rotate(token)

    monkeypatch.setattr(crypto, "rotate", crash_after_three)
    with pytest.raises(RuntimeError, match="power cut"):
        call_command("rotate-keys", "--add-key", "--batch-size", "1")
    tokens = stored_tokens()
    current = [t for t in tokens if crypto.under_primary_key(t)]
    assert 0 < len(current) < len(tokens)  # mixed: some rows under the new key, the rest under the old
    assert_lookups_and_reveals_work(data)

    monkeypatch.setattr(crypto, "rotate", real_rotate)
    call_command("rotate-keys", "--batch-size", "2")
    assert all(crypto.under_primary_key(t) for t in stored_tokens())
    resumed = AuditEntry.objects.get(action=AuditAction.KEY_ROTATION)
    assert resumed.detail["already_current"] >= len(current)  # the finished batches were skipped, not redone
    assert_lookups_and_reveals_work(data)


def test_the_old_key_is_retired_only_when_no_value_needs_it(data: World, key_file: Path) -> None:
    old_key = keys_in_file(key_file)[0]
    new_key = rotation.new_field_key()
    rotation.write_key_file([new_key, old_key])
    rotation.use_keys([new_key, old_key])  # a key added, nothing re-encrypted yet
    with pytest.raises(CommandError, match="拒绝退役"):
        call_command("rotate-keys", "--retire-old")
    assert keys_in_file(key_file) == [new_key, old_key]

    call_command("rotate-keys")
    call_command("rotate-keys", "--retire-old")
    assert keys_in_file(key_file) == [new_key]
    assert [new_key] == django_settings.NINGJU_FIELD_KEYS
    assert_lookups_and_reveals_work(data)
    assert AuditEntry.objects.filter(action=AuditAction.KEY_ROTATION, detail__step="retire_old").exists()


def test_in_production_add_key_prints_the_setting_and_changes_nothing(
    data: World, settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("NINGJU_FIELD_KEY", ",".join(settings.NINGJU_FIELD_KEYS))
    before = stored_tokens()
    call_command("rotate-keys", "--add-key")
    out = capsys.readouterr().out
    assert "NINGJU_FIELD_KEY=" in out and settings.NINGJU_FIELD_KEYS[0] in out
    assert stored_tokens() == before


def test_legacy_lookup_key_is_the_old_hkdf_derivation(settings, capsys: pytest.CaptureFixture[str]) -> None:
    """The hashes of a database made before NINGJU_LOOKUP_KEY stay valid with the printed value."""
    field_key = settings.NINGJU_FIELD_KEYS[0]
    old_hash_key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"ningju-lookup-hash").derive(
        field_key.encode()
    )
    old_hash = hmac.new(old_hash_key, f"phone:{CLEAR_PHONE}".encode(), hashlib.sha256).hexdigest()
    call_command("rotate-keys", "--print-legacy-lookup-key")
    printed = capsys.readouterr().out.strip()
    assert base64.urlsafe_b64decode(printed) == old_hash_key
    settings.NINGJU_LOOKUP_KEY = printed
    crypto.reset_caches()
    try:
        assert crypto.lookup_hash("phone", CLEAR_PHONE) == old_hash
    finally:
        crypto.reset_caches()


def _lookup_key_of_a_local_start(var_dir: Path) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NINGJU_")}
    env.update(NINGJU_VAR_DIR=str(var_dir), DJANGO_SETTINGS_MODULE="ningju.settings")
    code = "from django.conf import settings; print(settings.NINGJU_LOOKUP_KEY)"
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return result.stdout.strip()


@pytest.mark.django_db(databases=[])
def test_an_existing_local_var_keeps_its_old_hashes_and_a_new_one_gets_a_random_lookup_key(tmp_path: Path) -> None:
    existing, fresh = tmp_path / "existing", tmp_path / "fresh"
    existing.mkdir()
    field_key = Fernet.generate_key().decode()
    (existing / "ningju_field_key").write_text(field_key)
    assert _lookup_key_of_a_local_start(existing) == crypto.legacy_lookup_key(field_key)
    assert (existing / "ningju_lookup_key").read_text() == crypto.legacy_lookup_key(field_key)
    fresh.mkdir()
    made = _lookup_key_of_a_local_start(fresh)
    assert made != crypto.legacy_lookup_key((fresh / "ningju_field_key").read_text().strip())
    assert len(base64.urlsafe_b64decode(made)) == 32
    assert _lookup_key_of_a_local_start(fresh) == made  # made once, then read back
