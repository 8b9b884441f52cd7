"""The demo street's year of meetings for `ningju demo`: monthly 民情分析会 with problem lists and action items, sub-grid
and 1+5+x meetings, the troika's monthly on-site office in every compound (a few missed), community events with
registrations, and cadre training — deterministic for the seed.

The rows are written directly with `bulk_create` (the services validate one user's input at a time and would take
far longer for a year of a street); everything written is what those services could have written: owners and
deadlines on every action item, `done_at` on the done ones, troika meetings only at compounds.

Wording comes first; the generator follows.
"""

import random
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import F, Max, QuerySet
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from ningju.core.identifiers import contact_name
from ningju.core.models import Role, User
from ningju.core.workdays import add_workdays, workdays_between
from ningju.demands.models import Demand, Dispatch
from ningju.demands.workflow import TERMINAL_STATES
from ningju.meetings.models import (
    ActionItem,
    ActionProgress,
    ActionStatus,
    AgendaItem,
    Attendee,
    Event,
    EventKind,
    Meeting,
    MeetingFile,
    MeetingKind,
    MeetingStatus,
    Party,
    Registration,
    TrainingAttendance,
    TrainingKind,
    TrainingSession,
)
from ningju.registry.demo.people import PeopleMaker
from ningju.registry.models import Building, Compound, Department, Gender, Grid, Resident, ResidentialArea, Street
from ningju.visits.demo import year_before

SHANGHAI = ZoneInfo("Asia/Shanghai")
Progress = Callable[[str], None]
T = TypeVar("T")

# The article's year: 72 planning meetings for 61 activities, 1,200+ person-times taking part.
EVENTS = 61
PLANNING_MEETINGS = 72
MIN_ATTENDANCE = 1200
TRAININGS = 12
FIVE_SOCIAL_SESSIONS = 4
TROIKA_MISSED = 0.07  # share of compound-months without a troika meeting
TROIKA_MISSED_LAGGING = 0.2  # in the couple of areas where it slips more often
LAGGING_AREAS = 2

# ---------------------------------------------------------------------------------------------------------------
# Wording.

ANALYSIS_MINUTES = (
    "街道主要领导主持召开{month}民情分析会。会议通报了上月诉求受理和办理情况：全街道共受理诉求{demands}条，"
    "其中吹哨报到{whistled}条。各居民区书记逐一汇报问题清单上的事项，相关职能部门联络员说明处置进展和难点。"
    "会议对{items}个重点问题逐条研究，明确牵头部门、责任人和完成时限，形成行动清单。",
    "{month}民情分析会。会议首先听取了各居民区上月走访发现的问题和居民诉求办理情况（受理{demands}条，"
    "吹哨{whistled}条），对超期未办结和居民不满意的诉求进行了重点分析；随后围绕问题清单上的{items}个事项"
    "进行会商，职能部门现场认领任务，会后纳入行动清单跟踪督办。",
    "本次民情分析会聚焦{month}群众反映集中的问题。会议梳理上月诉求{demands}条，其中{whistled}条需职能部门协同处置；"
    "对问题清单{items}个事项逐一“过堂”，对同类问题“合并同类项”，研究长效机制，"
    "要求各责任单位按时限办结并做好回访。",
)
ANALYSIS_CLOSINGS = (
    "会议要求：各居民区继续做实“走访不漏户、诉求不过夜”，对行动清单事项每周更新进展。",
    "会议强调：吹哨事项职能部门须按时报到，办结后由居民区做好回访，确保居民满意。",
    "会议要求：对反复出现的问题要形成长效机制，下次会议通报行动清单完成情况。",
)
AGENDA_NOTES = (
    "{area}居民区汇报：{summary}。已多次与相关方沟通，需街道协调解决。",
    "{area}居民区：{summary}。居民反映较强烈，会议研究处置方案。",
    "该问题已吹哨至{departments}，部门说明了处置进展，会议要求加快办理。",
    "{summary}。属同类问题反复出现，会议要求研究长效管理措施。",
    "{area}居民区：{summary}。涉及多个部门职责，会议明确由{departments}牵头。",
)
# With a department (the demand was whistled to it) and without one (the area's own work).
DEPARTMENT_ACTION_TITLES = (
    "{department}牵头处置{area}“{topic}”问题",
    "协调{department}与物业共同整改{area}“{topic}”问题",
    "督办{department}办结{area}“{topic}”诉求",
)
AREA_ACTION_TITLES = (
    "{area}跟进“{topic}”诉求办理并做好回访",
    "督办{area}“{topic}”事项，按时办结",
    "{area}协调物业解决“{topic}”问题",
)
ACTION_DESCRIPTIONS = (
    "问题：{summary}。会议要求责任单位现场核实，制定整改方案，按时限完成并反馈结果。",
    "问题：{summary}。请责任单位会同居委会、物业现场处置，办结后由居民区回访。",
    "问题：{summary}。会议明确处置责任和时限，涉及居民沟通的由居民区配合。",
)
PROGRESS_NOTES = (
    "已与居民电话沟通，了解具体情况，约定现场查看时间。",
    "已会同物业现场查看，制定整改方案。",
    "已联系相关单位，正在协调施工和维修时间。",
    "整改正在进行中，已完成大部分工作量。",
    "已发函督促责任方整改，计划本周内完成。",
    "因涉及多户居民意见，正在逐户征询。",
)
ACTION_RESULTS = (
    "已完成整改，经现场复查问题已解决，回访居民表示满意。",
    "已协调物业处理完毕，并建立定期巡查机制。",
    "部门执法检查后已整改到位，居民区跟踪回访无反复。",
    "已落实维修，费用由维修基金列支，居民认可。",
    "经多方协调达成一致意见，已按方案实施完毕。",
)
OVERDUE_NOTES = (
    "施工单位排期延后，正在督促尽快进场。",
    "涉及产权单位意见不一，仍在协调中。",
    "等待维修资金审批，已跟进催办。",
)

SUBGRID_MINUTES = (
    "{subgrid}召开本月工作例会。网格员和楼组长通报了本月走访、巡查情况，梳理了次格内的{items}个问题，"
    "逐一明确跟进人和办理时限；对独居老人、高龄老人等重点对象的走访情况进行了核对。",
    "{subgrid}月度例会：居民区书记主持，包联干部汇报片区走访情况，会议研究了{items}个居民反映的问题，"
    "对需要上报街道的事项形成意见。",
)
JOINT_MINUTES = (
    "{area}居民区召开1+5+x联席会议，居民区党组织牵头，居委会、业委会、物业、社区民警、辖区单位和居民代表参加。"
    "会议通报了本季度居民区治理情况，围绕{items}个问题共同会商，明确各方责任。",
    "本季度1+5+x联席会议在{area}居民区召开。各方通报了小区管理、治安和环境情况，讨论了{items}个跨单位问题，"
    "议定分工协作、按期反馈。",
)
JOINT_DECISIONS = (
    "各方按分工落实，下次联席会议通报进展。",
    "物业牵头整改，居委会做好居民沟通，社区民警配合维护秩序。",
    "业委会就维修资金使用征询业主意见，居委会协助组织。",
)

