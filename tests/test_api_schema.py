"""The OpenAPI schema generates cleanly and describes the API truthfully; the docs pages work offline."""

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.urls import reverse
from rest_framework.test import APIClient

V1_PATHS = [
    "/api/v1/auth/token/",
    "/api/v1/auth/tokens/",
    "/api/v1/areas/",
    "/api/v1/areas/{id}/",
    "/api/v1/compounds/",
    "/api/v1/compounds/{id}/",
    "/api/v1/buildings/",
    "/api/v1/buildings/{id}/",
    "/api/v1/households/",
    "/api/v1/households/{id}/",
    "/api/v1/residents/",
    "/api/v1/residents/{id}/",
    "/api/v1/residents/{id}/reveal/",
    "/api/v1/visits/",
    "/api/v1/visits/{id}/",
    "/api/v1/demands/",
    "/api/v1/demands/{id}/",
    "/api/v1/meetings/",
    "/api/v1/meetings/{id}/",
    "/api/v1/action-items/",
    "/api/v1/action-items/{id}/",
    "/api/v1/events/",
    "/api/v1/scorecards/",
    *(
        f"/api/v1/demands/{{id}}/{step}/"
        for step in (
            "contact",
            "start-handling",
            "resolve",
            "request-callback",
            "callback",
            "close",
            "whistle",
            "street-accept",
            "dispatch",
            "redispatch",
            "acknowledge",
            "department-start",
            "department-resolve",
            "return",
            "request-extension",
            "approve-extension",
            "deny-extension",
            "merge",
        )
    ),
]


@pytest.fixture(scope="module")
def schema(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The schema as `ningju spectacular --validate --fail-on-warn` writes it; the command raises on any
    generator warning or on an invalid OpenAPI document."""
    path: Path = tmp_path_factory.mktemp("schema") / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(path))
    return yaml.safe_load(path.read_text())


def test_schema_describes_every_v1_endpoint(schema: dict[str, Any]) -> None:
    assert sorted(p for p in schema["paths"] if p.startswith("/api/v1/")) == sorted(V1_PATHS)


def test_record_ids_in_paths_are_integers_or_client_made_uuids(schema: dict[str, Any]) -> None:
    for path, operations in schema["paths"].items():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter["in"] != "path":
                    continue
                if path.startswith("/api/v1/visits/"):  # visit ids are UUIDs made by the phone (offline sync)
                    assert (parameter["schema"]["type"], parameter["schema"]["format"]) == ("string", "uuid"), path
                else:
                    assert parameter["schema"]["type"] == "integer", path


def test_every_registry_endpoint_needs_a_token_or_session(schema: dict[str, Any]) -> None:
    for path in V1_PATHS:
        for method, operation in schema["paths"][path].items():
            schemes = {name for requirement in operation.get("security", []) for name in requirement}
            if (path, method) == ("/api/v1/auth/token/", "post"):
                assert schemes == set(), "the token endpoint is where a client starts"
            else:
                assert schemes == {"tokenAuth", "cookieAuth"}, (path, method)


def test_operations_are_grouped_by_resource(schema: dict[str, Any]) -> None:
    tags = {operation["tags"][0] for path in V1_PATHS for operation in schema["paths"][path].values()}

    assert tags == {
        *("auth", "areas", "compounds", "buildings", "households", "residents", "visits", "demands"),
        *("meetings", "action-items", "events", "scorecards"),
    }


def test_lists_are_paginated_with_page_size(schema: dict[str, Any]) -> None:
    for path in V1_PATHS:
        if path.endswith("s/") and "{id}" not in path and "auth" not in path:
            operation = schema["paths"][path]["get"]
            names = {parameter["name"] for parameter in operation["parameters"]}
            assert {"page", "page_size"} <= names, path
            ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
            assert ref.startswith("#/components/schemas/Paginated"), path


def test_list_filters_are_documented(schema: dict[str, Any]) -> None:
    def query(path: str) -> set[str]:
        return {p["name"] for p in schema["paths"][path]["get"]["parameters"]} - {"page", "page_size"}

    assert query("/api/v1/households/") == {"area", "building", "tag"}
    assert query("/api/v1/residents/") == {"household"}
    assert query("/api/v1/visits/") == {"household", "patrol_site"}
    assert query("/api/v1/buildings/") == {"compound"}
    assert query("/api/v1/compounds/") == {"area"}
    assert query("/api/v1/demands/") == {"state", "area", "mine"}


def test_household_contract_holds_tags_and_building_coordinates(schema: dict[str, Any]) -> None:
    components = schema["components"]["schemas"]
    household = components["HouseholdOutput"]["properties"]

    assert household["tags"]["items"]["$ref"] == "#/components/schemas/TagOutput"
    assert set(components["TagOutput"]["properties"]) == {"id", "name", "category", "high_risk"}
    assert household["building"]["$ref"] == "#/components/schemas/BuildingRefOutput"
    assert set(components["BuildingRefOutput"]["properties"]) == {"id", "address", "lat", "lng"}
    assert {"id", "room", "address", "tenure", "area_code"} <= set(household)


def test_resident_identifiers_are_documented_as_masked_and_read_only(schema: dict[str, Any]) -> None:
    resident = schema["components"]["schemas"]["ResidentOutput"]["properties"]

    for field in ("phone", "id_number"):
        assert resident[field]["readOnly"] is True
        assert "脱敏" in resident[field]["description"]


def test_reveal_takes_a_field_and_a_reason(schema: dict[str, Any]) -> None:
    operation = schema["paths"]["/api/v1/residents/{id}/reveal/"]["post"]
    ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    reveal = schema["components"]["schemas"][ref.rsplit("/", 1)[-1]]

    assert set(reveal["required"]) == {"field", "reason"}
    field_enum = schema["components"]["schemas"][reveal["properties"]["field"]["$ref"].rsplit("/", 1)[-1]]
    assert set(field_enum["enum"]) == {"phone", "id_number"}


def test_schema_is_served_to_anyone(db: None) -> None:
    response = APIClient().get(reverse("api_schema"))

    assert response.status_code == 200
    assert b"/api/v1/households/{id}/" in response.content


LOCAL_ASSET = re.compile(r'(?:src|href)="(/static/[^"]+)"')


@pytest.mark.parametrize(("page", "bundle"), [("api_docs", "swagger-ui-bundle.js"), ("api_redoc", "redoc")])
def test_docs_render_with_local_assets_only(db: None, page: str, bundle: str) -> None:
    response = APIClient().get(reverse(page))

    assert response.status_code == 200
    html = response.content.decode()
    assert "drf_spectacular_sidecar" in html
    assert bundle in html
    # Offices may have no internet access beyond the platform: nothing may come from a CDN.
    assert not re.search(r'(?:src|href)="(?:https?:)?//', html)
    assets = LOCAL_ASSET.findall(html)
    assert assets
    for url in assets:
        assert finders.find(url.removeprefix("/static/")) is not None, url
