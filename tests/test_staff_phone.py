"""Staff phone numbers and compound contacts: encrypted at rest, masked everywhere, revealed with a reason to the
people who work with them (a staff number to the street's administrators; a committee or property contact to the
compound's area and the street), each reveal audited."""

import pytest
from django.db import connection
from django.forms import modelform_factory
from django.test import Client

from ningju.core.models import AuditAction, AuditEntry, Role, User
from ningju.core.rotation import decrypt_column, encrypt_column
from ningju.registry.models import Compound
from tests import factories
from tests.conftest import World

pytestmark = pytest.mark.django_db

STAFF_PHONE = "13912345678"
COMMITTEE = "张三 13812345678"
PROPERTY = "李四 137-0000-1111"


def raw(table: str, column: str, pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT "{column}" FROM "{table}" WHERE id = %s', [pk])
        return str(cursor.fetchone()[0])


@pytest.fixture
def colleague(world: World) -> User:
    """A cadre of 恒德里 with a mobile number on file."""
    return factories.UserFactory(role=Role.CADRE, area=world.household.building.compound.area, phone=STAFF_PHONE)


@pytest.fixture
def compound(world: World) -> Compound:
    compound = world.household.building.compound
    compound.owners_committee_contact = COMMITTEE
    compound.property_contact = PROPERTY
    compound.save(update_fields=["owners_committee_contact", "property_contact"])
    return Compound.objects.get(pk=compound.pk)


def test_staff_phone_is_stored_encrypted_and_reads_back_masked(colleague: User) -> None:
    assert STAFF_PHONE not in raw("core_user", "phone", colleague.pk)
    stored = User.objects.get(pk=colleague.pk)
    assert str(stored.phone) == "139****5678"
    assert stored.phone.reveal() == STAFF_PHONE


def test_compound_contacts_are_stored_encrypted_and_masked_keeping_the_name(compound: Compound) -> None:
    for column, clear in (("owners_committee_contact", "13812345678"), ("property_contact", "13700001111")):
        assert clear not in raw("registry_compound", column, compound.pk)
    assert str(compound.owners_committee_contact) == "张三 138****5678"
    assert str(compound.property_contact) == "李四 137****1111"


def test_street_admin_reveals_a_staff_phone_with_a_reason_and_it_is_audited(
    client: Client, world: World, colleague: User
) -> None:
    client.force_login(world.admin)
    page = client.get(f"/accounts/staff/{colleague.pk}/phone/").content.decode()
    assert "139****5678" in page and STAFF_PHONE not in page
    response = client.post(f"/accounts/staff/{colleague.pk}/phone/", {"reason": "联系工作"})
    assert response.status_code == 200
    assert STAFF_PHONE in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    entry = AuditEntry.objects.get(action=AuditAction.REVEAL, target_type="core.user")
    assert (entry.target_id, entry.field, entry.reason, entry.user) == (
        str(colleague.pk),
        "phone",
        "联系工作",
        world.admin,
    )


def test_staff_phone_reveal_needs_a_reason(client: Client, world: World, colleague: User) -> None:
    client.force_login(world.admin)
    response = client.post(f"/accounts/staff/{colleague.pk}/phone/", {"reason": ""})
    assert response.status_code == 400
    assert STAFF_PHONE not in response.content.decode()
    assert not AuditEntry.objects.filter(action=AuditAction.REVEAL).exists()


@pytest.mark.parametrize("who", ["cadre", "other_cadre", "other_street_admin"])
def test_only_the_streets_administrators_may_reveal_a_staff_phone(
    client: Client, world: World, colleague: User, who: str
) -> None:
    client.force_login(getattr(world, who))
    response = client.post(f"/accounts/staff/{colleague.pk}/phone/", {"reason": "联系工作"})
    assert response.status_code in (403, 404)
    assert STAFF_PHONE not in response.content.decode()
    assert not AuditEntry.objects.filter(action=AuditAction.REVEAL).exists()


def test_compound_page_and_api_show_contacts_masked(client: Client, world: World, compound: Compound) -> None:
    client.force_login(world.cadre)
    for url in (f"/compounds/{compound.pk}/", f"/api/v1/compounds/{compound.pk}/"):
        body = client.get(url).content.decode()
        assert "138****5678" in body, url
        assert "13812345678" not in body and "13700001111" not in body, url


@pytest.mark.parametrize("who", ["cadre", "admin"])
def test_the_area_and_the_street_reveal_a_committee_contact_audited(
    client: Client, world: World, compound: Compound, who: str
) -> None:
    client.force_login(getattr(world, who))
    response = client.post(
        f"/compounds/{compound.pk}/reveal/", {"field": "owners_committee_contact", "reason": "联系业委会"}
    )
    assert response.status_code == 200
    assert "张三 13812345678" in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    entry = AuditEntry.objects.get(action=AuditAction.REVEAL, target_type="registry.compound")
    assert (entry.field, entry.reason) == ("owners_committee_contact", "联系业委会")


@pytest.mark.parametrize("who", ["other_cadre", "other_street_admin"])
def test_another_area_or_street_cannot_reveal_a_committee_contact(
    client: Client, world: World, compound: Compound, who: str
) -> None:
    client.force_login(getattr(world, who))
    response = client.post(
        f"/compounds/{compound.pk}/reveal/", {"field": "owners_committee_contact", "reason": "联系业委会"}
    )
    assert response.status_code in (403, 404)
    assert "13812345678" not in response.content.decode()
    assert not AuditEntry.objects.filter(action=AuditAction.REVEAL).exists()


def test_a_form_never_shows_the_stored_number_and_an_empty_box_keeps_it(compound: Compound) -> None:
    """The admin's change form: a masked value sent back would overwrite the number with stars."""
    form_class = modelform_factory(Compound, fields=["name", "owners_committee_contact", "property_contact"])
    rendered = str(form_class(instance=compound))
    assert "13812345678" not in rendered and "138****5678" not in rendered
    form = form_class(
        {"name": compound.name, "owners_committee_contact": "", "property_contact": "王五 13600002222"},
        instance=compound,
    )
    assert form.is_valid(), form.errors
    form.save()
    stored = Compound.objects.get(pk=compound.pk)
    assert stored.owners_committee_contact.reveal() == COMMITTEE
    assert stored.property_contact.reveal() == "王五 13600002222"


def test_the_data_migration_encrypts_clear_values_and_reverses(colleague: User) -> None:
    with connection.cursor() as cursor:
        cursor.execute("UPDATE core_user SET phone = %s WHERE id = %s", ["139 1234 5678", colleague.pk])
    assert encrypt_column(connection, "core_user", "phone", kind="phone") == 1
    assert encrypt_column(connection, "core_user", "phone", kind="phone") == 0  # a re-run leaves tokens alone
    assert "5678" not in raw("core_user", "phone", colleague.pk)
    assert User.objects.get(pk=colleague.pk).phone.reveal() == STAFF_PHONE
    decrypt_column(connection, "core_user", "phone")
    assert raw("core_user", "phone", colleague.pk) == STAFF_PHONE


def test_the_staff_list_shows_numbers_masked_with_a_way_to_reveal(
    client: Client, world: World, colleague: User
) -> None:
    client.force_login(world.admin)
    page = client.get("/accounts/staff/").content.decode()
    assert "139****5678" in page and STAFF_PHONE not in page
    assert f"/accounts/staff/{colleague.pk}/phone/" in page