INSPECTIONS = (
    "楼道堆物和消防通道",
    "非机动车棚及充电设施",
    "垃圾厢房和分类投放",
    "绿化修剪和公共区域保洁",
    "屋面、外墙渗漏点",
    "监控探头和门禁",
    "雨污管道和窨井",
    "小区停车秩序",
    "电梯运行和维保记录",
    "二次供水水箱",
    "公共照明",
)
INSPECTION_FINDINGS = (
    "总体情况良好，个别楼道仍有堆物。",
    "发现部分充电线私拉乱接，已当场提醒。",
    "垃圾厢房周边有破损，需维修。",
    "个别窨井盖松动，物业当场登记。",
    "有两处楼道灯不亮，物业答应三天内修复。",
    "未发现明显问题。",
)
TROIKA_MINUTES = (
    "居委会通报本月居民反映的问题{demands}件；物业汇报了{work}；业委会就{topic}提出意见。三方商定：{agreement}",
    "三方现场查看后在物业办公室会商。居委会转达居民诉求{demands}件，物业说明{work}，业委会对{topic}提出要求。"
    "议定：{agreement}",
)
PROPERTY_WORK = (
    "本月保洁、绿化和设施维修情况",
    "电梯年检和消防设施检查情况",
    "物业费收缴和公共收益使用情况",
    "楼道堆物清理进展",
    "雨季防汛准备情况",
)
OWNER_TOPICS = ("维修资金使用", "停车收费", "绿化改造", "物业服务质量", "公共收益公示", "加装电梯")
AGREEMENTS = (
    "物业一周内完成整改，居委会负责回访居民。",
    "业委会下月召开业主代表会议征询意见，物业提供方案和报价。",
    "三方每周巡查一次，问题当场登记、限期处理。",
    "公共收益使用情况在小区公告栏公示。",
    "对楼道堆物开展集中清理，居委会上门做好宣传。",
)

EVENT_TITLES: dict[str, tuple[str, ...]] = {
    EventKind.SELF_GOVERNANCE: (
        "楼道微更新共建行动",
        "{compound}睦邻节",
        "“美丽家园”楼组自治公约讨论",
        "{compound}共建花园认领",
        "小区垃圾分类自治小组活动",
    ),
    EventKind.BABY_HOUSE: (
        "宝宝屋亲子绘本共读",
        "宝宝屋感统游戏课",
        "宝宝屋科学育儿讲座",
        "宝宝屋亲子手工坊",
    ),
    EventKind.DISCUSSION: (
        "议事吧：{compound}加装电梯意见征询",
        "议事吧：非机动车停放规则商议",
        "议事吧：小区停车难怎么办",
        "议事吧：公共空间改造方案讨论",
        "议事吧：楼道堆物治理公约",
    ),
    EventKind.VOLUNTEER: (
        "“邻里守望”助老志愿服务",
        "垃圾分类志愿值守",
        "为高龄老人上门理发",
        "社区义诊志愿服务",
        "反诈宣传志愿者进楼组",
    ),
    EventKind.FIVE_SOCIAL: (
        "五社联动·长者健康讲座",
        "五社联动·社工进楼组",
        "五社联动·慈善义卖",
        "五社联动·困境儿童陪伴",
    ),
    EventKind.CULTURE: ("社区广场舞展演", "邻里运动会", "中秋邻里茶话会", "重阳敬老文艺汇演", "社区书画展"),
}
EVENT_SHARES = (
    (EventKind.SELF_GOVERNANCE, 14),
    (EventKind.BABY_HOUSE, 10),
    (EventKind.DISCUSSION, 12),
    (EventKind.VOLUNTEER, 12),
    (EventKind.FIVE_SOCIAL, 7),
    (EventKind.CULTURE, 6),
)
EVENT_SIZES = {  # person-times attending, low and high
    EventKind.SELF_GOVERNANCE: (18, 32),
    EventKind.BABY_HOUSE: (10, 18),
    EventKind.DISCUSSION: (12, 25),
    EventKind.VOLUNTEER: (15, 28),
    EventKind.FIVE_SOCIAL: (15, 30),
    EventKind.CULTURE: (25, 45),
}
EVENT_DESCRIPTIONS = {
    EventKind.SELF_GOVERNANCE: "居民自己商量、自己动手，共同改善身边环境，培育楼组骨干。",
    EventKind.BABY_HOUSE: "面向0–3岁婴幼儿家庭的托育服务活动，由专业老师带领。",
    EventKind.DISCUSSION: "邀请居民、业委会、物业共同商议小区公共事务，形成共识后推动落实。",
    EventKind.VOLUNTEER: "组织社区志愿者开展服务，重点关心独居、高龄老人。",
    EventKind.FIVE_SOCIAL: "社区、社会组织、社会工作者、社区志愿者、社会慈善资源联动开展服务。",
    EventKind.CULTURE: "丰富居民文化生活，增进邻里交流。",
}
PARTNERS = ("静安区社工协会", "乐龄社工服务社", "阳光志愿者服务队", "静安区图书馆", "社区卫生服务中心")

TRAINING_TOPICS = (
    ("入户走访技巧与沟通方法", "如何敲开门、如何倾听、如何记录诉求；走访中常见情形的应对。"),
    ("新时代群众工作方法", "“人民城市”理念；从群众中来、到群众中去的工作方法。"),
    ("宁聚平台数字化使用培训", "走访记录、诉求登记、吹哨报到和回访在手机上的操作。"),
    ("矛盾纠纷调解实务", "邻里纠纷、物业纠纷的调解步骤和法律依据，案例研讨。"),
    ("消防安全与应急处置", "楼道堆物、电动自行车充电安全；火灾初期处置和疏散演练。"),
    ("诉求办理与吹哨报到流程", "首问负责、时限要求、吹哨条件和回访规范。"),
    ("垃圾分类政策解读", "分类标准、厢房管理和居民宣传方法。"),
    ("为老服务政策与资源", "助餐、助浴、长护险、适老化改造的申请条件和流程。"),
    ("加装电梯政策与协调方法", "政策要点、意见征询和矛盾化解。"),
    ("网格化管理与巡查", "网格巡查要点、问题发现和上报。"),
    ("心理疏导与危机干预", "识别独居老人、困境家庭的心理危机信号，转介资源。"),
    ("反诈宣传与老年人防骗", "常见诈骗手法和入户宣传要点。"),
)
TRAINERS = ("街道社区办", "区委党校讲师", "街道司法所", "消防救援站", "区社会工作协会", "平台运维团队")
FIVE_SOCIAL_TITLES = (
    "五社联动：社会组织参与社区治理工作坊",
    "五社联动：社工方法在走访中的运用",
    "五社联动：社区基金与慈善资源对接",
    "五社联动：志愿者队伍建设经验交流",
)
TRAINING_PLACE = "江宁路街道社区党群服务中心三楼会议室"


