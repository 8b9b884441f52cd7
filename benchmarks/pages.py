"""Benchmark every page of the main journeys: time to first byte from the production server, and query count.

    cp -r var /tmp/bench-var   # a copy: signing in and opening pages write sessions, audit rows and notifications
    NINGJU_VAR_DIR=/tmp/bench-var .venv/bin/python benchmarks/pages.py [--requests 10]

It serves the database with the production configuration (`ningju collect`, then gunicorn with DEBUG off, one sync
worker and one thread, so requests are answered one at a time), signs in over HTTP as each demo role (the street
administrator with the code from the demo authenticator), requests each page once to warm it (the "first" column:
an empty cache) and then --requests times, and prints p50/p95 of the time to first byte (the time from sending the
request to the response's headers, measured by `requests`; Django renders the whole page before gunicorn sends the
headers). The query count comes from the same page rendered in-process (Django's test client with the same
session cookie, CaptureQueriesContext) on the same database.

The code measured is that of the checkout the script lives in (its root goes first on PYTHONPATH): run a copy of
this file from a `git worktree` of an older commit to measure that commit.
"""

import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ROLES = {
    "admin": "street_admin",
    "head-006": "area_head",
    "cadre-006-1": "cadre",
    "dept-chengguan": "liaison",
}


@dataclass
class Page:
    label: str
    url: str


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _pages(username: str) -> list[Page]:
    """The pages a person of this role opens in a working day, with real objects of their scope."""
    from ningju.core.models import Role, User
    from ningju.demands.models import Demand, Dispatch
    from ningju.insights.models import Cluster
    from ningju.meetings.models import Meeting
    from ningju.registry.models import Household
    from ningju.visits.models import Route, Visit

    user = User.objects.get(username=username)
    today = time.strftime("%Y-%m-%d")
    pages = [Page("首页", "/"), Page("通知", "/notifications/")]
    if user.role in (Role.AREA_HEAD, Role.CADRE, Role.STREET_ADMIN):
        area = user.area if user.role != Role.STREET_ADMIN else None
        in_area: dict[str, Any] = {"area": area} if area else {}
        household = Household.objects.filter(**({"building__compound__area": area} if area else {})).first()
        visit = Visit.objects.filter(**in_area).order_by("-pk").first()
        demand = Demand.objects.filter(**in_area).order_by("-pk").first()
        meeting = Meeting.objects.filter(**in_area).order_by("-pk").first()
        route = Route.objects.filter(cadre=user).order_by("-day").first() if user.role == Role.CADRE else None
        pages += [
            Page("今日路线", "/visits/today/"),
            Page("走访登记", "/visits/new/" + (f"?household={household.pk}" if household else "")),
            Page("走访覆盖", "/visits/coverage/"),
            Page("我的诉求", "/demands/"),
            Page("登记诉求", "/demands/new/"),
            Page("数据看板", "/insights/dashboard/"),
            Page("工作报告", "/insights/report/"),
            Page("同类诉求", "/insights/clusters/"),
            Page("议事会议", "/meetings/"),
            Page("三会一代理", "/meetings/troika/"),
            Page("行动清单", "/meetings/actions/"),
            Page("活动", "/meetings/events/"),
            Page("考核评议", "/meetings/assessment/"),
            Page("居民区", "/areas/"),
            Page("查找", "/search/"),
        ]
        if route is not None:
            pages.append(Page("路线(某日)", f"/visits/routes/{username}/{route.day.isoformat()}/"))
        if household is not None:
            pages += [
                Page("户详情", f"/households/{household.pk}/"),
                Page("户走访记录", f"/visits/household/{household.pk}/"),
            ]
        if visit is not None:
            pages.append(Page("走访详情", f"/visits/{visit.pk}/"))
        if demand is not None:
            pages.append(Page("诉求详情", f"/demands/{demand.pk}/"))
        if meeting is not None:
            pages.append(Page("会议详情", f"/meetings/{meeting.pk}/"))
        cluster = Cluster.objects.order_by("-pk").first()
        if cluster is not None:
            pages.append(Page("同类诉求详情", f"/insights/clusters/{cluster.pk}/"))
    if user.role == Role.AREA_HEAD:
        pages += [Page("居民区诉求", "/demands/inbox/"), Page("结对", "/visits/pairing/")]
    if user.role == Role.STREET_ADMIN:
        pages += [
            Page("受理台", "/demands/desk/"),
            Page("全部诉求", "/demands/all/"),
            Page("三率", "/demands/rates/"),
            Page("标签", "/tags/"),
            Page("账号", "/accounts/staff/"),
            Page("审计", "/accounts/audit/"),
            Page("走访规则", "/visits/rules/"),
            Page("培训", "/meetings/training/"),
            Page("参与", "/meetings/participation/"),
        ]
    if user.role == Role.LIAISON:
        dispatch = Dispatch.objects.filter(department=user.department).order_by("-pk").first()
        pages.append(Page("部门工单", "/demands/department/"))
        if dispatch is not None:
            pages.append(Page("诉求详情", f"/demands/{dispatch.demand_id}/"))
    del today
    return pages


