"""Personal data at rest: encrypted identifiers, keyed hashes, masked by default, nothing in clear in the database."""

import re
import sqlite3
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

from ningju.core import crypto
from ningju.core.fields import SensitiveValue
from ningju.core.models import User
from ningju.registry.models import Compound, Resident
from tests import factories
from tests.conftest import World

pytestmark = pytest.mark.django_db(transaction=True)

CLEAR_ID = "310106194503071228"
CLEAR_PHONE = "13812345678"


def all_database_text() -> str:
    """Every value of every table (history tables included), as the database stores it."""
    chunks: list[str] = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f'SELECT * FROM "{table}"')  # table names come from introspection
            for row in cursor.fetchall():
                chunks.extend(str(value) for value in row)
    return "\n".join(chunks)


def test_no_id_or_phone_number_is_stored_in_clear_text(world: World) -> None:
    factories.ResidentFactory(household=world.household, name="赵六", phone="139 0000 2222")
    stored = all_database_text()
    assert "王秀英" in stored  # the dump really contains the residents
    for clear in (CLEAR_ID, CLEAR_PHONE, "13900002222", "194503071228"):
        assert clear not in stored, f"{clear} found in clear text in the database"


def test_raw_sqlite_file_holds_no_clear_identifiers(world: World, tmp_path) -> None:
    """The same check on a real database file opened outside Django (the in-memory test DB is copied to disk)."""
    if connection.vendor != "sqlite":
        pytest.skip("file-level check is for the SQLite default; PostgreSQL is covered by the dump test")
    target = tmp_path / "copy.sqlite3"
    with sqlite3.connect(target) as copy:
        connection.connection.backup(copy)
    raw = target.read_bytes()
    assert "王秀英".encode() in raw
    assert CLEAR_ID.encode() not in raw and CLEAR_PHONE.encode() not in raw


def test_resident_identifiers_read_back_masked_and_reveal_exactly(world: World) -> None:
    resident = Resident.objects.get(pk=world.resident.pk)
    assert isinstance(resident.phone, SensitiveValue)
    assert str(resident.phone) == "138****5678"
    assert f"{resident.id_number}" == "310106********1228"
    assert resident.phone.reveal() == CLEAR_PHONE
    assert resident.id_number.reveal() == CLEAR_ID


def test_same_number_encrypts_differently_but_hashes_the_same(world: World) -> None:
    assert crypto.encrypt(CLEAR_PHONE) != crypto.encrypt(CLEAR_PHONE)
    resident = Resident.objects.get(pk=world.resident.pk)
    assert resident.phone_hash == crypto.lookup_hash("phone", CLEAR_PHONE)
    assert (
        Resident.objects.get(phone_hash=crypto.lookup_hash("phone", "138-1234-5678".replace("-", ""))) == resident
    )


def test_duplicate_id_number_is_refused_by_the_database(world: World) -> None:
    from django.db import IntegrityError

    with pytest.raises(IntegrityError):
        factories.ResidentFactory(household=world.other_household, id_number=CLEAR_ID)


def test_old_key_still_decrypts_after_rotation(world: World, settings) -> None:
    from cryptography.fernet import Fernet

    old_keys = list(settings.NINGJU_FIELD_KEYS)
    settings.NINGJU_FIELD_KEYS = [Fernet.generate_key().decode(), *old_keys]
    crypto.reset_caches()
    try:
        assert Resident.objects.get(pk=world.resident.pk).phone.reveal() == CLEAR_PHONE
    finally:
        settings.NINGJU_FIELD_KEYS = old_keys
        crypto.reset_caches()


def test_wrong_key_cannot_read_identifiers(world: World, settings) -> None:
    from cryptography.fernet import Fernet

    old_keys = list(settings.NINGJU_FIELD_KEYS)
    settings.NINGJU_FIELD_KEYS = [Fernet.generate_key().decode()]
    crypto.reset_caches()
    try:
        with pytest.raises(ValueError, match="cannot decrypt"):
            Resident.objects.get(pk=world.resident.pk).phone.reveal()
    finally:
        settings.NINGJU_FIELD_KEYS = old_keys
        crypto.reset_caches()


# Clear identifiers as a scan finds them in stored text: a mobile number or an 18-character ID number standing alone
# (not inside a longer run of digits). Fernet tokens and hex digests (hashes, hash-chain links) are removed first:
# a run of random hex or base64 may contain eleven digits in a row by chance; so may a UUID.
MOBILE_IN_TEXT = re.compile(r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])")
ID_IN_TEXT = re.compile(r"(?<![0-9])[1-9][0-9]{5}(?:19|20)[0-9]{2}[01][0-9][0-3][0-9][0-9]{3}[0-9X](?![0-9])")
NOT_CLEAR_TEXT = re.compile(
    r"gAAAAA[A-Za-z0-9_\-=]+|[0-9a-fA-F]{32,}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)


def clear_identifiers_in(text: str) -> list[str]:
    text = NOT_CLEAR_TEXT.sub(" ", text)
    return MOBILE_IN_TEXT.findall(text) + ID_IN_TEXT.findall(text)


def test_scan_finds_clear_numbers_where_they_are() -> None:
    """The scan below would notice a clear number: it is not a check that cannot fail."""
    assert clear_identifiers_in("张三 13812345678") == ["13812345678"]
    assert clear_identifiers_in("id 310106194503071228 x") == ["310106194503071228"]
    # PostgreSQL prints a UUID with dashes (a visit's id "…-1c71-b13113268119"); SQLite stores 32 hex digits.
    assert clear_identifiers_in("a0c372e2-a119-0f48-1c71-b13113268119") == []
    assert clear_identifiers_in(crypto.encrypt(CLEAR_PHONE) + " " + crypto.lookup_hash("phone", CLEAR_PHONE)) == []


def test_no_clear_mobile_or_id_number_anywhere_after_building_the_demo(tmp_path) -> None:
    """Residents, staff (core_user.phone) and compounds (committee and property contacts), history rows included:
    every text column of every table, and on SQLite the raw bytes of the database file."""
    call_command("demo", households=200, seed=7, stdout=StringIO())
    assert User.objects.exclude(phone=None).exclude(phone="").exists()
    assert Compound.objects.exclude(owners_committee_contact="").exists()
    text = all_database_text()
    found = clear_identifiers_in(text)
    where = [text[max(0, text.find(number) - 60) : text.find(number) + 30] for number in found[:3]]
    assert found == [], f"clear identifiers in the database: {found[:5]} in {where}"
    if connection.vendor == "sqlite":
        target = tmp_path / "copy.sqlite3"
        with sqlite3.connect(target) as copy:
            connection.connection.backup(copy)
        raw = target.read_bytes().decode("latin-1")
        assert "13" in raw  # the file is really there and readable
        found = clear_identifiers_in(raw)
        assert found == [], f"clear identifiers in the SQLite file: {found[:5]}"