# ---------------------------------------------------------------------------------------------------------------
# The result.


@dataclass(slots=True)
class MeetingsDemoResult:
    """What `demo_meetings` wrote, for the command's summary."""

    start: date | None = None
    end: date | None = None
    analysis: int = 0
    subgrid: int = 0
    joint: int = 0
    troika_held: int = 0
    troika_missed: int = 0  # compound-months of past months without a meeting
    troika_planned: int = 0
    troika_due: int = 0  # compound-months of the past full months
    planning: int = 0
    events: int = 0
    registrations: int = 0
    attended: int = 0
    walk_ins: int = 0
    volunteers: int = 0
    agenda_items: int = 0
    action_items: int = 0
    actions: dict[str, int] = field(default_factory=dict)
    actions_overdue: int = 0
    progress_notes: int = 0
    trainings: int = 0
    five_social: int = 0
    training_attended: int = 0
    training_absent: int = 0
    seconds: float = 0.0

    def lines(self) -> list[str]:
        """The summary the command prints, one line per kind of record."""
        done = self.actions.get(ActionStatus.DONE, 0)
        return [
            _(
                "会议：民情分析会%(analysis)d次，街区次格工作例会%(subgrid)d次，1+5+x联席会议%(joint)d次，"
                "社区营造策划会%(planning)d次，问题清单事项%(agenda)d条"
            )
            % {
                "analysis": self.analysis,
                "subgrid": self.subgrid,
                "joint": self.joint,
                "planning": self.planning,
                "agenda": self.agenda_items,
            },
            _("三驾马车现场合署办公%(held)d次（往月应开%(due)d次，缺%(missed)d次；本月计划%(planned)d次）")
            % {
                "held": self.troika_held,
                "due": self.troika_due,
                "missed": self.troika_missed,
                "planned": self.troika_planned,
            },
            _("行动清单%(items)d项：已完成%(done)d项，超期未完成%(overdue)d项，进展记录%(notes)d条")
            % {
                "items": self.action_items,
                "done": done,
                "overdue": self.actions_overdue,
                "notes": self.progress_notes,
            },
            _(
                "社区活动%(events)d场：报名%(registrations)d人次，参与%(attended)d人次（现场报名%(walk_ins)d，志愿者%(volunteers)d）"
            )
            % {
                "events": self.events,
                "registrations": self.registrations,
                "attended": self.attended,
                "walk_ins": self.walk_ins,
                "volunteers": self.volunteers,
            },
            _(
                "干部培训%(trainings)d次、五社联动%(five)d次：出勤%(attended)d人次，缺勤%(absent)d人次（用时%(seconds).1f秒）"
            )
            % {
                "trainings": self.trainings,
                "five": self.five_social,
                "attended": self.training_attended,
                "absent": self.training_absent,
                "seconds": self.seconds,
            },
        ]


# ---------------------------------------------------------------------------------------------------------------
# The street as the generator sees it: plain values read in a handful of queries.


@dataclass(frozen=True, slots=True)
class _Person:
    pk: int
    name: str


@dataclass(slots=True)
class _Area:
    pk: int
    name: str
    office: str
    head: _Person | None = None
    cadres: list[_Person] = field(default_factory=list)
    compounds: list["_Compound"] = field(default_factory=list)
    subgrids: list[tuple[int, str]] = field(default_factory=list)
    residents: list[tuple[int, str]] = field(default_factory=list)

    @property
    def committee(self) -> list[_Person]:
        return ([self.head] if self.head else []) + self.cadres


@dataclass(frozen=True, slots=True)
class _Compound:
    pk: int
    area_id: int
    name: str
    owners_committee: str
    owners_contact: str
    property_company: str
    property_contact: str


@dataclass(frozen=True, slots=True)
class _Demand:
    pk: int
    area_id: int
    owner_id: int
    created_at: datetime
    last_at: datetime
    open: bool
    whistled: bool
    topic: str
    text: str
    compound_id: int | None
    grid_id: int | None
    departments: tuple[int, ...]

    @property
    def summary(self) -> str:
        text = self.text.replace("\n", " ").rstrip("。；，,.; ")
        return text if len(text) <= 40 else text[:40] + "…"

    def open_at(self, at: datetime) -> bool:
        return self.created_at < at and (self.open or self.last_at > at)


@dataclass(slots=True)
class _World:
    street: Street
    admin: _Person | None
    areas: list[_Area]
    departments: dict[int, str]
    liaisons: dict[int, _Person]
    demands: list[_Demand]
    names: dict[int, str]

    @property
    def area_by_pk(self) -> dict[int, _Area]:
        return {area.pk: area for area in self.areas}


def _name(contact: object) -> str:
    """The name in a contact line such as "林东 13188217352" (an encrypted value whose str() is masked): the number
    stays out of meeting records."""
    return contact_name(contact).split(" ")[0]


