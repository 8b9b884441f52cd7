"""`ningju demo`: build the demo street (江宁路街道) with a past year of visits and demands, and print the demo
accounts."""

from collections.abc import Callable
from datetime import date
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import ProtectedError, RestrictedError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ningju.core import mfa
from ningju.core.errors import ApplicationError
from ningju.demands.demo import DemandDemoResult, demo_demands, demo_demands_delete
from ningju.demands.models import ExtensionStatus, Kind
from ningju.demands.workflow import CallbackResult
from ningju.insights.demo import demo_insights
from ningju.meetings.demo import demo_meetings, demo_meetings_delete
from ningju.registry.demo import DEFAULT_HOUSEHOLDS, DEFAULT_SEED, demo_accounts, demo_build, demo_delete
from ningju.registry.demo.neighbour import NEIGHBOUR_CODE, NEIGHBOUR_NAME
from ningju.registry.demo.reference import STREET_CODE, STREET_NAME
from ningju.registry.models import Street
from ningju.visits.demo import demo_plan, demo_visits, demo_visits_delete

COUNT_LABELS = (
    ("areas", gettext_lazy("居民区")),
    ("grids", gettext_lazy("网格/次格")),
    ("compounds", gettext_lazy("小区")),
    ("buildings", gettext_lazy("楼栋")),
    ("households", gettext_lazy("户")),
    ("residents", gettext_lazy("居民")),
    ("patrol_sites", gettext_lazy("巡查点")),
    ("departments", gettext_lazy("职能部门")),
    ("users", gettext_lazy("账号")),
)


