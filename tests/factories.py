"""Factories for the registry and users: a tiny two-area street with valid, unique ID and phone numbers."""

import itertools
from datetime import date

import factory

from ningju.core.identifiers import id_check_char
from ningju.core.models import Role, User
from ningju.registry import models

_serial = itertools.count(1)


def make_id_number(birth: date = date(1950, 3, 7), serial: int | None = None, male: bool = True) -> str:
    """A valid 18-character ID number (correct GB 11643 check character) for a person born on `birth`."""
    n = next(_serial) if serial is None else serial
    seq = (n % 499) * 2 + (1 if male else 0)
    first17 = f"310106{birth:%Y%m%d}{seq:03d}"
    return first17 + id_check_char(first17)


def make_phone(serial: int | None = None) -> str:
    n = next(_serial) if serial is None else serial
    return f"139{n:08d}"


class StreetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Street
        django_get_or_create = ("code",)

    code = "310106006"
    name = "江宁路街道"


class AreaFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.ResidentialArea
        django_get_or_create = ("code",)

    street = factory.SubFactory(StreetFactory)
    code = factory.Sequence(lambda n: f"310106006{100 + n:03d}")
    name = factory.Sequence(lambda n: f"测试居民区{n}")
    office_lat = 31.2400
    office_lng = 121.4520


class CompoundFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Compound

    area = factory.SubFactory(AreaFactory)
    name = factory.Sequence(lambda n: f"测试小区{n}")
    owners_committee = "业主委员会"
    property_company = "康定物业"


class BuildingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Building

    compound = factory.SubFactory(CompoundFactory)
    road = "常德路"
    # Far from the lanes tests name themselves (常德路633弄, 545弄): a long run would otherwise reach one of them.
    lane = factory.Sequence(lambda n: str(2000 + n))
    number = "5"
    lat = 31.2376
    lng = 121.4508


class HouseholdFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Household
        skip_postgeneration_save = True

    building = factory.SubFactory(BuildingFactory)
    room = factory.Sequence(lambda n: f"{101 + n}")

    @factory.post_generation
    def tags(self, create: bool, extracted: list[models.Tag] | None, **kwargs: object) -> None:
        if create and extracted:
            self.tags.set(extracted)


class ResidentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Resident

    household = factory.SubFactory(HouseholdFactory)
    name = factory.Sequence(lambda n: f"张{'伟芳秀英明华'[n % 6]}{n}")
    gender = "M"
    birth_date = date(1950, 3, 7)
    id_number = factory.LazyFunction(make_id_number)
    phone = factory.LazyFunction(make_phone)


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Department

    street = factory.SubFactory(StreetFactory)
    name = factory.Sequence(lambda n: f"部门{n}")
    slug = factory.Sequence(lambda n: f"dept{n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    full_name = factory.Sequence(lambda n: f"用户{n}")
    password = factory.PostGenerationMethodCall("set_password", "ningju-demo")

    @classmethod
    def _after_postgeneration(cls, instance: User, create: bool, results: object = None) -> None:
        if create:
            instance.save()


def street_admin(street: models.Street, **kwargs: object) -> User:
    return UserFactory(role=Role.STREET_ADMIN, street=street, **kwargs)


def area_user(area: models.ResidentialArea, role: str = Role.CADRE, **kwargs: object) -> User:
    return UserFactory(role=role, area=area, street=area.street, **kwargs)


def liaison(department: models.Department, **kwargs: object) -> User:
    return UserFactory(role=Role.LIAISON, department=department, street=department.street, **kwargs)
