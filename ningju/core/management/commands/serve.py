"""`ningju serve`: the production-grade web server (gunicorn) and the task worker (huey) side by side.

It collects the static files first (a page without its stylesheets and scripts answers 500 under the manifest
storage). Both servers run as child processes; when either stops, or on Ctrl-C/SIGTERM, both are stopped.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from ningju.core.management.commands.collect import collect_static

# Gunicorn's default format less the query string (%(r)s holds the whole request line) and the referer (%(f)s: the
# previous page's URL, query string included): a search or filter must not leave a phone or ID number in the log.
ACCESS_LOG_FORMAT = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s "%(a)s"'


def open_access_log(path: Path) -> Path:
    """Create the access log readable by its owner only (0600), before gunicorn opens it for appending."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)  # a log created by an older release was 0644
    return path


def gunicorn_command(*, host: str, port: int, workers: int, threads: int, access_log: Path) -> list[str]:
    """The web server's command line; the browser tests start the same one."""
    return [
        os.path.join(os.path.dirname(sys.executable), "gunicorn"),
        "ningju.wsgi:application",
        "--bind",
        f"{host}:{port}",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--access-logfile",
        str(access_log),
        "--access-logformat",
        ACCESS_LOG_FORMAT,
        "--timeout",
        "120",
        "--preload",  # load the application once in the master (see ningju/wsgi.py), then fork the workers
    ]


class Command(BaseCommand):
    help = (
        "Collect the static files, then serve Ningju with gunicorn and run the background task worker beside it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--workers", type=int, default=int(os.environ.get("NINGJU_WEB_WORKERS", "3")))
        parser.add_argument("--threads", type=int, default=2)

    def handle(self, *args: Any, host: str, port: int, workers: int, threads: int, **options: Any) -> None:
        collect_static()
        web = gunicorn_command(
            host=host,
            port=port,
            workers=workers,
            threads=threads,
            access_log=open_access_log(settings.VAR_DIR / "access.log"),
        )
        worker = [sys.executable, "-m", "ningju", "run_huey", "--quiet"]
        children = [subprocess.Popen(worker), subprocess.Popen(web)]
        self.stdout.write(self.style.SUCCESS(f"宁聚 is serving on http://{host}:{port}/  (Ctrl-C stops it)"))

        def stop(*_: Any) -> None:
            for child in children:
                if child.poll() is None:
                    child.terminate()

        signal.signal(signal.SIGTERM, stop)
        try:
            while all(child.poll() is None for child in children):
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            stop()
            for child in children:
                try:
                    child.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    child.kill()
