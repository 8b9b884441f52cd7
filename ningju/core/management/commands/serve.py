"""`ningju serve`: the production-grade web server (gunicorn) and the task worker (huey) side by side.

Both run as child processes; when either stops, or on Ctrl-C/SIGTERM, both are stopped.
"""

import os
import signal
import subprocess
import sys
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Serve Ningju with gunicorn and run the background task worker beside it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--workers", type=int, default=int(os.environ.get("NINGJU_WEB_WORKERS", "3")))

    def handle(self, *args: Any, host: str, port: int, workers: int, **options: Any) -> None:
        bindir = os.path.dirname(sys.executable)
        web = [
            os.path.join(bindir, "gunicorn"),
            "ningju.wsgi:application",
            "--bind",
            f"{host}:{port}",
            "--workers",
            str(workers),
            "--threads",
            "2",
            "--access-logfile",
            str(settings.VAR_DIR / "access.log"),
            "--timeout",
            "120",
            "--preload",  # load the application once in the master (see ningju/wsgi.py), then fork the workers
        ]
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