def _sign_in(base: str, username: str, password: str) -> Any:
    import requests
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from ningju.core import mfa

    session = requests.Session()
    page = session.get(f"{base}/accounts/login/", timeout=60)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token, "no CSRF token on the sign-in page"
    answer = session.post(
        f"{base}/accounts/login/",
        data={"csrfmiddlewaretoken": token.group(1), "username": username, "password": password},
        headers={"Referer": f"{base}/accounts/login/"},
        timeout=60,
    )
    if "/accounts/mfa/verify/" in answer.url:
        device = TOTPDevice.objects.get(user__username=username, confirmed=True)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', answer.text)
        assert token, "no CSRF token on the verify page"
        answer = session.post(
            answer.url,
            data={"csrfmiddlewaretoken": token.group(1), "code": mfa.current_code(device)},
            headers={"Referer": answer.url},
            timeout=60,
        )
    if "/accounts/login/" in answer.url or "/accounts/mfa/" in answer.url:
        sys.exit(f"could not sign in as {username} ({answer.url})")
    return session


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=10, help="timed requests per page (after one warm-up)")
    parser.add_argument("--password", default="ningju-demo")
    parser.add_argument("--users", nargs="*", default=list(ROLES), help="demo usernames to sign in as")
    parser.add_argument("--only", default="", help="only pages whose label contains this")
    args = parser.parse_args()

    if not os.environ.get("NINGJU_VAR_DIR"):
        sys.exit("set NINGJU_VAR_DIR to a copy of a demo street's var/ folder")
    static_root = Path(tempfile.mkdtemp(prefix="ningju-bench-static-"))
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "ningju.settings",
        "NINGJU_ENV": "local",
        "NINGJU_DEBUG": "0",
        "NINGJU_STATIC_ROOT": str(static_root),
        "NINGJU_MAP_TILES": os.environ.get("NINGJU_MAP_TILES", "none"),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")])),
    }
    os.environ.update(env)
    python = sys.executable
    subprocess.run([python, "-m", "ningju", "migrate", "--verbosity", "0"], cwd=ROOT, env=env, check=True)
    subprocess.run([python, "-m", "ningju", "collect"], cwd=ROOT, env=env, check=True)

    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, setup_test_environment

    import ningju
    from ningju.core.management.commands.serve import gunicorn_command, open_access_log

    assert Path(ningju.__file__).resolve().is_relative_to(ROOT), f"measuring {ningju.__file__}, not {ROOT}"
    setup_test_environment()
    var_dir = Path(os.environ["NINGJU_VAR_DIR"])
    port = _free_port()
    command = gunicorn_command(
        host="127.0.0.1", port=port, workers=1, threads=1, access_log=open_access_log(var_dir / "bench-access.log")
    )
    log = open(var_dir / "bench-server.log", "wb")  # noqa: SIM115 - open while the server runs
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    rows: list[tuple[str, str, int, float, float, float, int]] = []
    try:
        import requests

        deadline = time.monotonic() + 120
        while True:
            try:
                if requests.get(f"{base}/healthz", timeout=5).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                sys.exit("gunicorn did not start:\n" + (var_dir / "bench-server.log").read_text()[-3000:])
            time.sleep(0.3)
        print(f"code: {Path(ningju.__file__).parent}  database: {connection.settings_dict['NAME']}", flush=True)
        for username in args.users:
            session = _sign_in(base, username, args.password)
            client = Client()
            client.cookies["sessionid"] = session.cookies["sessionid"]
            for page in _pages(username):
                if args.only and args.only not in page.label:
                    continue
                # No redirects followed: each figure is one request's, and a redirect shows as 302.
                first = session.get(base + page.url, timeout=120, allow_redirects=False)
                timings = []
                for _ in range(args.requests):
                    answer = session.get(base + page.url, timeout=120, stream=True, allow_redirects=False)
                    timings.append(answer.elapsed.total_seconds() * 1000)
                    answer.close()
                with CaptureQueriesContext(connection) as queries:
                    in_process = client.get(page.url)
                if in_process.status_code != first.status_code:
                    print(f"  {page.url}: HTTP {first.status_code}, in-process {in_process.status_code}")
                row = (
                    page.label + " " + page.url,
                    username,
                    first.status_code,
                    first.elapsed.total_seconds() * 1000,
                    statistics.median(timings),
                    _percentile(timings, 0.95),
                    len(queries),
                )
                rows.append(row)
                print(
                    f"{row[0]:<48} {row[1]:<15} {row[2]:>4} {row[3]:>8.0f} {row[4]:>7.0f} {row[5]:>7.0f} {row[6]:>6}",
                    flush=True,
                )
    finally:
        server.terminate()
        server.wait(timeout=20)
        log.close()
        shutil.rmtree(static_root, ignore_errors=True)
    print()
    print(f"{'page':<48} {'role':<15} {'HTTP':>4} {'first':>8} {'p50 ms':>7} {'p95 ms':>7} {'queries':>6}")
    for row in sorted(rows, key=lambda r: -r[4]):
        print(f"{row[0]:<48} {row[1]:<15} {row[2]:>4} {row[3]:>8.0f} {row[4]:>7.0f} {row[5]:>7.0f} {row[6]:>6}")
    slow = [row for row in rows if row[4] >= 300]
    print(f"\n{len(rows)} pages, {args.requests} timed requests each; p50 >= 300 ms: {len(slow)}")


if __name__ == "__main__":
    main()