class Command(BaseCommand):
    help = "生成演示街道：江宁路街道的16个居民区、小区楼栋、住户居民、巡查点、职能部门、演示账号，以及走访包联和过去一年的走访记录、诉求。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=_("随机种子：相同的种子生成相同的数据"))
        parser.add_argument("--households", type=int, default=DEFAULT_HOUSEHOLDS, help=_("户数（默认20000）"))
        parser.add_argument(
            "--reset", action="store_true", help=_("先删除已有的江宁路街道及其全部数据，再重新生成")
        )
        parser.add_argument(
            "--if-empty", action="store_true", help=_("数据库中已有街道时什么也不做（只列出演示账号）")
        )
        parser.add_argument(
            "--no-visits",
            action="store_true",
            help=_("只生成数据底座，不生成走访包联、走访记录、走访路线和诉求"),
        )
        parser.add_argument("--no-demands", action="store_true", help=_("生成走访记录，但不生成过去一年的诉求"))
        parser.add_argument(
            "--streets",
            type=int,
            choices=(1, 2),
            default=1,
            help=_("街道数：2 表示另建一个小的相邻街道（石门二路街道），各有自己的标签、分类、规则和管理员"),
        )

    def handle(
        self,
        *args: Any,
        seed: int,
        households: int,
        reset: bool,
        if_empty: bool,
        no_visits: bool = False,
        no_demands: bool = False,
        streets: int = 1,
        **options: Any,
    ) -> None:
        if reset and if_empty:
            raise CommandError(_("--reset 与 --if-empty 不能同时使用。"))
        if if_empty and Street.objects.exists():
            self.stdout.write(_("数据库中已有街道数据，未生成演示数据。"))
            self._print_accounts()
            return
        if Street.objects.filter(code=STREET_CODE).exists():
            if not reset:
                raise CommandError(
                    _(
                        "%(name)s（%(code)s）已存在，未做任何修改。要删除后重新生成，请加 --reset；要保留现有数据，请加 --if-empty。"
                    )
                    % {"name": STREET_NAME, "code": STREET_CODE}
                )
            self.stdout.write(_("正在删除已有的%(name)s及其全部数据……") % {"name": STREET_NAME})
            try:
                with transaction.atomic():
                    # Demands point at visits, findings, households and users; visits, pairings and routes at
                    # households and users: they go first, in that order.
                    for code in (STREET_CODE, NEIGHBOUR_CODE):
                        street = Street.objects.filter(code=code).first()
                        if street is None:
                            continue
                        demo_meetings_delete(street)
                        demo_demands_delete(street)
                        demo_visits_delete(street)
                        demo_delete(code)
            except (ProtectedError, RestrictedError, IntegrityError) as error:
                raise CommandError(
                    _(
                        "无法删除%(name)s：其他数据（如走访记录、诉求）仍引用它。请换用新的数据库后再生成。（%(error)s）"
                    )
                    % {"name": STREET_NAME, "error": error}
                ) from error

        verbose = options["verbosity"] >= 2
        progress = (lambda line: self.stdout.write("  " + line)) if verbose else None
        today = timezone.localdate()
        try:
            result = demo_build(seed=seed, households=households, today=today, progress=progress, streets=streets)
        except ApplicationError as error:
            raise CommandError(str(error)) from error
        except DatabaseError as error:
            raise CommandError(_("写入数据库失败，未写入任何数据：%(error)s") % {"error": error}) from error

        counts = result.counts
        self.stdout.write(
            self.style.SUCCESS(
                _("已生成%(name)s（用时%(seconds).1f秒）：") % {"name": STREET_NAME, "seconds": result.seconds}
            )
        )
        self.stdout.write("  " + "，".join(f"{label}{counts.get(key, 0):,}" for key, label in COUNT_LABELS))
        self.stdout.write(
            "  " + _("必访标签：") + "，".join(f"{name}{count:,}" for name, count in result.tag_counts.items())
        )
        if result.neighbour:
            self.stdout.write(
                self.style.SUCCESS(_("已生成相邻街道%(name)s：") % {"name": NEIGHBOUR_NAME})
                + "，".join(f"{label}{result.neighbour.get(key, 0):,}" for key, label in COUNT_LABELS)
            )
        if result.missing:
            self.stdout.write(
                self.style.WARNING(
                    _("未找到这些默认标签或巡查点类型（可能已改名），相应数据未生成：%(names)s")
                    % {"names": "、".join(result.missing)}
                )
            )
        if not no_visits:
            self._write_visits(seed=seed, today=today, progress=progress)
            if not no_demands:
                self._write_demands(seed=seed, today=today, progress=progress)
                self._write_meetings(seed=seed, today=today, progress=progress)
        self._print_accounts()

    def _write_visits(self, *, seed: int, today: date, progress: Callable[[str], None] | None) -> None:
        """Rules, pairings and a year of visits (item 8 of the visits issue), then the coming two weeks' routes."""
        street = Street.objects.get(code=STREET_CODE)
        try:
            visits = demo_visits(street=street, seed=seed, today=today, progress=progress)
        except (ApplicationError, DatabaseError) as error:
            raise CommandError(
                _("数据底座已生成，但走访记录写入失败（未写入任何走访数据）：%(error)s") % {"error": error}
            ) from error
        self.stdout.write(
            self.style.SUCCESS(
                _("已生成走访包联和%(start)s至%(end)s的走访记录（用时%(seconds).1f秒）：")
                % {"start": visits.start, "end": visits.end, "seconds": visits.seconds}
            )
        )
        self.stdout.write(
            "  "
            + _(
                "包联%(pairings)d处，入户走访%(visits)d人次（覆盖%(visited)d/%(households)d户），巡查%(patrols)d次，发现问题%(findings)d条"
            )
            % {
                "pairings": visits.pairings,
                "visits": visits.household_visits,
                "visited": visits.households_visited,
                "households": visits.households,
                "patrols": visits.patrols,
                "findings": visits.findings,
            }
        )
        try:
            note = demo_plan(street=street, today=today)
        except (ApplicationError, DatabaseError) as error:
            note = _("走访路线未能生成：%(error)s") % {"error": error}
        self.stdout.write("  " + note)

    def _write_demands(self, *, seed: int, today: date, progress: Callable[[str], None] | None) -> None:
        """A year of demands with their whole histories (item 8 of the demands issue), after the visits they
        come from."""
        street = Street.objects.get(code=STREET_CODE)
        try:
            demands = demo_demands(street=street, seed=seed, today=today, progress=progress)
        except (ApplicationError, DatabaseError) as error:
            raise CommandError(
                _("走访记录已生成，但诉求写入失败（未写入任何诉求）：%(error)s") % {"error": error}
            ) from error
        self.stdout.write(
            self.style.SUCCESS(
                _("已生成%(start)s至%(end)s的诉求%(count)d条（用时%(seconds).1f秒）：")
                % {
                    "start": demands.start,
                    "end": demands.end,
                    "count": demands.demands,
                    "seconds": demands.seconds,
                }
            )
        )
        for line in _demand_summary(demands):
            self.stdout.write("  " + line)
        try:
            insights = demo_insights(street=street, today=today)
        except (ApplicationError, DatabaseError) as error:
            self.stdout.write(self.style.WARNING(_("统计分析未能生成：%(error)s") % {"error": error}))
            return
        self.stdout.write(
            self.style.SUCCESS(_("已生成统计分析（用时%(seconds).1f秒）：") % {"seconds": insights.seconds})
        )
        for line in insights.lines():
            self.stdout.write("  " + line)

    def _write_meetings(self, *, seed: int, today: date, progress: Callable[[str], None] | None) -> None:
        """A year of meetings, troika offices, action items, community events and training (issue 6, item 7)."""
        street = Street.objects.get(code=STREET_CODE)
        try:
            meetings = demo_meetings(street=street, seed=seed, today=today, progress=progress)
        except (ApplicationError, DatabaseError) as error:
            self.stdout.write(self.style.WARNING(_("会议等演示数据未能生成：%(error)s") % {"error": error}))
            return
        self.stdout.write(self.style.SUCCESS(_("已生成会议、行动清单、社区活动和培训：")))
        for line in meetings.lines():
            self.stdout.write("  " + line)

    def _print_accounts(self) -> None:
        accounts = demo_accounts()
        if not accounts:
            self.stdout.write(_("数据库中没有演示账号（它们只由 ningju demo 在空数据库中创建）。"))
            return
        self.stdout.write(
            self.style.SUCCESS(
                _("演示账号（密码均为 %(password)s）：") % {"password": settings.NINGJU_DEMO_PASSWORD}
            )
        )
        rows = (
            (_("街道管理员"), accounts.street_admins),
            (_("居民区书记/主任"), accounts.area_heads),
            (_("居民区干部"), _compact(accounts.cadres)),
            (_("职能部门联络员"), accounts.liaisons),
        )
        for label, names in rows:
            if names:
                self.stdout.write(f"  {label}：" + ", ".join(names))
        # Street administrators need a second factor: the demo enrols them with a secret derived from this
        # install's SECRET_KEY (local mode only), so a newcomer can add it to an authenticator app.
        everyone = [*accounts.street_admins, *accounts.area_heads, *accounts.cadres, *accounts.liaisons]
        authenticators = mfa.demo_authenticators(everyone)
        if authenticators:
            self.stdout.write(
                _("两步验证（仅本地演示）：把密钥加入验证器应用，或用 ningju totp <用户名> 看验证码：")
            )
        for username, secret, uri in authenticators:
            self.stdout.write(f"  {username}：{secret}  {uri}")


