"""`make run` collects static files into a manifest storage: every file a collected CSS/JS refers to must be there."""

import re
import shlex
from pathlib import Path
from typing import Any

from django.core.management import call_command

MAKEFILE = Path(__file__).resolve().parent.parent / "Makefile"


def make_run_ignore_patterns() -> list[str]:
    """The --ignore patterns `make run` passes to collectstatic (the Makefile's STATIC_IGNORE)."""
    text = MAKEFILE.read_text().replace("\\\n", " ")
    line = re.search(r"^STATIC_IGNORE\s*=(.*)$", text, re.M)
    assert line is not None, "the Makefile lost STATIC_IGNORE"
    words = shlex.split(line.group(1))
    return [words[i + 1] for i, word in enumerate(words) if word == "--ignore"]


def test_make_runs_collectstatic_finds_every_referenced_file(tmp_path: Path, settings: Any) -> None:
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    # Raises MissingFileError when an ignored file is still referenced (a source map, a font, an image).
    call_command("collectstatic", interactive=False, verbosity=0, ignore_patterns=make_run_ignore_patterns())
    assert (tmp_path / "staticfiles.json").exists()
    assert (tmp_path / "vendor" / "echarts" / "echarts.min.js").exists()
    assert not list((tmp_path / "vendor" / "echarts").glob("*.map")), "ECharts' source maps are not served"
