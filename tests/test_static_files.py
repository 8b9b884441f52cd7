"""`ningju serve` collects static files into a manifest storage: every file a collected CSS/JS refers to must be there."""

import json
from pathlib import Path
from typing import Any

from django.test import Client
from django.urls import reverse

from ningju.core.management.commands.collect import collect_static
from ningju.visits.views.logging import OFFLINE_ASSETS


def test_serve_collects_every_referenced_file(tmp_path: Path, settings: Any) -> None:
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    # Fails when an ignored file is still referenced (a source map, a font, an image).
    collect_static()
    assert (tmp_path / "staticfiles.json").exists()
    assert (tmp_path / "vendor" / "echarts" / "echarts.min.js").exists()
    assert not list((tmp_path / "vendor" / "echarts").glob("*.map")), "ECharts' source maps are not served"


def test_service_worker_lists_the_hashed_files_it_keeps_offline(tmp_path: Path, settings: Any, db: None) -> None:
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    collect_static()

    response = Client().get(reverse("visit_sw"))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    manifest = json.loads((tmp_path / "staticfiles.json").read_text())["paths"]
    body = response.content.decode()
    for name in OFFLINE_ASSETS:
        assert f'"/static/{manifest[name]}"' in body, f"{name} is not kept under its hashed name"
        assert (tmp_path / manifest[name]).exists()
    assert '"static_prefix": "/static/"' in body