def _demand_summary(result: DemandDemoResult) -> list[str]:
    """The year in the article's words: opinions answered, problems found and solved, whistles, callbacks."""
    callbacks = result.callbacks
    return [
        _(
            "回应意见建议%(opinions)d条，解决问题%(problems)d件（其中走访、巡查主动发现%(found)d件），求助%(help)d件，咨询%(enquiries)d件"
        )
        % {
            "opinions": result.opinions_answered,
            "problems": result.problems_solved,
            "found": result.problems_found,
            "help": result.kinds[Kind.HELP],
            "enquiries": result.kinds[Kind.ENQUIRY],
        },
        _(
            "吹哨%(whistles)d次，派单%(dispatches)d单（退单%(returned)d单），延期申请%(extensions)d次（批准%(approved)d次）"
        )
        % {
            "whistles": result.whistles,
            "dispatches": result.dispatches,
            "returned": result.returned,
            "extensions": sum(result.extensions.values()),
            "approved": result.extensions[ExtensionStatus.APPROVED],
        },
        _(
            "回访%(callbacks)d次：满意%(satisfied)d次，基本满意%(basic)d次，不满意%(dissatisfied)d次；响应率%(rate).1f%%"
        )
        % {
            "callbacks": sum(callbacks.values()),
            "satisfied": callbacks[CallbackResult.SATISFIED],
            "basic": callbacks[CallbackResult.BASICALLY_SATISFIED],
            "dissatisfied": callbacks[CallbackResult.DISSATISFIED],
            "rate": result.response_rate,
        },
        _("在办%(open)d件（即将超时%(yellow)d件，已超时%(red)d件），重复诉求已合并%(merged)d件")
        % {"open": result.open, "yellow": result.yellow, "red": result.red, "merged": result.merged},
    ]


def _compact(cadres: list[str]) -> list[str]:
    """cadre-006-1 … cadre-006-7 as "cadre-006-1…7": 100+ names stay readable on a terminal."""
    by_area: dict[str, list[str]] = {}
    for username in cadres:
        area, _sep, number = username.rpartition("-")
        by_area.setdefault(area, []).append(number)
    return [
        f"{area}-{numbers[0]}…{numbers[-1]}" if len(numbers) > 1 else f"{area}-{numbers[0]}"
        for area, numbers in by_area.items()
    ]
