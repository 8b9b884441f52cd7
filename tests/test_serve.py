"""`ningju serve` on a fresh checkout: it collects the static files itself (or refuses, in Chinese, to start without
them), and its access log keeps no query string and is readable by its owner only."""

import stat
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from ningju.core.management.commands import serve


class ExitedAtOnce:
    """Stands in for the gunicorn and huey processes: records the command line and stops at once."""

    started: list[list[str]] = []

    def __init__(self, command: list[str]) -> None:
        self.started.append(command)

    def poll(self) -> int:
        return 0

    def terminate(self) -> None:
        pass

    def wait(self, timeout: float | None = None) -> int:
        return 0


@pytest.fixture
def fresh_checkout(tmp_path: Path, settings: Any, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No collected static files, the production storage, an empty var/, and no real server started."""
    settings.STATIC_ROOT = tmp_path / "staticfiles"
    settings.VAR_DIR = tmp_path / "var"
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    ExitedAtOnce.started = []
    monkeypatch.setattr(serve.subprocess, "Popen", ExitedAtOnce)
    monkeypatch.setattr(serve.signal, "signal", lambda *args: None)  # pytest keeps its own SIGTERM handler
    return tmp_path


def gunicorn_started() -> list[str]:
    [web] = [command for command in ExitedAtOnce.started if "ningju.wsgi:application" in command]
    return web


def test_serve_collects_the_static_files_before_it_starts_gunicorn(fresh_checkout: Path) -> None:
    call_command("serve", port=8123)

    assert (fresh_checkout / "staticfiles" / "staticfiles.json").exists()
    assert list((fresh_checkout / "staticfiles" / "ningju").glob("visits-offline.*.js")), "no hashed copy"
    assert "127.0.0.1:8123" in gunicorn_started()


def test_serve_refuses_in_chinese_when_it_cannot_collect(fresh_checkout: Path, settings: Any) -> None:
    (fresh_checkout / "not-a-folder").write_text("")
    settings.STATIC_ROOT = fresh_checkout / "not-a-folder" / "staticfiles"

    with pytest.raises(CommandError, match=r"无法把静态文件收集到.*服务没有启动"):
        call_command("serve")

    assert ExitedAtOnce.started == []


def test_access_log_format_has_no_query_string_or_referer(fresh_checkout: Path) -> None:
    call_command("serve")

    web = gunicorn_started()
    log_format = web[web.index("--access-logformat") + 1]
    assert "%(U)s" in log_format  # the path alone
    for atom in ("%(r)s", "%(q)s", "%(f)s", "%({raw_uri}e)s"):
        assert atom not in log_format


def test_access_log_is_created_readable_by_its_owner_only(fresh_checkout: Path) -> None:
    old_log = fresh_checkout / "var" / "access.log"
    old_log.parent.mkdir(parents=True)
    old_log.write_text("written by an older release\n")
    old_log.chmod(0o644)

    call_command("serve")

    web = gunicorn_started()
    assert Path(web[web.index("--access-logfile") + 1]) == old_log
    assert stat.S_IMODE(old_log.stat().st_mode) == 0o600
    assert old_log.read_text() == "written by an older release\n"  # kept, only closed to others