def _load(street: Street) -> _World:
    areas = [
        _Area(pk, name, office or "")
        for pk, name, office in ResidentialArea.objects.filter(street=street)
        .order_by("code")
        .values_list("pk", "name", "office_address")
    ]
    by_pk = {area.pk: area for area in areas}
    admin: _Person | None = None
    liaisons: dict[int, _Person] = {}
    names: dict[int, str] = {}
    users = User.objects.filter(street=street, is_active=True).order_by("username")
    for pk, username, full_name, role, area_id, department_id in users.values_list(
        "pk", "username", "full_name", "role", "area_id", "department_id"
    ):
        person = _Person(pk, full_name or username)
        names[pk] = person.name
        if role == Role.STREET_ADMIN and (admin is None or username == "admin"):
            admin = person
        elif role == Role.AREA_HEAD and area_id in by_pk and by_pk[area_id].head is None:
            by_pk[area_id].head = person
        elif role == Role.CADRE and area_id in by_pk:
            by_pk[area_id].cadres.append(person)
        elif role == Role.LIAISON and department_id is not None:
            liaisons.setdefault(department_id, person)
    for row in (
        Compound.objects.filter(area__street=street)
        .order_by("area__code", "name", "pk")
        .values_list(
            "pk",
            "area_id",
            "name",
            "owners_committee",
            "owners_committee_contact",
            "property_company",
            "property_contact",
        )
    ):
        compound = _Compound(*row)
        by_pk[compound.area_id].compounds.append(compound)
    grids = dict(Grid.objects.filter(street=street, parent__isnull=False).values_list("pk", "name"))
    grid_areas = (
        Building.objects.filter(grid_id__in=grids)
        .values_list("grid_id", "compound__area_id")
        .distinct()
        .order_by("grid_id", "compound__area_id")
    )
    seen: set[int] = set()
    for grid_id, area_id in grid_areas:
        if grid_id not in seen and area_id in by_pk:  # a sub-grid is the area's of its first building
            seen.add(grid_id)
            by_pk[area_id].subgrids.append((grid_id, grids[grid_id]))
    for pk, name, area_id in (
        Resident.objects.filter(active=True, household__building__compound__area__street=street)
        .order_by("pk")
        .values_list("pk", "name", "household__building__compound__area_id")
    ):
        by_pk[area_id].residents.append((pk, name))
    departments = dict(
        Department.objects.filter(street=street, active=True).order_by("pk").values_list("pk", "name")
    )
    dispatched: dict[int, list[int]] = defaultdict(list)
    for demand_id, department_id in (
        Dispatch.objects.filter(demand__area__street=street)
        .order_by("demand_id", "round", "pk")
        .values_list("demand_id", "department_id")
    ):
        if department_id not in dispatched[demand_id]:
            dispatched[demand_id].append(department_id)
    demands = [
        _Demand(
            pk,
            area_id,
            owner_id,
            created_at,
            last_at or created_at,
            state not in TERMINAL_STATES,
            whistle_round > 0,
            topic or "",
            text,
            compound_id,
            grid_id,
            tuple(dispatched.get(pk, ())),
        )
        for pk, area_id, owner_id, created_at, last_at, state, whistle_round, topic, text, compound_id, grid_id in (
            Demand.objects.filter(area__street=street, merged_into__isnull=True)
            .annotate(
                last_at=Max("events__at"),
                topic=Coalesce(F("category__parent__name"), F("category__name")),
                place=Coalesce(
                    F("compound_id"), F("building__compound_id"), F("household__building__compound_id")
                ),
                grid=Coalesce(F("building__grid_id"), F("household__building__grid_id")),
            )
            .order_by("created_at", "pk")
            .values_list(
                "pk",
                "area_id",
                "owner_id",
                "created_at",
                "last_at",
                "state",
                "whistle_round",
                "topic",
                "text",
                "place",
                "grid",
            )
        )
    ]
    return _World(street, admin, areas, departments, liaisons, demands, names)


# ---------------------------------------------------------------------------------------------------------------
# The generator.


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, clock_time(hour, minute), tzinfo=SHANGHAI)


