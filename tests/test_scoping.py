"""The one scoping helper: for every registry model, what each role sees and may change."""

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from ningju.core import scoping
from ningju.core.models import CalendarYear
from ningju.registry import models
from tests.conftest import World

pytestmark = pytest.mark.django_db

SCOPED = [models.ResidentialArea, models.Compound, models.Building, models.Household, models.Resident]


def area_of(obj) -> str:
    path = type(obj).SCOPE_AREA
    for step in [] if path == "self" else path.split("__"):
        obj = getattr(obj, step)
    return obj.name


@pytest.mark.parametrize("model", SCOPED)
def test_street_admin_sees_both_areas(world: World, model) -> None:
    assert {area_of(o) for o in scoping.visible(world.admin, model.objects.all())} == {"恒德里", "又一村"}


@pytest.mark.parametrize("role", ["head", "cadre"])
@pytest.mark.parametrize("model", SCOPED)
def test_area_users_see_only_their_area(world: World, role: str, model) -> None:
    seen = scoping.visible(getattr(world, role), model.objects.all())
    assert seen.exists()
    assert {area_of(o) for o in seen} == {"恒德里"}


@pytest.mark.parametrize("role", ["liaison", "nobody"])
@pytest.mark.parametrize("model", [*SCOPED, models.Street, models.Grid, models.PatrolSite])
def test_liaison_and_roleless_see_nothing_of_the_registry(world: World, role: str, model) -> None:
    assert not scoping.visible(getattr(world, role), model.objects.all()).exists()


def test_inactive_user_sees_nothing(world: World) -> None:
    world.admin.is_active = False
    assert not scoping.visible(world.admin, models.Household.objects.all()).exists()


def test_street_level_objects_are_read_by_everyone_in_the_street(world: World) -> None:
    assert list(scoping.visible(world.cadre, models.Street.objects.all())) == [world.street]
    assert list(scoping.visible(world.admin, models.Street.objects.all())) == [world.street]


def test_get_for_user_refuses_out_of_scope_and_404s_missing(world: World) -> None:
    with pytest.raises(PermissionDenied):
        scoping.get_for_user(world.cadre, models.Household.objects.all(), pk=world.other_household.pk)
    with pytest.raises(Http404):
        scoping.get_for_user(world.cadre, models.Household.objects.all(), pk=10**9)
    assert scoping.get_for_user(world.cadre, models.Household.objects.all(), pk=world.household.pk)


def test_change_and_reveal_permissions_by_role(world: World) -> None:
    assert scoping.can_change(world.cadre, world.household)
    assert not scoping.can_change(world.cadre, world.other_household)
    assert scoping.can_change(world.admin, world.other_household)
    assert not scoping.can_change(world.liaison, world.household)
    assert scoping.can_reveal(world.head, world.resident)
    assert not scoping.can_reveal(world.other_cadre, world.resident)
    assert not scoping.can_reveal(world.nobody, world.resident)


def test_unscoped_models_are_refused_loudly(world: World) -> None:
    # Tags now have a rule (their street's staff); the working-day calendar has none and must not be scoped.
    with pytest.raises(TypeError):
        scoping.visible(world.admin, CalendarYear.objects.all())