def _months(today: date) -> list[date]:
    """The first days of the twelve calendar months that end with this one."""
    firsts = []
    year, month = today.year, today.month
    for _n in range(12):
        firsts.append(date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return firsts[::-1]


def _working(at: datetime, rng: random.Random, low: datetime, high: datetime) -> datetime:
    """A time in office hours on `at`'s day, kept between `low` and `high` (progress is written at work)."""
    day = at.astimezone(SHANGHAI).date()
    return max(low, min(_at(day, rng.randint(9, 16), rng.randint(0, 59)), high))


def _month_end(first: date) -> date:
    return (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def _workday_in(first: date, low: int, high: int, rng: random.Random) -> date:
    """A working day between the `low`-th and `high`-th of the month (the nearest one if none falls there)."""
    end = _month_end(first)
    days = workdays_between(first.replace(day=min(low, end.day)), first.replace(day=min(high, end.day)))
    return rng.choice(days) if days else add_workdays(first, 0)


def _sample(rng: random.Random, items: Sequence[T], count: int) -> list[T]:
    return rng.sample(list(items), min(count, len(items)))


class _Writer:
    """Collects the rows of the year, then writes them in a handful of bulk inserts (parents before children)."""

    def __init__(self, world: _World, seed: int, today: date, result: MeetingsDemoResult) -> None:
        self.world = world
        self.seed = seed
        self.today = today
        self.now = _at(today, 0)  # "before now" is before today: the demo describes the past year up to yesterday
        self.result = result
        self.areas = world.area_by_pk
        self.meetings: list[Meeting] = []
        self.attendees: list[Attendee] = []
        self.agenda: list[AgendaItem] = []
        self.actions: list[tuple[ActionItem, tuple[int, ...]]] = []
        self.progress: list[ActionProgress] = []
        self.events: list[tuple[Event, list[Meeting]]] = []
        self.registrations: list[Registration] = []
        self.trainings: list[TrainingSession] = []
        self.attendance: list[TrainingAttendance] = []

    def rng(self, part: str) -> random.Random:
        return random.Random(f"{self.seed}:meetings:{part}")

    def people(self, rng: random.Random) -> PeopleMaker:
        return PeopleMaker(rng, self.today)

    def invented_name(self, rng: random.Random) -> str:
        gender = rng.choice((Gender.MALE, Gender.FEMALE))
        return self.people(rng).full_name(gender, self.today.year - rng.randint(30, 68))

    # --- meetings -----------------------------------------------------------------------------------------------
    def meeting(self, **fields: Any) -> Meeting:
        """A meeting: held if its time is past (with its record), else planned (the record comes later)."""
        held = fields["held_at"] < self.now
        if not held:
            for text in ("minutes", "decisions", "inspected"):
                fields.pop(text, None)
        # The street's meetings are recorded by its administrator, an area's (the troika's too) by its head.
        area = self.areas.get(fields.get("area_id") or 0)
        recorder = area.head if area and area.head else self.world.admin
        meeting = Meeting(
            street=self.world.street,
            status=MeetingStatus.HELD if held else MeetingStatus.PLANNED,
            created_by_id=recorder.pk if recorder else None,
            # Recorded the same afternoon once held; a planned one was put on the calendar yesterday.
            created_at=fields["held_at"] + timedelta(hours=3) if held else self.now - timedelta(days=1),
            **fields,
        )
        self.meetings.append(meeting)
        return meeting

    def attend(
        self, meeting: Meeting, party: str, name: str, organisation: str = "", user_id: int | None = None
    ) -> None:
        if name:
            self.attendees.append(
                Attendee(meeting=meeting, user_id=user_id, name=name, party=party, organisation=organisation[:100])
            )

    def attend_users(self, meeting: Meeting, people: Sequence[_Person], party: str, organisation: str) -> None:
        for person in people:
            self.attend(meeting, party, person.name, organisation, person.pk)

    def put_on_agenda(self, meeting: Meeting, demands: Sequence[_Demand], rng: random.Random, notes: bool) -> None:
        areas = self.areas
        for order, demand in enumerate(demands, start=1):
            note = ""
            if notes:
                note = rng.choice(AGENDA_NOTES).format(
                    area=areas[demand.area_id].name,
                    summary=demand.summary,
                    departments=self.department_names(demand) or "相关部门",
                )
            self.agenda.append(AgendaItem(meeting=meeting, demand_id=demand.pk, order=order, note=note))
        self.result.agenda_items += len(demands)

    def department_names(self, demand: _Demand) -> str:
        return "、".join(self.world.departments[d] for d in demand.departments if d in self.world.departments)

    # --- action items -------------------------------------------------------------------------------------------
    def action(
        self,
        meeting: Meeting,
        demand: _Demand,
        rng: random.Random,
        *,
        area_owner: _Person | None = None,
        title: str = "",
    ) -> ActionItem:
        """An action item for a demand on a held meeting's list: a department's where the demand was whistled to
        one (its liaison answers for it), else the demand's owner's (or the given area person's)."""
        world = self.world
        area = self.areas[demand.area_id]
        department_id = next((d for d in demand.departments if d in world.departments), None)
        owner_id: int | None
        if department_id is not None:
            liaison = world.liaisons.get(department_id)
            owner_id = liaison.pk if liaison else None
        else:
            owner_id = area_owner.pk if area_owner else demand.owner_id
        held_day = meeting.held_at.astimezone(SHANGHAI).date()
        deadline = add_workdays(held_day, rng.choice((5, 5, 7, 10, 10, 15, 20)))
        words = {
            "department": world.departments.get(department_id, "") if department_id else "",
            "area": area.name + "居民区",
            "topic": demand.topic or "居民诉求",
            "summary": demand.summary,
        }
        item = ActionItem(
            street=world.street,
            area_id=demand.area_id,
            meeting=meeting,
            title=(
                title
                or rng.choice(DEPARTMENT_ACTION_TITLES if department_id else AREA_ACTION_TITLES).format(**words)
            )[:200],
            description=rng.choice(ACTION_DESCRIPTIONS).format(**words),
            owner_id=owner_id,
            department_id=department_id,
            deadline=deadline,
            created_by_id=meeting.created_by_id,
            created_at=meeting.held_at + timedelta(hours=2),
        )
        author = owner_id or (world.admin.pk if world.admin else demand.owner_id)
        self.live(item, rng, author)
        self.actions.append((item, (demand.pk,)))
        return item

    def live(self, item: ActionItem, rng: random.Random, author: int) -> None:
        """Status, progress notes and result: past deadlines mostly done (a few late or still overdue), current
        ones in progress or open, a few already done."""
        start = item.created_at
        deadline_end = _at(item.deadline, 17, 30)
        latest = self.now - timedelta(hours=8)  # yesterday evening at the latest
        roll = rng.random()
        if item.deadline < self.today:
            if roll < 0.88:
                status = ActionStatus.DONE
            elif roll < 0.91:
                status = ActionStatus.CANCELLED
            elif roll < 0.96:
                status = ActionStatus.IN_PROGRESS
            else:
                status = ActionStatus.OPEN
        else:
            status = (
                ActionStatus.DONE if roll < 0.3 else ActionStatus.IN_PROGRESS if roll < 0.7 else ActionStatus.OPEN
            )
        if status == ActionStatus.DONE:
            late = rng.random() < 0.1
            end = min(deadline_end + timedelta(days=7) if late else deadline_end, latest)
            if end <= start:
                status = ActionStatus.OPEN
            else:
                done_at = start + (end - start) * rng.uniform(0.35, 1.0)
                item.done_at = _working(done_at, rng, start + timedelta(minutes=30), end)
                item.result = rng.choice(ACTION_RESULTS)
        item.status = status
        notes: list[tuple[datetime, str, str]] = []
        if status in (ActionStatus.DONE, ActionStatus.IN_PROGRESS):
            until = item.done_at if item.done_at else latest
            if until > start:
                for _n in range(rng.randint(1, 2)):
                    notes.append(
                        (
                            _working(start + (until - start) * rng.uniform(0.1, 0.7), rng, start, until),
                            rng.choice(PROGRESS_NOTES),
                            "in_progress",
                        )
                    )
            if status == ActionStatus.IN_PROGRESS and item.deadline < self.today and latest > deadline_end:
                notes.append(
                    (deadline_end + (latest - deadline_end) * 0.5, rng.choice(OVERDUE_NOTES), "in_progress")
                )
        if status == ActionStatus.DONE and item.done_at:
            notes.append((item.done_at, item.result, ActionStatus.DONE))
        if status == ActionStatus.CANCELLED:
            at = min(start + timedelta(days=3), latest)
            notes.append((at, "经核实该问题已由其他渠道解决，事项取消。", ActionStatus.CANCELLED))
        for at, note, note_status in sorted(notes):
            self.progress.append(ActionProgress(item=item, author_id=author, at=at, note=note, status=note_status))

    # --- the year -----------------------------------------------------------------------------------------------
    def analysis_meetings(self, months: list[date]) -> None:
        world = self.world
        rng = self.rng("analysis")
        heads = [area.head for area in world.areas if area.head]
        for first in months:
            day = _workday_in(first, 15, 25, rng)
            held_at = _at(day, 14, 30)
            window = (held_at - timedelta(days=31), held_at)
            recent = [d for d in world.demands if window[0] <= d.created_at < window[1]]
            pressing = [
                d
                for d in recent
                if d.whistled or d.open_at(held_at) or d.last_at - d.created_at > timedelta(days=10)
            ]
            pressing.sort(key=lambda d: (not d.whistled, -(d.last_at - d.created_at).total_seconds(), d.pk))
            wanted = rng.randint(5, 12)
            chosen = _sample(rng, pressing[: wanted * 2], wanted)
            if len(chosen) < 5:  # a quiet month: the list is filled from the month's other demands
                rest = [d for d in recent if d not in chosen]
                chosen += _sample(rng, rest, 5 - len(chosen))
            chosen.sort(key=lambda d: (not d.whistled, d.created_at, d.pk))
            meeting = self.meeting(
                kind=MeetingKind.ANALYSIS,
                title=f"{day.year}年{day.month}月民情分析会",
                held_at=held_at,
                place=f"{world.street.name}三楼会议室",
                minutes=rng.choice(ANALYSIS_MINUTES).format(
                    month=f"{day.month}月",
                    demands=len(recent),
                    whistled=sum(d.whistled for d in recent),
                    items=len(chosen),
                )
                + rng.choice(ANALYSIS_CLOSINGS),
            )
            self.result.analysis += 1
            if world.admin:
                self.attend(meeting, Party.STREET, world.admin.name, world.street.name, world.admin.pk)
            for head in heads:
                self.attend(meeting, Party.COMMITTEE, head.name, f"{self._area_of(head)}居民区", head.pk)
            departments = sorted({dep for d in chosen for dep in d.departments if dep in world.liaisons})
            extra = [d for d in world.liaisons if d not in departments]
            for department_id in departments + _sample(rng, extra, max(0, 3 - len(departments))):
                liaison = world.liaisons[department_id]
                self.attend(meeting, Party.DEPARTMENT, liaison.name, world.departments[department_id], liaison.pk)
            self.put_on_agenda(meeting, chosen, rng, notes=True)
            if meeting.status != MeetingStatus.HELD:
                continue
            decisions: list[str] = []
            for demand in chosen:
                if rng.random() < 0.65:
                    item = self.action(meeting, demand, rng)
                    who = self.world.departments.get(item.department_id or 0) or world.names.get(
                        item.owner_id or 0, ""
                    )
                    decisions.append(
                        f"{len(decisions) + 1}. {item.title}，{who}负责，{item.deadline:%m月%d日}前完成。"
                    )
            meeting.decisions = "\n".join(decisions) or "问题清单事项由各居民区继续跟进，下次会议通报。"

    def _area_of(self, person: _Person) -> str:
        for area in self.world.areas:
            if area.head == person or person in area.cadres:
                return area.name
        return ""

    def subgrid_meetings(self, months: list[date]) -> None:
        by_grid: dict[int, list[_Demand]] = defaultdict(list)
        for demand in self.world.demands:
            if demand.grid_id is not None:
                by_grid[demand.grid_id].append(demand)
        for area in self.world.areas:
            rng = self.rng(f"subgrid:{area.name}")
            for grid_id, grid_name in area.subgrids:
                for first in months:
                    day = _workday_in(first, 5, 12, rng)
                    held_at = _at(day, 9, 30)
                    window = held_at - timedelta(days=31)
                    mine = [d for d in by_grid[grid_id] if window <= d.created_at < held_at]
                    chosen = _sample(rng, mine, rng.randint(1, 4))
                    meeting = self.meeting(
                        kind=MeetingKind.SUBGRID,
                        title=f"{grid_name}{day.month}月工作例会",
                        area_id=area.pk,
                        subgrid_id=grid_id,
                        held_at=held_at,
                        place=f"{area.name}居民区党群服务站",
                        minutes=rng.choice(SUBGRID_MINUTES).format(subgrid=grid_name, items=len(chosen)),
                        decisions="各事项由包联干部跟进，办理情况下次例会通报。",
                    )
                    self.result.subgrid += 1
                    self.attend_users(
                        meeting, area.committee[: 1 + rng.randint(2, 3)], Party.COMMITTEE, f"{area.name}居民区"
                    )
                    self.attend(meeting, Party.RESIDENT, self.invented_name(rng), "楼组长")
                    self.put_on_agenda(meeting, chosen, rng, notes=True)
                    if meeting.status == MeetingStatus.HELD:
                        for demand in chosen:
                            if rng.random() < 0.2:
                                self.action(meeting, demand, rng)

    def joint_meetings(self, months: list[date]) -> None:
        for area in self.world.areas:
            rng = self.rng(f"joint:{area.name}")
            for first in months:
                if first.month % 3:
                    continue  # quarterly: March, June, September, December
                day = _workday_in(first, 10, 24, rng)
                held_at = _at(day, 14)
                window = held_at - timedelta(days=92)
                mine = [d for d in self.world.demands if d.area_id == area.pk and window <= d.created_at < held_at]
                chosen = _sample(
                    rng, [d for d in mine if d.whistled or d.open_at(held_at)] or mine, rng.randint(2, 4)
                )
                meeting = self.meeting(
                    kind=MeetingKind.JOINT,
                    title=f"{area.name}居民区{day.year}年第{(day.month - 1) // 3 + 1}季度1+5+x联席会议",
                    area_id=area.pk,
                    held_at=held_at,
                    place=f"{area.name}居民区党群服务站",
                    minutes=rng.choice(JOINT_MINUTES).format(area=area.name, items=len(chosen)),
                    decisions=rng.choice(JOINT_DECISIONS),
                )
                self.result.joint += 1
                self.attend_users(meeting, area.committee[:3], Party.COMMITTEE, f"{area.name}居民区")
                compounds = _sample(rng, area.compounds, 2)
                for compound in compounds:
                    if compound.owners_committee:
                        self.attend(
                            meeting, Party.OWNERS, _name(compound.owners_contact), compound.owners_committee
                        )
                    if compound.property_company:
                        self.attend(
                            meeting, Party.PROPERTY, _name(compound.property_contact), compound.property_company
                        )
                self.attend(meeting, Party.POLICE, self.invented_name(rng), "江宁路派出所")
                self.attend(meeting, Party.OTHER, self.invented_name(rng), "辖区单位代表")
                self.attend(meeting, Party.RESIDENT, self.invented_name(rng), "居民代表")
                self.put_on_agenda(meeting, chosen, rng, notes=True)
                if meeting.status == MeetingStatus.HELD:
                    for demand in chosen:
                        if rng.random() < 0.35:
                            self.action(meeting, demand, rng, area_owner=area.head)

    def troika(self, months: list[date]) -> None:
        world = self.world
        pick = self.rng("troika:lagging")
        lagging = {area.pk for area in _sample(pick, [a for a in world.areas if a.compounds], LAGGING_AREAS)}
        by_compound: dict[int, list[_Demand]] = defaultdict(list)
        for demand in world.demands:
            if demand.compound_id is not None:
                by_compound[demand.compound_id].append(demand)
        this_month = months[-1]
        for area in world.areas:
            missed_share = TROIKA_MISSED_LAGGING if area.pk in lagging else TROIKA_MISSED
            for compound in area.compounds:
                rng = self.rng(f"troika:{area.name}:{compound.name}")
                for first in months:
                    current = first == this_month
                    day = _workday_in(first, 3, _month_end(first).day if current else 26, rng)
                    missed = rng.random() < missed_share
                    if current and (missed or day >= self.today):
                        # Not held yet this month: most are on the calendar for the days left, if any are.
                        left = workdays_between(self.today, _month_end(first))
                        if left and rng.random() < 0.7:
                            self.troika_meeting(area, compound, rng.choice(left), rng, [])
                            self.result.troika_planned += 1
                        continue
                    if missed:
                        self.result.troika_missed += 1
                        continue
                    held_at = _at(day, rng.choice((9, 10, 14, 15)))
                    recent = [
                        d
                        for d in by_compound[compound.pk]
                        if held_at - timedelta(days=31) <= d.created_at < held_at
                    ]
                    self.troika_meeting(area, compound, day, rng, recent, held_at=held_at)
                    self.result.troika_held += 1
                self.result.troika_due += len(months) - 1  # the past full months

    def troika_meeting(
        self,
        area: _Area,
        compound: _Compound,
        day: date,
        rng: random.Random,
        recent: list[_Demand],
        held_at: datetime | None = None,
    ) -> None:
        looked = _sample(rng, INSPECTIONS, rng.randint(2, 4))
        meeting = self.meeting(
            kind=MeetingKind.TROIKA,
            title=f"{compound.name}三驾马车现场合署办公（{day.month}月）",
            area_id=area.pk,
            compound_id=compound.pk,
            held_at=held_at or _at(day, 14),
            place=rng.choice(("物业办公室", "小区门岗旁议事点", "小区中心花园")),
            inspected=f"查看了{'、'.join(looked)}。{rng.choice(INSPECTION_FINDINGS)}",
            minutes=rng.choice(TROIKA_MINUTES).format(
                demands=len(recent),
                work=rng.choice(PROPERTY_WORK),
                topic=rng.choice(OWNER_TOPICS),
                agreement=rng.choice(AGREEMENTS),
            ),
            decisions=rng.choice(AGREEMENTS),
        )
        self.attend_users(
            meeting, _sample(rng, area.committee, rng.randint(1, 2)), Party.COMMITTEE, f"{area.name}居民区"
        )
        if compound.owners_committee:
            self.attend(meeting, Party.OWNERS, _name(compound.owners_contact), compound.owners_committee)
            if rng.random() < 0.5:
                self.attend(meeting, Party.OWNERS, self.invented_name(rng), compound.owners_committee)
        else:  # no owners' committee yet: owners' representatives sit in for it
            self.attend(meeting, Party.OWNERS, self.invented_name(rng), "业主代表")
        company = compound.property_company or f"{compound.name}自管小组"
        self.attend(meeting, Party.PROPERTY, _name(compound.property_contact) or self.invented_name(rng), company)
        if rng.random() < 0.4:
            self.attend(meeting, Party.PROPERTY, self.invented_name(rng), company)
        if meeting.status == MeetingStatus.HELD and recent and rng.random() < 0.12:
            # A finding on the walk that matched a resident's demand: the area head takes it on the action list.
            demand = rng.choice(recent)
            self.put_on_agenda(meeting, [demand], rng, notes=False)
            self.action(
                meeting,
                demand,
                rng,
                area_owner=area.head,
                title=f"{compound.name}“{demand.topic or '现场发现问题'}”限期整改",
            )

    def events_and_planning(self, start: date) -> None:
        world = self.world
        rng = self.rng("events")
        areas = [area for area in world.areas if area.committee]
        if not areas:
            return
        kinds = [kind for kind, weight in EVENT_SHARES for _n in range(weight)]
        rng.shuffle(kinds)
        first, last = start + timedelta(days=30), self.today - timedelta(days=2)
        span = (last - first).days
        doubles = set(rng.sample(range(EVENTS), PLANNING_MEETINGS - EVENTS))
        attended_total = 0
        for n in range(EVENTS):
            area = areas[(n * 7) % len(areas)]
            kind = kinds[n % len(kinds)]
            day = first + timedelta(days=int(span * (n + rng.random()) / EVENTS))
            day = min(day, last)
            starts_at = _at(day, rng.choice((9, 10, 14, 15, 18)), rng.choice((0, 30)))
            compound = rng.choice(area.compounds).name if area.compounds else area.name
            title = rng.choice(EVENT_TITLES[kind]).format(compound=compound)
            low, high = EVENT_SIZES[kind]
            size = rng.randint(low, high)
            capacity = (
                size + rng.randint(0, 6)
                if kind in (EventKind.BABY_HOUSE, EventKind.DISCUSSION) or rng.random() < 0.2
                else None
            )
            partner = rng.choice(PARTNERS) if kind in (EventKind.FIVE_SOCIAL, EventKind.VOLUNTEER) else ""
            event = Event(
                street=world.street,
                area_id=area.pk,
                kind=kind,
                title=title,
                organiser=f"{area.name}居民区居委会" + (f"、{partner}" if partner else ""),
                place=rng.choice(
                    (f"{area.name}居民区党群服务站", f"{compound}中心花园", "江宁路街道社区文化活动中心")
                ),
                starts_at=starts_at,
                ends_at=starts_at + timedelta(hours=rng.choice((1, 2, 2, 3))),
                capacity=capacity,
                description=EVENT_DESCRIPTIONS[kind],
                created_by_id=area.head.pk if area.head else None,
            )
            planning = []
            for k in range(2 if n in doubles else 1):
                held_day = add_workdays(day - timedelta(days=rng.randint(6, 16) + 8 * k), 0)
                meeting = self.meeting(
                    kind=MeetingKind.PLANNING,
                    title=f"“{title}”筹备会" + ("（二）" if k else ""),
                    area_id=area.pk,
                    held_at=_at(min(held_day, day - timedelta(days=1)), 15),
                    place=f"{area.name}居民区党群服务站",
                    minutes=f"讨论“{title}”活动方案：时间地点、报名方式、人员分工和物资准备；"
                    + rng.choice(
                        (
                            "邀请楼组长和志愿者骨干参与策划。",
                            "听取居民代表意见，调整了活动内容。",
                            "明确安全预案和场地布置。",
                        )
                    ),
                    decisions="按分工落实，活动前一天再次确认报名情况。",
                )
                self.result.planning += 1
                self.attend_users(meeting, area.committee[:2], Party.COMMITTEE, f"{area.name}居民区")
                self.attend(meeting, Party.RESIDENT, self.invented_name(rng), "居民骨干")
                if partner:
                    self.attend(meeting, Party.OTHER, self.invented_name(rng), partner)
                planning.append(meeting)
            self.events.append((event, planning))
            attended_total += self.register(event, area, size, rng)
        # The year's figure: where small areas left it short, more walk-ins at the open (uncapped) events.
        open_events = [event for event, _planning in self.events if event.capacity is None]
        n = 0
        while attended_total < MIN_ATTENDANCE and open_events:
            self.walk_in(open_events[n % len(open_events)], rng)
            attended_total += 1
            n += 1
        self.result.events = len(self.events)

    def register(self, event: Event, area: _Area, size: int, rng: random.Random) -> int:
        """Registrations from the area's registry (a few do not come), walk-ins to make up `size`; returns the
        number who attended."""
        volunteering = event.kind == EventKind.VOLUNTEER
        registered = _sample(rng, area.residents, max(0, size - rng.randint(0, 4)))
        attended = 0
        for pk, name in registered:
            came = rng.random() < 0.9
            attended += came
            volunteer = rng.random() < (0.7 if volunteering else 0.08)
            self.registrations.append(
                Registration(
                    event=event,
                    resident_id=pk,
                    name=name,
                    volunteer=volunteer,
                    attended=came,
                    registered_at=event.starts_at - timedelta(days=rng.randint(1, 10), hours=rng.randint(0, 8)),
                )
            )
            self.result.volunteers += volunteer
        room = size if event.capacity is None else event.capacity - len(registered)
        for _n in range(min(max(0, size - attended), max(0, room))):
            self.walk_in(event, rng)
            attended += 1
        return attended

    def walk_in(self, event: Event, rng: random.Random) -> None:
        self.registrations.append(
            Registration(
                event=event,
                name=self.invented_name(rng),
                walk_in=True,
                attended=True,
                registered_at=event.starts_at,
            )
        )

    def training(self, start: date) -> None:
        world = self.world
        rng = self.rng("training")
        cadres = [person for area in world.areas for person in area.committee]
        first, last = start + timedelta(days=10), self.today - timedelta(days=1)
        span = (last - first).days
        for n, (title, topics) in enumerate(TRAINING_TOPICS[:TRAININGS]):
            day = add_workdays(first + timedelta(days=span * n // TRAININGS), 0)
            session = TrainingSession(
                street=world.street,
                kind=TrainingKind.TRAINING,
                title=title,
                topics=topics,
                trainer=rng.choice(TRAINERS),
                held_at=_at(min(day, last), 14),
                place=TRAINING_PLACE,
                hours=rng.choice((2, 2, 3)),
            )
            self.trainings.append(session)
            self.result.trainings += 1
            for person in cadres:
                came = rng.random() < 0.9
                self.attendance.append(TrainingAttendance(session=session, user_id=person.pk, attended=came))
        areas = _sample(rng, [a for a in world.areas if a.committee], FIVE_SOCIAL_SESSIONS)
        for n, area in enumerate(areas):
            day = add_workdays(first + timedelta(days=span * (2 * n + 1) // (2 * FIVE_SOCIAL_SESSIONS)), 0)
            session = TrainingSession(
                street=world.street,
                area_id=area.pk,
                kind=TrainingKind.FIVE_SOCIAL,
                title=FIVE_SOCIAL_TITLES[n % len(FIVE_SOCIAL_TITLES)],
                topics="社区、社会组织、社会工作者、社区志愿者、社会慈善资源如何在居民区协同服务。",
                trainer=rng.choice(PARTNERS),
                held_at=_at(min(day, last), 9, 30),
                place=f"{area.name}居民区党群服务站",
                hours=2,
            )
            self.trainings.append(session)
            self.result.five_social += 1
            for person in area.committee:
                came = rng.random() < 0.92
                self.attendance.append(TrainingAttendance(session=session, user_id=person.pk, attended=came))

    # --- writing ------------------------------------------------------------------------------------------------
    def write(self) -> None:
        result = self.result
        Meeting.objects.bulk_create(self.meetings, batch_size=1000)
        Attendee.objects.bulk_create(self._linked(self.attendees, "meeting"), batch_size=2000)
        AgendaItem.objects.bulk_create(self._linked(self.agenda, "meeting"), batch_size=2000)
        items = [item for item, _demands in self.actions]
        ActionItem.objects.bulk_create(self._linked(items, "meeting"), batch_size=1000)
        through = ActionItem.demands.through
        ActionItem.demands.through.objects.bulk_create(
            [through(actionitem_id=item.pk, demand_id=pk) for item, pks in self.actions for pk in pks],
            batch_size=2000,
        )
        ActionProgress.objects.bulk_create(self._linked(self.progress, "item"), batch_size=2000)
        events = [event for event, _planning in self.events]
        Event.objects.bulk_create(events, batch_size=1000)
        planned = Event.planning_meetings.through
        planned.objects.bulk_create(
            [
                planned(event_id=event.pk, meeting_id=meeting.pk)
                for event, meetings in self.events
                for meeting in meetings
            ]
        )
        Registration.objects.bulk_create(self._linked(self.registrations, "event"), batch_size=2000)
        TrainingSession.objects.bulk_create(self.trainings)
        TrainingAttendance.objects.bulk_create(self._linked(self.attendance, "session"), batch_size=2000)

        result.action_items = len(items)
        counts: dict[str, int] = defaultdict(int)
        for item in items:
            counts[item.status] += 1
            result.actions_overdue += item.deadline < self.today and item.status in (
                ActionStatus.OPEN,
                ActionStatus.IN_PROGRESS,
            )
        result.actions = dict(counts)
        result.progress_notes = len(self.progress)
        result.registrations = sum(not r.walk_in for r in self.registrations)
        result.walk_ins = len(self.registrations) - result.registrations
        result.attended = sum(r.attended for r in self.registrations)
        result.training_attended = sum(a.attended for a in self.attendance)
        result.training_absent = len(self.attendance) - result.training_attended

    @staticmethod
    def _linked(rows: list[Any], parent: str) -> list[Any]:
        """Point each row's foreign key at its parent's new primary key (the parent was built before it had one)."""
        for row in rows:
            setattr(row, f"{parent}_id", getattr(row, parent).pk)
        return rows


def demo_meetings(
    *, street: Street, seed: int, today: date, progress: Progress | None = None
) -> MeetingsDemoResult:
    """A past year of meetings, action items, troika offices, events and training for the demo street, in one
    transaction; the same seed, street and day give the same rows."""
    started = time.perf_counter()
    say = progress or (lambda message: None)
    result = MeetingsDemoResult(start=year_before(today), end=today - timedelta(days=1))
    assert result.start is not None
    with transaction.atomic():
        world = _load(street)
        writer = _Writer(world, seed, today, result)
        months = _months(today)
        writer.analysis_meetings(months)
        writer.subgrid_meetings(months)
        writer.joint_meetings(months)
        say(_("民情分析会、次格例会和联席会议已生成"))
        writer.troika(months)
        say(_("三驾马车现场合署办公已生成"))
        writer.events_and_planning(result.start)
        writer.training(result.start)
        writer.write()
    result.seconds = time.perf_counter() - started
    return result


def _raw_delete(queryset: "QuerySet[Any]") -> int:
    return queryset._raw_delete(queryset.db)


def demo_meetings_delete(street: Street) -> dict[str, int]:
    """Remove the street's meetings, action items, events and training (files included), children first, before the
    demands, users and places they point at go (`ningju demo --reset`)."""
    deleted: dict[str, int] = {}
    with transaction.atomic():
        files = MeetingFile.objects.filter(meeting__street=street)
        for meeting_file in files:
            meeting_file.file.delete(save=False)
        steps: list[tuple[str, QuerySet[Any]]] = [
            ("files", files),
            ("progress", ActionProgress.objects.filter(item__street=street)),
            ("action_demands", ActionItem.demands.through.objects.filter(actionitem__street=street)),
            ("action_items", ActionItem.objects.filter(street=street)),
            ("registrations", Registration.objects.filter(event__street=street)),
            ("event_meetings", Event.planning_meetings.through.objects.filter(event__street=street)),
            ("events", Event.objects.filter(street=street)),
            ("training_attendance", TrainingAttendance.objects.filter(session__street=street)),
            ("trainings", TrainingSession.objects.filter(street=street)),
            ("agenda_items", AgendaItem.objects.filter(meeting__street=street)),
            ("attendees", Attendee.objects.filter(meeting__street=street)),
            ("meetings", Meeting.objects.filter(street=street)),
        ]
        for key, queryset in steps:
            deleted[key] = _raw_delete(queryset)
    return deleted
