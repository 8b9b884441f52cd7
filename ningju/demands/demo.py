"""The demo street's year of demands for `ningju demo`: 1300+ opinions answered and 900+ problems found and solved,
with help requests and enquiries, each with a history the workflow allows, deterministic for the seed.

What the year looks like: demands come from visits (a share of the visits demo's findings become demands, one
each), patrols, walk-ins, online messages and 12345 orders; the texts name the area's real roads, compounds and
patrol sites and carry the category a classifier should learn. Most are handled in the area and closed after a
callback; about one in ten is whistled by the area head and dispatched by the street to one or two departments,
whose liaisons report and resolve (a few return the order, a few ask for more time). Callbacks are mostly 满意;
不满意 reopens the demand. A few are late, so the rates are honest; the last weeks' demands are still open, some
yellow or red; a few duplicates are merged.

Every step is decided by `workflow.transition` (pure, no database) with the acting user's real role and ties to
the demand, deadlines come from the working-day calendar as `services.demand_act` computes them, and the rows
are written in bulk: taking 15,000 steps through `demand_act` one by one would take minutes.

Wording (topics, bars, finding → topic) comes first; the generator follows.
"""

import random
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from itertools import count as counter
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from ningju.core.models import Role, User
from ningju.core.scoping import AREA_ROLES
from ningju.core.workdays import add_workdays, is_workday, workdays_between
from ningju.demands import workflow
from ningju.demands.defaults import ensure_categories, link_default_departments, usual_departments
from ningju.demands.models import (
    Alert,
    Attachment,
    Category,
    Demand,
    DemandEvent,
    Dispatch,
    ExtensionRequest,
    ExtensionStatus,
    Kind,
    Source,
)
from ningju.demands.overdue import alert_for
from ningju.demands.services import CREATE, stage_limits
from ningju.demands.workflow import TERMINAL_STATES, Action, CallbackResult, DeadlineStage, DispatchState, State
from ningju.registry.models import (
    Building,
    Compound,
    Department,
    Household,
    PatrolSite,
    Resident,
    ResidentialArea,
    Street,
    format_address,
)
from ningju.visits.demo import year_before
from ningju.visits.models import Finding, Visit

SHANGHAI = ZoneInfo("Asia/Shanghai")

# ---------------------------------------------------------------------------------------------------------------
# What residents raise.

OPINION, PROBLEM, HELP, ENQUIRY = "opinion", "problem", "help", "enquiry"  # `models.Kind` values
HOUSEHOLD, BUILDING, COMPOUND, SITE = "household", "building", "compound", "site"
SITE_STAIRWELL, SITE_BICYCLES, SITE_GARBAGE, SITE_SHOPS = (
    "楼道及公共部位",
    "非机动车棚及充电区域",
    "垃圾厢房",
    "沿街商铺",
)


@dataclass(frozen=True, slots=True)
class Topic:
    """One kind of thing residents raise, as the demo words it.

    `kinds`: weight of the topic among the demands of each kind; `texts`: the wording per kind. `place`: what the
    demand points at; `site_type`: the patrol site type where a patrol finds it (empty: patrols never do).
    `whistle`: how often the area cannot solve it alone; `also`: departments a whistle may add to the usual one.
    """

    key: str
    category: tuple[str, str | None]
    place: str
    kinds: Mapping[str, int]
    texts: Mapping[str, tuple[str, ...]]
    details: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    department_notes: tuple[str, ...] = ()
    whistle_reasons: tuple[str, ...] = ()
    whistle: float = 0.0
    also: tuple[str, ...] = ()
    site_type: str = ""
    patrol_texts: tuple[str, ...] = ()
    area_texts: Mapping[str, Mapping[str, tuple[str, ...]]] = field(default_factory=dict)
    area_notes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


# Bars on the area's real roads. The same bar is reported from every area its road crosses, so the clustering of
# similar demands across areas has something to find (the article's 合并同类项).
BARS: tuple[tuple[str, str, str], ...] = (
    ("常德路", "512号", "夜猫子酒吧"),
    ("常德路", "587号", "蓝调小酒馆"),
    ("江宁路", "673号", "微醺清吧"),
    ("西康路", "489号", "老船长酒吧"),
    ("昌平路", "455号", "月光酒廊"),
    ("康定路", "780号", "拾号酒馆"),
    ("武定路", "618号", "大胡子精酿"),
)

TOPICS: tuple[Topic, ...] = (
    Topic(
        "bar_noise",
        ("噪音扰民", "商铺夜间经营噪音"),
        HOUSEHOLD,
        {PROBLEM: 60, OPINION: 24},
        {
            PROBLEM: (
                "{bar_road}{bar_no}“{bar}”每晚营业到凌晨，{hour}点以后音乐声和喧哗声仍然很大，{building}的居民无法入睡",
                "{building}居民反映：{bar_road}上的“{bar}”深夜噪音扰民，顾客在门口聚集喧哗、酒后吵闹",
                "“{bar}”（{bar_road}{bar_no}）后半夜低音炮声音大，震得窗户嗡嗡响，已多次与店家沟通无果",
                "凌晨{hour}点多{bar_road}“{bar}”散场，客人在路边大声说笑、按喇叭，老人被吵醒后难以再睡",
                "{bar_road}“{bar}”外摆桌椅占用人行道，夜里人声嘈杂，烟味飘进{building}楼道",
                "沿街酒吧夜间噪音：{bar_road}{bar_no}“{bar}”周末通宵营业，{address}住户整夜睡不好",
            ),
            OPINION: (
                "建议规范{bar_road}沿街酒吧的夜间经营时间和音量，“{bar}”一带晚上太吵",
                "希望相关部门夜间加强对{bar_road}“{bar}”等酒吧的巡查，让居民睡个安稳觉",
                "建议“{bar}”加装隔音门窗，门口安排人员劝导顾客不要喧哗",
                "建议对{bar_road}沿街酒吧实行“白+黑”巡查，夜里也要有人管",
            ),
        },
        details=(
            "老人和孩子休息受到严重影响",
            "已经持续一个多月",
            "周末尤其严重",
            "报警后好几天又恢复原样",
            "家里有准备高考的学生",
            "附近几栋楼的居民都有意见",
        ),
        notes=(
            "已联系店家负责人，约定晚上十点后关闭外放音响、门口不再摆放桌椅",
            "居委会与店家签订文明经营承诺书，夜间噪音明显减轻",
        ),
        department_notes=(
            "已会同城管、派出所开展夜间专项整治，落实“白+黑”常态巡查",
            "已对商户开展宣教整治并执法检查，责令加装隔音设施、控制营业音量",
            "已纳入“常态巡查+重点固守”名单，夜间重点时段安排人员值守",
        ),
        whistle_reasons=(
            "多次劝导无效，居民区无执法权限，需职能部门联合整治",
            "涉及商户超时经营和噪音执法，需街道协调市场监管、城管处置",
        ),
        whistle=0.45,
        also=("城管", "派出所"),
        site_type=SITE_SHOPS,
        patrol_texts=(
            "夜间巡查{site}，“{bar}”门口顾客聚集喧哗，音乐外放声音较大",
            "巡查{site}时发现“{bar}”外摆桌椅占道，周边居民反映夜间喧哗",
        ),
    ),
    Topic(
        "neighbour_noise",
        ("噪音扰民", "邻里噪音"),
        HOUSEHOLD,
        {PROBLEM: 22},
        {
            PROBLEM: (
                "{address}反映楼上住户夜间拖动家具、走路声响大，影响休息",
                "{address}居民反映隔壁邻居家的狗长时间吠叫",
                "{address}反映楼上住户晚上十一点后仍在跳绳、唱卡拉OK",
                "{address}反映楼下麻将声每晚持续到深夜",
            ),
        },
        details=("双方已经吵过几次", "希望居委会出面协调", "老人心脏不好，经不起吵"),
        notes=("已上门与双方沟通，楼上住户同意铺设地垫、夜间注意", "经居委会调解，双方达成谅解"),
        whistle=0.04,
        also=("司法所",),
    ),
    Topic(
        "construction_noise",
        ("噪音扰民", "施工噪音"),
        BUILDING,
        {PROBLEM: 14, OPINION: 4},
        {
            PROBLEM: (
                "{building}有住户装修，中午和晚上七点以后仍在电钻施工",
                "{compound}内装修工人早上七点前就开始敲墙",
                "{road}附近工地夜间施工，噪音很大",
            ),
            OPINION: ("建议{compound}物业规范装修施工时间，在楼道张贴告示",),
        },
        details=("影响老人午休", "已经持续两个星期"),
        notes=("已通知物业督促装修住户按规定时间施工", "已联系施工方，承诺晚上不再施工"),
        whistle=0.1,
    ),
    Topic(
        "garbage_room",
        ("环境卫生", "垃圾分类与垃圾厢房"),
        SITE,
        {PROBLEM: 30, OPINION: 32},
        {
            PROBLEM: (
                "{site}异味大，夏天蚊蝇多，周边住户不敢开窗",
                "{site}湿垃圾桶破损，污水流到路面",
                "{site}周边垃圾满溢，清运不及时",
                "{site}定时投放时间以外垃圾随意堆放在门口",
            ),
            OPINION: (
                "建议将{site}移位，现在离住户窗口太近",
                "建议延长{site}的开放时间，上班族赶不上定时投放",
                "建议{site}增加清洗消毒频次，加装洗手池",
                "建议在{compound}增设误时投放点",
            ),
        },
        details=("天热以后更加严重", "老人下楼扔垃圾不方便", "楼组长多次提出"),
        notes=("已协调物业和保洁增加清运，每天冲洗消毒", "已调整定时投放时间，增设误时投放点"),
        department_notes=("已督促清运单位增加清运频次，厢房周边完成整治",),
        whistle_reasons=("涉及清运频次和厢房改造，需街道协调绿化市容部门",),
        whistle=0.08,
        also=("物业监管",),
        site_type=SITE_GARBAGE,
        patrol_texts=("巡查{site}，发现垃圾满溢、地面污水未清理", "巡查{site}，厢房门损坏，异味较大"),
        area_texts={
            "又一村": {
                PROBLEM: (
                    "{site}与隔壁办公楼共用，投放量超负荷，垃圾经常满溢到厢房外",
                    "隔壁办公楼的垃圾也倒进{site}，厢房容量不够，异味和蚊蝇问题严重",
                ),
                OPINION: ("建议与隔壁办公楼协商，{site}分时段投放、增加清运频次",),
            }
        },
        area_notes={
            "又一村": (
                "居民区党总支牵头三驾马车在垃圾厢房现场合署办公，当场议定与办公楼分时投放和扩容方案",
                "与隔壁办公楼物业达成共识，办公楼垃圾另设点位，厢房超负荷问题彻底解决",
            )
        },
    ),
    Topic(
        "stairwell_clutter",
        ("环境卫生", "楼道堆物"),
        BUILDING,
        {PROBLEM: 24},
        {
            PROBLEM: (
                "{building}楼道堆放旧家具、纸板，堵塞通道，存在消防隐患",
                "{building}底楼楼道长期堆放杂物，电瓶车也停在楼道里",
                "{building}楼梯转角堆满花盆和纸箱",
            ),
        },
        details=("晚上看不清容易绊倒", "物业提醒过没有效果"),
        notes=("已联系住户自行清理，物业协助清运", "组织楼组长和志愿者集中清理楼道堆物"),
        whistle=0.04,
        site_type=SITE_STAIRWELL,
        patrol_texts=("巡查{site}，发现楼道堆放杂物，堵塞疏散通道",),
    ),
    Topic(
        "greening",
        ("环境卫生", "绿化养护"),
        COMPOUND,
        {OPINION: 24, PROBLEM: 8},
        {
            OPINION: (
                "{compound}内大树枝叶过密，遮挡低楼层采光，建议修剪",
                "建议在{compound}空地补种绿植、增设休息座椅",
                "建议把{compound}的绿化带改造成口袋花园",
            ),
            PROBLEM: (
                "{compound}绿化带被个别居民私自种菜、堆放杂物",
                "大风过后{compound}有树枝断裂，存在安全隐患",
            ),
        },
        notes=("已联系绿化养护单位修剪", "已纳入小区微更新项目，征求居民意见后实施"),
    ),
    Topic(
        "dirty_corner",
        ("环境卫生", "卫生死角"),
        COMPOUND,
        {PROBLEM: 10},
        {PROBLEM: ("{compound}弄堂角落长期堆积垃圾，老鼠出没", "{road}沿街绿化带里经常有人乱扔垃圾")},
        notes=("已安排保洁清理并纳入日常保洁范围",),
    ),
    Topic(
        "elevator",
        ("房屋与加装电梯", "加装电梯"),
        BUILDING,
        {OPINION: 44, ENQUIRY: 20, PROBLEM: 8},
        {
            OPINION: (
                "{building}已启动加装电梯意见征询，低层住户担心采光和噪音，希望居委会协调",
                "希望{building}也能加装电梯，楼里{floors}层，老人多，上下楼困难",
                "对{building}加装电梯费用分摊方案有不同意见，希望再开一次协调会",
                "建议{compound}成片推进加装电梯",
            ),
            ENQUIRY: (
                "询问{building}加装电梯目前进度，什么时候开工",
                "咨询加装电梯补贴政策和申请流程",
                "询问{building}加装电梯意见征询需要多少户同意",
            ),
            PROBLEM: (
                "{building}加装电梯施工围挡占用通道，出入不便",
                "{building}加装电梯施工期间晚上仍在作业",
            ),
        },
        details=("家里有坐轮椅的老人", "楼里大部分住户都同意"),
        notes=(
            "已召开加装电梯协调会，解答低层住户疑问",
            "已告知加装电梯审批进度和施工计划",
            "已联系施工单位规范围挡、调整作业时间",
        ),
        department_notes=("房管部门已现场指导，加装电梯方案按程序推进",),
        whistle_reasons=("低层住户意见分歧较大，需街道和房管部门协调",),
        whistle=0.1,
        also=("物业监管",),
    ),
    Topic(
        "leak",
        ("房屋与加装电梯", "房屋渗漏"),
        HOUSEHOLD,
        {PROBLEM: 28},
        {
            PROBLEM: (
                "{address}屋顶漏水，下雨天天花板滴水",
                "{address}外墙渗水，墙面发霉",
                "{address}卫生间漏水到楼下",
                "{address}窗台渗水，墙纸起泡",
            ),
        },
        details=("已经报修两次", "梅雨季节特别严重", "家里老人身体不好"),
        notes=("已联系物业上门查看，完成防水修补", "已协调楼上住户配合维修，渗漏已解决"),
        department_notes=("房管部门已安排屋面防水维修",),
        whistle_reasons=("涉及公共部位维修和维修资金使用，需房管部门处置",),
        whistle=0.1,
        also=("物业监管",),
    ),
    Topic(
        "facade",
        ("房屋与加装电梯", None),
        BUILDING,
        {PROBLEM: 8},
        {PROBLEM: ("{building}外墙空鼓、瓷砖脱落，存在坠落风险", "{building}阳台混凝土剥落，露出钢筋")},
        notes=("已拉设警戒线，物业安排排险修复",),
        whistle=0.25,
        also=("物业监管",),
    ),
    Topic(
        "renewal",
        ("房屋与加装电梯", "老旧小区改造"),
        COMPOUND,
        {OPINION: 24, ENQUIRY: 6},
        {
            OPINION: (
                "{compound}正在综合改造，希望把雨污分流、屋面防水一并做好",
                "建议{compound}改造时统一更换老化的水管和电线",
                "希望{compound}改造施工时间避开午休",
            ),
            ENQUIRY: ("询问{compound}是否列入今年旧住房改造计划",),
        },
        notes=("已将居民意见汇总反馈给改造项目组", "已在小区公告栏公示改造方案和施工时间"),
    ),
    Topic(
        "parking",
        ("停车与交通", "停车难"),
        COMPOUND,
        {OPINION: 40, PROBLEM: 14},
        {
            OPINION: (
                "{compound}车位紧张，晚上外来车辆占位，建议实行车辆登记管理",
                "建议与附近写字楼协商，夜间错峰共享停车位",
                "希望{compound}挖潜增加停车位",
            ),
            PROBLEM: ("{road}沿线机动车违停严重，早晚高峰堵车", "{compound}门口车辆乱停，救护车开不进来"),
        },
        details=("下班回来经常找不到车位", "多次和物业反映"),
        notes=("已与周边单位签订错峰停车协议", "物业已实行车辆登记，外来车辆临时停放收费"),
        department_notes=("已加强违停巡查和执法，路口增设禁停标志",),
        whistle=0.08,
        also=("城管",),
    ),
    Topic(
        "bike_parking",
        ("停车与交通", "非机动车停放"),
        COMPOUND,
        {PROBLEM: 24, OPINION: 10},
        {
            PROBLEM: (
                "{compound}门口非机动车乱停，挡住出入口",
                "共享单车堆积在{road}人行道上，行人无法通过",
                "{compound}车棚车辆停放杂乱，僵尸车多",
            ),
            OPINION: ("建议清理{compound}的僵尸自行车，腾出停车空间", "建议在{road}路口增设非机动车停放点"),
        },
        notes=("已组织清理僵尸车，重新划线停放", "已联系共享单车企业及时调运"),
        site_type=SITE_BICYCLES,
        patrol_texts=("巡查{site}，车辆停放杂乱，通道被堵", "巡查{site}，发现多辆长期无人使用的僵尸车"),
    ),
    Topic(
        "road",
        ("停车与交通", "道路设施"),
        COMPOUND,
        {PROBLEM: 12},
        {
            PROBLEM: (
                "{road}人行道地砖松动，雨天踩上去溅水",
                "{road}路灯不亮，晚上走路不安全",
                "{compound}门口窨井盖破损",
            ),
        },
        notes=("已报养护单位修复",),
        whistle=0.15,
    ),
    Topic(
        "property_service",
        ("物业管理", "物业服务"),
        COMPOUND,
        {OPINION: 40, PROBLEM: 18},
        {
            OPINION: (
                "对{compound}物业（{property}）服务不满意，楼道一周才打扫一次",
                "希望{compound}物业公开收支情况",
                "对{compound}物业费上调有意见，希望召开业主大会讨论",
                "建议{compound}物业报修电话24小时有人接听",
            ),
            PROBLEM: ("{compound}门禁坏了一个月，物业一直没修", "{compound}保安夜间经常不在岗"),
        },
        details=("多次向物业反映没有回音", "业委会也提过意见"),
        notes=("三驾马车现场合署办公，物业承诺整改并公示保洁排班", "已约谈物业项目经理，限期整改"),
        department_notes=("物业监管部门已约谈物业公司，督促落实整改",),
        whistle=0.06,
    ),
    Topic(
        "repair",
        ("物业管理", "公共设施维修"),
        BUILDING,
        {PROBLEM: 40},
        {
            PROBLEM: (
                "{building}楼道灯坏了半个月没人修",
                "{building}单元门门禁损坏，陌生人随意进出",
                "{building}下水管道堵塞，污水外溢",
                "{building}信报箱破损",
                "{compound}水泵房噪音大，影响低层住户",
            ),
        },
        details=("老人晚上出行不便", "物业说要等材料"),
        notes=("已通知物业维修，当天修复", "物业已更换损坏部件，居民确认正常使用"),
        whistle=0.04,
        site_type=SITE_STAIRWELL,
        patrol_texts=("巡查{site}，楼道灯不亮、扶手松动",),
    ),
    Topic(
        "fund",
        ("物业管理", "维修资金"),
        COMPOUND,
        {ENQUIRY: 12, OPINION: 6},
        {
            ENQUIRY: ("询问{compound}维修资金使用流程，屋面维修能否动用", "咨询维修资金余额如何查询"),
            OPINION: ("希望公开{compound}维修资金使用明细",),
        },
        notes=("已解答维修资金使用流程和查询方式",),
    ),
    Topic(
        "committee",
        ("物业管理", "业委会运作"),
        COMPOUND,
        {OPINION: 12},
        {OPINION: ("{compound}业委会换届迟迟未启动，希望居委会指导", "希望{compound}业委会定期公开会议纪要")},
        notes=("已指导业委会启动换届筹备",),
    ),
    Topic(
        "charging",
        ("消防与安全", "电动自行车充电"),
        COMPOUND,
        {OPINION: 34, PROBLEM: 12, ENQUIRY: 5},
        {
            OPINION: (
                "{compound}充电桩数量不够，晚上要排队，建议增设",
                "建议在{compound}非机动车棚加装智能充电柜",
                "希望{compound}充电桩收费标准统一透明",
            ),
            PROBLEM: ("{compound}车棚充电桩故障，无法充电", "{compound}充电桩插座烧坏，存在安全隐患"),
            ENQUIRY: ("咨询{compound}充电桩如何办卡",),
        },
        notes=("已协调运营方增设充电桩", "运营方已完成维修并公示收费标准"),
        whistle=0.05,
        site_type=SITE_BICYCLES,
        patrol_texts=("巡查{site}，充电桩故障无法充电", "巡查{site}，充电区域线路老化"),
    ),
    Topic(
        "flying_wire",
        ("消防与安全", "飞线充电"),
        BUILDING,
        {PROBLEM: 30},
        {
            PROBLEM: (
                "{building}有住户从窗口拉电线给电动自行车充电",
                "有居民把电动自行车推进{building}楼道充电",
                "{building}有人把电瓶车推进电梯上楼，担心火灾隐患",
            ),
        },
        details=("电线就挂在一楼窗外", "晚上充一整夜"),
        notes=("已上门劝导并拆除飞线，告知附近充电桩位置", "已联合物业开展电动自行车安全宣传，住户签订承诺书"),
        department_notes=("消防部门已上门检查并开展专项宣传",),
        whistle=0.08,
    ),
    Topic(
        "fire_lane",
        ("消防与安全", "消防通道占用"),
        COMPOUND,
        {PROBLEM: 15},
        {PROBLEM: ("{compound}消防通道被私家车长期占用", "{compound}消防通道上堆放建筑垃圾")},
        notes=("已通知车主挪车，物业在通道施划禁停线",),
        whistle=0.1,
        site_type=SITE_STAIRWELL,
        patrol_texts=("巡查{site}，消防通道被机动车占用",),
    ),
    Topic(
        "group_rent",
        ("消防与安全", "群租"),
        HOUSEHOLD,
        {PROBLEM: 18},
        {
            PROBLEM: (
                "{address}疑似群租，住了十几个人，进出嘈杂、卫生差",
                "{address}被隔成多间出租，用电负荷大，担心安全",
                "{address}租客频繁更换，深夜进出影响邻居",
            ),
        },
        details=("楼里住户都很担心", "之前整治过又反弹"),
        notes=("已联系房东，承诺合同到期后不再分租",),
        department_notes=("房管部门已上门核查，责令房东限期整改群租", "已联合派出所开展群租整治，拆除违规隔断"),
        whistle_reasons=("房东拒不配合，需房管、派出所联合执法",),
        whistle=0.35,
        also=("派出所",),
    ),
    Topic(
        "illegal_build",
        ("市容与违法建筑", "违法搭建"),
        BUILDING,
        {PROBLEM: 12},
        {PROBLEM: ("{building}底楼住户在天井违法搭建", "{building}顶楼住户在屋顶加盖阳光房")},
        notes=("经劝导，住户已自行拆除",),
        department_notes=("城管部门已立案查处，违法搭建已拆除",),
        whistle_reasons=("当事人拒不整改，需执法部门依法处置",),
        whistle=0.4,
        also=("房管",),
    ),
    Topic(
        "vending",
        ("市容与违法建筑", "占道经营"),
        SITE,
        {PROBLEM: 15},
        {PROBLEM: ("{site}水果店占道经营，人行道被货架占满", "{site}餐馆在人行道上洗菜、摆桌")},
        notes=("已与商户沟通，落实门责区管理",),
        department_notes=("城管部门已开展占道经营整治",),
        whistle=0.15,
        site_type=SITE_SHOPS,
        patrol_texts=("巡查{site}，发现商铺占道经营", "巡查{site}，商铺门前堆放货物"),
    ),
    Topic(
        "shops",
        ("市容与违法建筑", "沿街商铺管理"),
        SITE,
        {PROBLEM: 15, OPINION: 6},
        {
            PROBLEM: ("{site}餐饮店油烟直排，楼上居民不敢开窗", "{site}有商铺夜间卸货，噪音很大"),
            OPINION: ("建议对{road}沿街商铺门责区加强管理",),
        },
        notes=("已与商户沟通，安装油烟净化设备",),
        department_notes=("市场监管部门已检查，责令商户整改",),
        whistle=0.15,
        also=("城管",),
        site_type=SITE_SHOPS,
        patrol_texts=("巡查{site}，餐饮店后厨油烟直排",),
    ),
    Topic(
        "eldercare",
        ("为老与帮困", "养老服务"),
        HOUSEHOLD,
        {HELP: 40, ENQUIRY: 15, OPINION: 12},
        {
            HELP: (
                "{address}{age}岁独居老人行动不便，希望申请居家养老服务",
                "{address}老人刚出院，需要助浴和上门护理",
                "{address}老人希望安装紧急呼叫设备",
            ),
            ENQUIRY: ("咨询长护险评估如何申请", "咨询社区长者照护之家的入住条件"),
            OPINION: ("建议社区多开展老年人文体活动", "希望睦邻点多开展健康讲座"),
        },
        notes=("已协助申请居家养老服务，评估已完成", "已联系为老服务中心上门服务", "已解答申请流程并代为预约"),
    ),
    Topic(
        "meal",
        ("为老与帮困", "老年助餐"),
        HOUSEHOLD,
        {OPINION: 30, HELP: 18},
        {
            OPINION: (
                "希望附近增设老年助餐点，现在最近的要走二十分钟",
                "助餐点菜品偏咸，希望多些软烂的菜",
                "建议老年助餐点周末也开放",
            ),
            HELP: ("{address}老人腿脚不便，希望助餐送餐上门",),
        },
        notes=("已反馈助餐点调整菜单", "已为老人办理助餐送餐上门服务"),
    ),
    Topic(
        "hardship",
        ("为老与帮困", "困难帮扶"),
        HOUSEHOLD,
        {HELP: 30, ENQUIRY: 10},
        {
            HELP: (
                "{address}家中主要劳动力生病住院，生活困难，希望申请临时救助",
                "{address}居民失业，希望得到就业援助",
                "{address}老人医疗费用负担重，希望申请医疗救助",
            ),
            ENQUIRY: ("咨询低保申请条件和所需材料",),
        },
        notes=("已协助提交临时救助申请", "已推荐就业岗位并登记就业援助"),
        department_notes=("民政部门已审核，救助金已发放",),
        whistle=0.08,
    ),
    Topic(
        "disability",
        ("为老与帮困", "残疾人服务"),
        HOUSEHOLD,
        {HELP: 15},
        {HELP: ("{address}残疾人希望申请辅具", "{address}残疾人家属询问无障碍改造")},
        notes=("已协助申请辅具适配",),
    ),
    Topic(
        "doctor",
        ("医疗卫生", "家庭医生"),
        HOUSEHOLD,
        {ENQUIRY: 15, HELP: 12},
        {
            ENQUIRY: ("咨询家庭医生签约流程和上门服务",),
            HELP: ("{address}老人卧床，希望家庭医生上门看诊、代配药",),
        },
        notes=("已联系社区卫生服务中心安排家庭医生上门",),
    ),
    Topic(
        "pests",
        ("医疗卫生", "病媒防治"),
        COMPOUND,
        {PROBLEM: 12},
        {PROBLEM: ("{compound}老鼠多，希望投放鼠药", "{compound}积水多，蚊子多，希望灭蚊")},
        notes=("已安排病媒防制人员投药消杀",),
    ),
    Topic(
        "insurance",
        ("政策咨询", "社保医保"),
        HOUSEHOLD,
        {ENQUIRY: 40},
        {
            ENQUIRY: (
                "咨询退休后医保报销比例",
                "咨询灵活就业人员如何缴纳社保",
                "咨询养老金资格认证办理方式",
                "咨询异地就医备案流程",
            ),
        },
        notes=("已当面解答，并告知社区事务受理服务中心办理地址",),
    ),
    Topic(
        "certificate",
        ("政策咨询", "证明开具"),
        HOUSEHOLD,
        {ENQUIRY: 20},
        {ENQUIRY: ("咨询居住证办理需要哪些材料", "咨询户口迁入需要开具哪些证明")},
        notes=("已告知所需材料和办理窗口",),
    ),
    Topic(
        "other_enquiry",
        ("政策咨询", "其他咨询"),
        HOUSEHOLD,
        {ENQUIRY: 20},
        {ENQUIRY: ("咨询老年人免费乘车卡办理", "咨询敬老卡如何申领", "咨询误时投放点的位置")},
        notes=("已解答",),
    ),
    Topic(
        "neighbour_dispute",
        ("邻里纠纷", "邻里矛盾"),
        HOUSEHOLD,
        {PROBLEM: 20},
        {
            PROBLEM: (
                "{address}与楼下因漏水赔偿发生纠纷，希望居委会调解",
                "{address}与邻居因公共走道使用发生争执",
            ),
        },
        notes=("经居委会和人民调解员调解，双方达成协议",),
        whistle=0.05,
    ),
    Topic(
        "rent_dispute",
        ("邻里纠纷", "房屋租赁纠纷"),
        HOUSEHOLD,
        {HELP: 8, PROBLEM: 6},
        {
            HELP: ("{address}租客反映房东不退押金，希望帮助协调",),
            PROBLEM: ("{address}房东与租客因提前退租发生纠纷",),
        },
        notes=("已联系房东协商，押金已退还",),
        whistle=0.05,
    ),
)
TOPIC_BY_KEY = {topic.key: topic for topic in TOPICS}

# What the visits demo writes as findings (`ningju.visits.demo`), as (topic, kind): a finding becomes a demand.
FINDINGS: dict[str, tuple[str, str]] = {
    "楼道灯损坏，晚上出行不便": ("repair", PROBLEM),
    "下水管道堵塞，反复返水": ("repair", PROBLEM),
    "有居民把电动自行车推进楼道充电": ("flying_wire", PROBLEM),
    "外墙空鼓，有坠落风险": ("facade", PROBLEM),
    "楼上楼下噪声纠纷": ("neighbour_noise", PROBLEM),
    "希望附近增加助餐点": ("meal", OPINION),
    "屋顶漏水，雨天严重": ("leak", PROBLEM),
    "车棚充电桩故障，无法充电": ("charging", PROBLEM),
    "垃圾厢房周边垃圾满溢": ("garbage_room", PROBLEM),
    "商铺占道经营": ("vending", PROBLEM),
    "楼道堆放杂物，堵塞消防通道": ("stairwell_clutter", PROBLEM),
    "消防通道被机动车占用": ("fire_lane", PROBLEM),
}

# How a demand from each source reads at the start, and how a 12345 order ends.
OPENINGS: dict[str, tuple[str, ...]] = {
    "visit": ("", "", "走访中居民反映：", "入户走访时居民提出："),
    "walk_in": ("居民来居委会反映：", "居民到居委会首问接待窗口反映：", ""),
    "online": ("居民在楼组微信群反映：", "居民通过线上平台留言：", "居民线上点对点反映："),
    "patrol": ("",),
    "hotline": ("市民来电反映：", "来电人反映：", "市民通过12345热线反映："),
}
HOTLINE_ENDINGS = ("要求相关部门尽快处理", "希望尽快解决", "请核实处理")

CONTACT_NOTES = (
    "已电话联系居民，了解具体情况",
    "已上门查看现场",
    "已与居民当面沟通",
    "已线上回复居民，约定上门时间",
)
GENERIC_NOTES = ("已协调相关方处理完毕", "已答复居民并落实处理", "问题已解决，居民认可")
GENERIC_DEPARTMENT_NOTES = ("已现场核查并完成处置", "已安排专人跟进，问题已整改到位")
GENERIC_WHISTLE_REASONS = ("居民区多次协调未果，需职能部门处置", "超出居民区职权范围，提请街道协调")
RETURN_REASONS = ("经核实不属于本部门职责范围，请重新派单", "该事项已由其他部门立案处理，退回街道")
EXTENSION_REASONS = (
    "需协调业委会、物业共同商议，申请延期",
    "需等待维修资金使用审批，申请延期",
    "涉及多户协调，现场整改需要时间，申请延期",
)
DENIAL_REASONS = ("事项不复杂，请在原时限内办结",)
CALLBACK_NOTES = {
    "satisfied": ("居民表示满意", "居民对处理结果满意，表示感谢"),
    "basically_satisfied": ("居民表示基本满意，希望持续关注", "居民认为基本解决"),
    "dissatisfied": ("居民表示问题仍未解决，要求再次处置", "居民对处理结果不满意"),
}
CLOSE_REASONS = ("多次电话联系居民未接听，无法回访", "居民表示不需要回访")
# After two unhappy callbacks the head closes it: some wishes go beyond what policy allows.
STILL_DISSATISFIED = "居民仍不满意；诉求超出政策范围，已当面解释说明，结案"
MERGE_REASONS = ("与已受理的同一诉求重复，合并办理", "同一问题重复反映，合并至先受理的诉求")

# ---------------------------------------------------------------------------------------------------------------
# The year: how many, of which kind, from where, how fast, how often things go wrong.

DEMANDS_PER_HOUSEHOLD = 2715 / 20_000  # 1300+ opinions answered and 900+ problems found and solved, plus more
MIN_PER_AREA = 12  # enough for every kind to show up in a small area (largest remainders)
KINDS: tuple[tuple[str, int], ...] = ((OPINION, 1360), (PROBLEM, 1000), (HELP, 190), (ENQUIRY, 165))
SOURCES: dict[str, tuple[tuple[str, int], ...]] = {
    OPINION: ((Source.VISIT, 42), (Source.WALK_IN, 20), (Source.ONLINE, 28), (Source.HOTLINE, 10)),
    # The article's problems are the ones cadres found themselves (主动发现): on visits and patrols.
    PROBLEM: (
        (Source.VISIT, 55),
        (Source.PATROL, 40),
        (Source.WALK_IN, 2),
        (Source.ONLINE, 1),
        (Source.HOTLINE, 2),
    ),
    HELP: ((Source.VISIT, 45), (Source.WALK_IN, 30), (Source.ONLINE, 15), (Source.HOTLINE, 10)),
    ENQUIRY: ((Source.WALK_IN, 45), (Source.ONLINE, 30), (Source.VISIT, 15), (Source.HOTLINE, 10)),
}
# How often a visit- or patrol-found demand comes from a recorded finding (while one is left): most problems do;
# few opinions, or the visits demo's one opinion-like finding (助餐点) would crowd out all other opinions.
FINDING_USE = {PROBLEM: 0.8, OPINION: 0.12}
LOW_RISE = 7  # floors: elevator retrofits (加装电梯) are for walk-up blocks
DUPLICATE_SHARE = 0.012  # reported twice (a 12345 order about a registered problem), merged by the street
HEAD_OWNS = 0.15  # the area head received it (首问) rather than a cadre
COLLEAGUE_ACTS = 0.1  # another cadre of the area takes a step (全岗通)
LATE_CONTACT = 0.03
LATE_HANDLING = 0.05
# The last month is unfinished: some demands run late, some wait at a desk, so the inboxes and the street desk
# have work and some rows are red.
RECENT_DAYS = 30
RECENT_SLOW = 0.3
RECENT_STALLED = 0.12
SECOND_DEPARTMENT = 0.3
RETURN_ORDER = 0.07
LATE_ACK = 0.04
AREA_EXTENSION = 0.03
DEPARTMENT_EXTENSION = 0.1
EXTENSION_APPROVED = 0.75
CLOSE_WITHOUT_CALLBACK = 0.03
WHISTLE_AGAIN = 0.25  # a reopened demand the area cannot settle goes back to the street
# The article's own case: 恒德里's visits found bar noise, and the departments answered the whistle (闻哨报到).
ARTICLE_BAR_AREA, ARTICLE_BAR_WHISTLE = "恒德里", 1.6
FIRST_CALLBACK: tuple[tuple[str, int], ...] = (
    (CallbackResult.SATISFIED, 80),
    (CallbackResult.BASICALLY_SATISFIED, 12),
    (CallbackResult.DISSATISFIED, 8),
)
LATER_CALLBACK: tuple[tuple[str, int], ...] = (
    (CallbackResult.SATISFIED, 50),
    (CallbackResult.BASICALLY_SATISFIED, 20),
    (CallbackResult.DISSATISFIED, 30),
)
WORK_START, WORK_END = 8 * 60 + 40, 17 * 60 + 30  # minutes after midnight
INSERT_BATCH = 2000
ANSWERED_STATES = frozenset({State.RESOLVED, State.DEPARTMENT_RESOLVED, State.CALLBACK, State.CLOSED})

Progress = Callable[[str], None]


@dataclass(slots=True)
class DemandDemoResult:
    """What `demo_demands` wrote, for the command's summary."""

    start: date | None = None
    end: date | None = None
    demands: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    sources: Counter[str] = field(default_factory=Counter)
    opinions_answered: int = 0
    problems_solved: int = 0
    problems_found: int = 0  # of those solved, found by visits and patrols (主动发现)
    from_findings: int = 0
    whistles: int = 0
    dispatches: int = 0
    returned: int = 0
    extensions: Counter[str] = field(default_factory=Counter)
    callbacks: Counter[str] = field(default_factory=Counter)
    merged: int = 0
    open: int = 0
    yellow: int = 0
    red: int = 0
    contacted_on_time: int = 0
    contact_due: int = 0
    seconds: float = 0.0

    @property
    def response_rate(self) -> float:
        return 100 * self.contacted_on_time / self.contact_due if self.contact_due else 0.0


# ---------------------------------------------------------------------------------------------------------------
# The street as the generator sees it: plain values read in a handful of queries.


@dataclass(frozen=True, slots=True)
class _Person:
    pk: int
    role: str
    area_id: int | None
    department_id: int | None


@dataclass(frozen=True, slots=True)
class _Building:
    pk: int
    compound_id: int
    address: str
    road: str
    floors: int | None


@dataclass(frozen=True, slots=True)
class _Site:
    pk: int
    compound_id: int | None
    type_name: str
    name: str


@dataclass(frozen=True, slots=True)
class _Seen:
    """A visit (or patrol) a demand can come from, and its finding if it had one."""

    visit_id: uuid.UUID
    cadre_id: int
    at: datetime
    household_id: int | None
    site_id: int | None
    finding_id: int | None = None
    text: str = ""


@dataclass(slots=True)
class _Area:
    pk: int
    code: str
    name: str
    households: list[int] = field(default_factory=list)
    compounds: list[int] = field(default_factory=list)
    sites: dict[str, list[_Site]] = field(default_factory=dict)  # by type name
    roads: list[str] = field(default_factory=list)
    cadres: list[_Person] = field(default_factory=list)
    head: _Person | None = None
    visits: list[_Seen] = field(default_factory=list)  # household visits without a finding
    patrols: dict[str, list[_Seen]] = field(default_factory=dict)  # patrols without a finding, by site type
    findings: list[_Seen] = field(default_factory=list)


@dataclass(slots=True)
class _Street:
    street_id: int
    areas: list[_Area]
    buildings: dict[int, _Building]
    households: dict[int, tuple[int, str]]  # pk → (building, room)
    compounds: dict[int, tuple[str, str]]  # pk → (name, property company)
    sites: dict[int, _Site]
    residents: dict[int, list[int]]  # household → residents
    admin: _Person | None
    liaisons: dict[int, _Person]  # department → its liaison
    departments: dict[str, int]  # name → pk, only those with a liaison
    categories: dict[tuple[str, str | None], int]  # (name, parent name) → pk
    usual: dict[tuple[str, str | None], str]  # category → usual department's name
    limits: dict[DeadlineStage, int]
    taken_numbers: set[str]


def _load(street: Street) -> _Street:
    areas = {
        a.pk: _Area(a.pk, a.code, a.name) for a in ResidentialArea.objects.filter(street=street).order_by("code")
    }
    buildings: dict[int, _Building] = {}
    compounds: dict[int, tuple[str, str]] = {}
    roads: dict[int, set[str]] = defaultdict(set)
    compound_area: dict[int, int] = {}
    for pk, area_id, name, company in (
        Compound.objects.filter(area__street=street)
        .order_by("pk")
        .values_list("pk", "area_id", "name", "property_company")
    ):
        compounds[pk] = (name, company)
        compound_area[pk] = area_id
        areas[area_id].compounds.append(pk)
    for pk, compound_id, road, lane, number, floors in (
        Building.objects.filter(compound__area__street=street)
        .order_by("pk")
        .values_list("pk", "compound_id", "road", "lane", "number", "floors")
    ):
        buildings[pk] = _Building(pk, compound_id, format_address(road, lane, number), road, floors)
        roads[compound_area[compound_id]].add(road)
    households: dict[int, tuple[int, str]] = {}
    for pk, building_id, room in (
        Household.objects.filter(building__compound__area__street=street)
        .order_by("pk")
        .values_list("pk", "building_id", "room")
    ):
        households[pk] = (building_id, room)
        areas[compound_area[buildings[building_id].compound_id]].households.append(pk)
    residents: dict[int, list[int]] = defaultdict(list)
    for pk, household_id in (
        Resident.objects.filter(household__building__compound__area__street=street, active=True)
        .order_by("pk")
        .values_list("pk", "household_id")
    ):
        residents[household_id].append(pk)
    sites: dict[int, _Site] = {}
    for pk, area_id, compound_id, type_name, name in (
        PatrolSite.objects.filter(area__street=street, active=True)
        .order_by("pk")
        .values_list("pk", "area_id", "compound_id", "site_type__name", "name")
    ):
        site = _Site(pk, compound_id, type_name, name)
        sites[pk] = site
        areas[area_id].sites.setdefault(type_name, []).append(site)
    for area in areas.values():
        area.roads = sorted(roads[area.pk])

    admin: _Person | None = None
    liaisons: dict[int, _Person] = {}
    for pk, role, area_id, department_id in (
        User.objects.filter(
            Q(street=street) | Q(area__street=street) | Q(department__street=street), is_active=True
        )
        .order_by("username")
        .values_list("pk", "role", "area_id", "department_id")
    ):
        person = _Person(pk, role, area_id, department_id)
        if role == Role.STREET_ADMIN and admin is None:
            admin = person
        elif role == Role.CADRE and area_id in areas:
            areas[area_id].cadres.append(person)
        elif role == Role.AREA_HEAD and area_id in areas and areas[area_id].head is None:
            areas[area_id].head = person
        elif role == Role.LIAISON and department_id is not None:
            liaisons.setdefault(department_id, person)
    departments = {
        name: pk
        for pk, name in Department.objects.filter(street=street, active=True)
        .order_by("pk")
        .values_list("pk", "name")
        if pk in liaisons
    }
    _load_visits(street, areas, sites)
    categories: dict[tuple[str, str | None], int] = {
        (name, parent): pk
        for pk, name, parent in Category.objects.filter(street=street, active=True).values_list(
            "pk", "name", "parent__name"
        )
    }
    taken = set(
        Demand.objects.filter(source=Source.HOTLINE).exclude(external_id="").values_list("external_id", flat=True)
    )
    return _Street(
        street_id=street.pk,
        areas=list(areas.values()),
        buildings=buildings,
        households=households,
        compounds=compounds,
        sites=sites,
        residents=residents,
        admin=admin,
        liaisons=liaisons,
        departments=departments,
        categories=categories,
        usual=usual_departments(),
        limits=stage_limits(street.pk),
        taken_numbers=taken,
    )


def _load_visits(street: Street, areas: dict[int, _Area], sites: dict[int, _Site]) -> None:
    """The year's visits and findings, as far as demands can come from them. A visit with a finding is offered
    only through its finding, so no demand points at a visit whose finding became another demand."""
    with_finding: set[uuid.UUID] = set()
    for pk, visit_id, text, cadre_id, at, area_id, household_id, site_id in (
        Finding.objects.filter(visit__area__street=street)
        .order_by("visit__visited_at", "visit_id", "pk")
        .values_list(
            "pk",
            "visit_id",
            "text",
            "visit__cadre_id",
            "visit__visited_at",
            "visit__area_id",
            "visit__household_id",
            "visit__patrol_site_id",
        )
    ):
        with_finding.add(visit_id)
        if text in FINDINGS and area_id in areas:
            areas[area_id].findings.append(_Seen(visit_id, cadre_id, at, household_id, site_id, pk, text))
    for visit_id, cadre_id, at, area_id, household_id, site_id in (
        Visit.objects.filter(area__street=street)
        .order_by("visited_at", "id")
        .values_list("id", "cadre_id", "visited_at", "area_id", "household_id", "patrol_site_id")
    ):
        if visit_id in with_finding or area_id not in areas:
            continue
        seen = _Seen(visit_id, cadre_id, at, household_id, site_id)
        if household_id is not None:
            areas[area_id].visits.append(seen)
        elif site_id in sites:
            areas[area_id].patrols.setdefault(sites[site_id].type_name, []).append(seen)


# ---------------------------------------------------------------------------------------------------------------
# One demand, planned and then lived step by step through the workflow.


@dataclass(slots=True)
class _DispatchRow:
    department_id: int
    round: int
    state: str
    dispatched_at: datetime
    acknowledged_at: datetime | None = None
    resolved_at: datetime | None = None
    returned_at: datetime | None = None
    returned_reason: str = ""


@dataclass(slots=True)
class _ExtensionRow:
    requested_by: int
    department_id: int | None
    requested_at: datetime
    days: int
    reason: str
    status: str = ExtensionStatus.PENDING
    decided_by: int | None = None
    decided_at: datetime | None = None
    decision_reason: str = ""


@dataclass(frozen=True, slots=True)
class _Event:
    actor_id: int
    at: datetime
    action: str
    from_state: str
    to_state: str
    reason: str
    note: str
    params: dict[str, Any]


@dataclass(slots=True)
class _Draft:
    """A demand before it is written: where, what, whose, and (once lived) its history."""

    index: int
    area: _Area
    kind: str
    source: str
    topic: Topic
    text: str
    owner: _Person
    created_at: datetime
    household_id: int | None = None
    building_id: int | None = None
    compound_id: int | None = None
    site_id: int | None = None
    reporter_id: int | None = None
    visit_id: uuid.UUID | None = None
    finding_id: int | None = None
    external_id: str = ""
    words: dict[str, Any] = field(default_factory=dict)  # what the text was filled with, for a duplicate
    duplicate_of: "_Draft | None" = None
    state: str = State.ACCEPTED
    version: int = 1
    whistle_round: int = 0
    due_at: datetime | None = None
    merged_into: "_Draft | None" = None
    events: list[_Event] = field(default_factory=list)
    dispatches: list[_DispatchRow] = field(default_factory=list)
    extensions: list[_ExtensionRow] = field(default_factory=list)


class _Stop(Exception):
    """The next step would happen today or later: the demand stays where it is now."""


class _Clock:
    """Working days and hours, with the street's limits, cached: the year asks the same days thousands of times."""

    def __init__(self, limits: dict[DeadlineStage, int]) -> None:
        self.limits = limits
        self._workday: dict[date, bool] = {}
        self._added: dict[tuple[date, int], date] = {}

    def is_workday(self, day: date) -> bool:
        if day not in self._workday:
            self._workday[day] = is_workday(day)
        return self._workday[day]

    def add(self, day: date, count: int) -> date:
        key = (day, count)
        if key not in self._added:
            self._added[key] = add_workdays(day, count)
        return self._added[key]

    def deadline(self, at: datetime, stage: DeadlineStage) -> datetime:
        """As `services.deadline_from`: the end of the working day `limit` working days after `at`."""
        day = self.add(at.astimezone(SHANGHAI).date(), self.limits[stage])
        return datetime.combine(day, clock_time.max, tzinfo=SHANGHAI)


def _at(day: date, rng: random.Random, start: int = WORK_START, end: int = WORK_END) -> datetime:
    minutes = rng.randint(start, end)
    return datetime(day.year, day.month, day.day, minutes // 60, minutes % 60, rng.randint(0, 59), tzinfo=SHANGHAI)


def _weighted(rng: random.Random, options: Sequence[tuple[Any, int]]) -> Any:
    """One value drawn with its weight (one draw from `rng`)."""
    pick = rng.random() * sum(weight for _value, weight in options)
    for value, weight in options:
        pick -= weight
        if pick < 0:
            return value
    return options[-1][0]


class _Life:
    """Lives one demand's steps: each through `workflow.transition` with the actor's real ties to the demand, and
    stored as `services.demand_act` would store it (event, dispatches, extensions, deadline, version)."""

    def __init__(
        self, draft: _Draft, world: _Street, clock: _Clock, rng: random.Random, horizon: datetime
    ) -> None:
        self.d = draft
        self.world = world
        self.clock = clock
        self.rng = rng
        self.horizon = horizon
        self.round: dict[int, _DispatchRow] = {}
        self.pending: _ExtensionRow | None = None
        self.last = draft.created_at
        recent = (horizon - draft.created_at).days < RECENT_DAYS
        self.slow = recent and rng.random() < RECENT_SLOW
        # A stalled demand stops after this many steps, wherever that leaves it (None: it runs its course).
        self.stall_after = rng.randint(0, 6) if recent and rng.random() < RECENT_STALLED else None

    # Times ---------------------------------------------------------------------------------------------------

    def soon(self, at: datetime, low: int, high: int) -> datetime:
        """`low`–`high` minutes later, or early on the next working day when that falls outside working hours."""
        moment = (at + timedelta(minutes=self.rng.randint(low, high))).astimezone(SHANGHAI)
        day, minutes = moment.date(), moment.hour * 60 + moment.minute
        if self.clock.is_workday(day) and WORK_START <= minutes <= WORK_END + 20:
            return moment
        if not (self.clock.is_workday(day) and minutes < WORK_START):
            day = self.clock.add(day, 1)
        return _at(day, self.rng, WORK_START, WORK_START + 150)

    def later(self, at: datetime, workdays: int) -> datetime:
        """Some time on the `workdays`-th working day after `at` (0: later the same day)."""
        if workdays <= 0:
            return self.soon(at, 20, 240)
        return _at(self.clock.add(at.astimezone(SHANGHAI).date(), workdays), self.rng)

    def late(self, share: float) -> bool:
        return self.rng.random() < (max(share, 0.35) if self.slow else share)

    # People ---------------------------------------------------------------------------------------------------

    def handler(self) -> _Person:
        """Who takes an area step: the owner, now and then a colleague of the area (全岗通)."""
        area = self.d.area
        if area.cadres and self.rng.random() < COLLEAGUE_ACTS:
            return self.rng.choice(area.cadres)
        return self.d.owner

    # Steps ------------------------------------------------------------------------------------------------------

    def step(
        self,
        action: str,
        actor: _Person,
        at: datetime,
        *,
        reason: str = "",
        note: str = "",
        departments: Sequence[int] = (),
        callback_result: str | None = None,
        target: int | None = None,
        days: int | None = None,
    ) -> datetime:
        """Take one step at `at` (a minute after the last at the earliest); raise `_Stop` at the horizon."""
        at = max(at, self.last + timedelta(minutes=1))
        if at >= self.horizon or len(self.d.events) == self.stall_after:
            raise _Stop
        d = self.d
        in_area = actor.role in AREA_ROLES and actor.area_id == d.area.pk
        liaison = actor.role == Role.LIAISON
        outcome = workflow.transition(
            d.state,
            action,
            actor_role=actor.role,
            is_owner=actor.pk == d.owner.pk,
            actor_in_area=in_area,
            actor_department=actor.department_id if liaison else None,
            dispatches={department: row.state for department, row in self.round.items()},
            extension_pending=self.pending is not None,
            reason=reason,
            departments=departments,
            callback_result=callback_result,
            target=target,
            days=days,
            note=note,
        )
        params: dict[str, Any] = {}
        if outcome.action == Action.WHISTLE:
            d.whistle_round += 1
            self.round = {}
        elif outcome.departments:
            for department_id in outcome.departments:
                row = self.round.get(department_id)
                if row is None:
                    row = _DispatchRow(department_id, d.whistle_round, DispatchState.DISPATCHED, at)
                    self.round[department_id] = row
                    d.dispatches.append(row)
                else:  # a department that returned its order gets it again
                    row.state, row.dispatched_at = DispatchState.DISPATCHED, at
                    row.acknowledged_at = row.resolved_at = row.returned_at = None
                    row.returned_reason = ""
            params["departments"] = list(outcome.departments)
        elif liaison and actor.department_id in self.round and actor.department_id in outcome.dispatches:
            row = self.round[actor.department_id]
            new_state = outcome.dispatches[actor.department_id]
            if new_state != row.state:
                row.state = new_state
                if new_state == DispatchState.ACKNOWLEDGED:
                    row.acknowledged_at = at
                elif new_state == DispatchState.RESOLVED:
                    row.resolved_at = at
                elif new_state == DispatchState.RETURNED:
                    row.returned_at, row.returned_reason = at, outcome.reason
            params["department"] = actor.department_id
        if outcome.callback_result is not None:
            params["callback_result"] = outcome.callback_result.value
        if outcome.target is not None:
            params["target"] = outcome.target  # the target draft's index until it is written
            d.merged_into = d.duplicate_of
        if outcome.action == Action.REQUEST_EXTENSION:
            assert outcome.days is not None
            self.pending = _ExtensionRow(
                actor.pk, actor.department_id if liaison else None, at, outcome.days, outcome.reason
            )
            d.extensions.append(self.pending)
            params["days"] = outcome.days
        elif outcome.action in (Action.APPROVE_EXTENSION, Action.DENY_EXTENSION):
            assert self.pending is not None
            approved = outcome.action == Action.APPROVE_EXTENSION
            self.pending.status = ExtensionStatus.APPROVED if approved else ExtensionStatus.DENIED
            self.pending.decided_by, self.pending.decided_at = actor.pk, at
            self.pending.decision_reason = outcome.reason
            params["days"] = self.pending.days
            if approved and d.due_at is not None:
                due_day = self.clock.add(d.due_at.astimezone(SHANGHAI).date(), self.pending.days)
                d.due_at = datetime.combine(due_day, clock_time.max, tzinfo=SHANGHAI)
            self.pending = None
        old_stage, new_stage = self.stage(outcome.from_state), self.stage(outcome.to_state)
        if new_stage is None:
            d.due_at = None
        elif new_stage != old_stage or outcome.departments:
            d.due_at = self.clock.deadline(at, new_stage)
        d.state = outcome.to_state
        d.version += 1
        d.events.append(
            _Event(
                actor.pk, at, outcome.action, outcome.from_state, outcome.to_state, outcome.reason, note, params
            )
        )
        self.last = at
        return at

    def stage(self, state: str) -> DeadlineStage | None:
        stage = workflow.deadline_stage(state)
        if stage == DeadlineStage.HANDLING and self.d.kind == Kind.ENQUIRY:
            return DeadlineStage.CONSULTATION
        return stage

    # The journey ------------------------------------------------------------------------------------------------

    def live(self) -> None:
        d = self.d
        d.due_at = self.clock.deadline(d.created_at, DeadlineStage.FIRST_CONTACT)
        try:
            if d.duplicate_of is not None:
                self.merge()
                return
            at = self.contact()
            at = self.step(Action.START_HANDLING, self.handler(), self.soon(at, 5, 120))
            head, admin = d.area.head, self.world.admin
            article_case = d.area.name == ARTICLE_BAR_AREA and d.topic.key == "bar_noise"
            whistle = d.topic.whistle * (ARTICLE_BAR_WHISTLE if article_case else 1)
            if head is not None and admin is not None and self.world.departments and self.rng.random() < whistle:
                at = self.later(at, self.rng.randint(1, 3))
                at = self.whistle(head, admin, at)
            else:
                at = self.resolve(at)
            self.callbacks(at)
        except _Stop:
            pass

    def contact(self) -> datetime:
        created = self.d.created_at
        if self.late(LATE_CONTACT):
            at = self.later(created, self.rng.randint(2, 4))
        elif self.rng.random() < 0.75:
            at = self.soon(created, 10, 240)
        else:
            at = self.later(created, 1)
        return self.step(Action.CONTACT, self.handler(), at, note=self.rng.choice(CONTACT_NOTES))

    def handling_days(self, limit: int) -> int:
        if self.late(LATE_HANDLING):
            return limit + self.rng.randint(1, 4)
        return min(int(self.rng.expovariate(1 / 1.6)), limit)

    def resolve(self, at: datetime) -> datetime:
        """The area handles it (perhaps after an extension) and resolves it."""
        d, admin = self.d, self.world.admin
        enquiry = d.kind == Kind.ENQUIRY
        limit = self.clock.limits[DeadlineStage.CONSULTATION if enquiry else DeadlineStage.HANDLING]
        if not enquiry and admin is not None and self.rng.random() < AREA_EXTENSION:
            at = self.step(
                Action.REQUEST_EXTENSION,
                self.handler(),
                self.later(at, self.rng.randint(1, 3)),
                reason=self.rng.choice(EXTENSION_REASONS),
                days=self.rng.choice((5, 10)),
            )
            at, approved = self.decide_extension(admin, at)
            days = self.rng.randint(1, 5) if approved else self.rng.randint(1, 2)
            at = self.later(at, days)
        else:
            at = self.later(at, self.handling_days(limit))
        return self.step(Action.RESOLVE, self.handler(), at, note=self.note())

    def decide_extension(self, admin: _Person, at: datetime) -> tuple[datetime, bool]:
        when = self.soon(at, 60, 600) if self.rng.random() < 0.6 else self.later(at, 1)
        if self.rng.random() < EXTENSION_APPROVED:
            return self.step(Action.APPROVE_EXTENSION, admin, when), True
        return self.step(Action.DENY_EXTENSION, admin, when, reason=self.rng.choice(DENIAL_REASONS)), False

    def note(self) -> str:
        topic, area = self.d.topic, self.d.area
        notes = topic.area_notes.get(area.name) or topic.notes or GENERIC_NOTES
        return self.rng.choice(notes)

    def whistle(self, head: _Person, admin: _Person, at: datetime) -> datetime:
        """The area head whistles; the street accepts and dispatches; departments report and act."""
        reasons = self.d.topic.whistle_reasons or GENERIC_WHISTLE_REASONS
        at = self.step(Action.WHISTLE, head, at, reason=self.rng.choice(reasons))
        at = self.step(Action.STREET_ACCEPT, admin, self.soon(at, 20, 300))
        chosen = self.departments()
        at = self.step(Action.DISPATCH, admin, self.soon(at, 5, 90), departments=chosen)
        at = self.departments_work(admin, at, chosen, may_return=True)
        if self.d.state == State.STREET_ACCEPTED:  # every department returned its order: dispatch again
            # The street picks another department that fits the topic, else any other one.
            names = self.world.departments
            fitting = [names[name] for name in self.d.topic.also if name in names and names[name] not in chosen]
            others = fitting or [pk for pk in names.values() if pk not in chosen]
            again = [self.rng.choice(others or chosen)]
            at = self.step(Action.REDISPATCH, admin, self.soon(at, 30, 480), departments=again)
            at = self.departments_work(admin, at, again, may_return=False)
        return at

    def departments(self) -> list[int]:
        """The category's usual department, sometimes one more the topic names (only those with a liaison)."""
        world, topic = self.world, self.d.topic
        usual = world.departments.get(world.usual.get(_category_key(topic), ""))
        chosen = [usual] if usual is not None else []
        extra = [world.departments[name] for name in topic.also if name in world.departments]
        extra = [pk for pk in extra if pk not in chosen]
        if extra and (not chosen or self.rng.random() < SECOND_DEPARTMENT):
            chosen.append(self.rng.choice(extra))
        if not chosen:
            chosen = [self.rng.choice(sorted(world.departments.values()))]
        return chosen

    def departments_work(
        self, admin: _Person, dispatched: datetime, chosen: list[int], *, may_return: bool
    ) -> datetime:
        """Each department's own steps, in time order across departments."""
        rng, limits = self.rng, self.clock.limits
        plan: list[tuple[datetime, int, str, _Person, dict[str, Any]]] = []
        extension_by = rng.choice(chosen) if admin is not None and rng.random() < DEPARTMENT_EXTENSION else None
        for department_id in chosen:
            liaison = self.world.liaisons[department_id]
            steps: list[tuple[datetime, str, _Person, dict[str, Any]]] = []
            if self.late(LATE_ACK):
                ack = self.later(dispatched, rng.randint(2, 3))
            elif rng.random() < 0.7:
                ack = self.soon(dispatched, 15, 300)
            else:
                ack = self.later(dispatched, 1)
            if may_return and rng.random() < RETURN_ORDER:
                steps.append((ack, Action.RETURN_ORDER, liaison, {"reason": rng.choice(RETURN_REASONS)}))
            else:
                steps.append((ack, Action.ACKNOWLEDGE, liaison, {}))
                start = self.soon(ack, 10, 180)
                steps.append((start, Action.DEPARTMENT_START, liaison, {}))
                if department_id == extension_by:
                    asked = self.later(start, rng.randint(1, 2))
                    days = rng.choice((5, 10))
                    reason = rng.choice(EXTENSION_REASONS)
                    steps.append((asked, Action.REQUEST_EXTENSION, liaison, {"reason": reason, "days": days}))
                    decided = self.soon(asked, 60, 600) if rng.random() < 0.6 else self.later(asked, 1)
                    if rng.random() < EXTENSION_APPROVED:
                        steps.append((decided, Action.APPROVE_EXTENSION, admin, {}))
                        done = self.later(decided, rng.randint(1, days))
                    else:
                        steps.append(
                            (decided, Action.DENY_EXTENSION, admin, {"reason": rng.choice(DENIAL_REASONS)})
                        )
                        done = self.later(decided, rng.randint(1, 2))
                else:
                    done = self.later(start, self.handling_days(limits[DeadlineStage.DEPARTMENT_HANDLING]))
                notes = self.d.topic.department_notes or GENERIC_DEPARTMENT_NOTES
                steps.append((done, Action.DEPARTMENT_RESOLVE, liaison, {"note": rng.choice(notes)}))
            # Each department's own steps keep their order even where times tie across departments.
            for order, (when, action, actor, options) in enumerate(steps):
                plan.append((when, department_id * 100 + order, action, actor, options))
        plan.sort(key=lambda item: (item[0], item[1] % 100, item[1]))
        at = dispatched
        for when, _order, action, actor, options in plan:
            at = self.step(action, actor, when, **options)
        return at

    def callbacks(self, at: datetime) -> None:
        """Callback until the resident is content (满意/基本满意), reopening after 不满意; or the head closes it."""
        d, rng = self.d, self.rng
        for attempt in range(3):
            at = self.step(Action.REQUEST_CALLBACK, self.handler(), self.soon(at, 30, 600))
            head = d.area.head
            if head is not None and (attempt == 2 or rng.random() < CLOSE_WITHOUT_CALLBACK):
                reason = STILL_DISSATISFIED if attempt == 2 else rng.choice(CLOSE_REASONS)
                self.step(Action.CLOSE, head, self.later(at, rng.randint(2, 4)), reason=reason)
                return
            result = _weighted(rng, FIRST_CALLBACK if attempt == 0 else LATER_CALLBACK)
            when = self.soon(at, 60, 480) if rng.random() < 0.3 else self.later(at, rng.randint(1, 3))
            at = self.step(
                Action.CALLBACK,
                self.handler(),
                when,
                callback_result=result,
                note=rng.choice(CALLBACK_NOTES[result]),
            )
            if result != CallbackResult.DISSATISFIED:
                return
            # Reopened (再次处置): the area tries again, or sends it back up the ladder.
            admin = self.world.admin
            if head is not None and admin is not None and self.world.departments and rng.random() < WHISTLE_AGAIN:
                at = self.whistle(head, admin, self.later(at, rng.randint(1, 2)))
            else:
                days = self.clock.limits[DeadlineStage.REOPENED]
                late = self.late(LATE_HANDLING)
                at = self.later(at, days + rng.randint(1, 3) if late else rng.randint(1, days))
                at = self.step(Action.RESOLVE, self.handler(), at, note=self.note())

    def merge(self) -> None:
        """A duplicate: perhaps contacted, then merged into the demand it repeats by the street."""
        admin, target = self.world.admin, self.d.duplicate_of
        assert admin is not None and target is not None
        at = self.d.created_at
        if self.rng.random() < 0.6:
            at = self.contact()
        self.step(
            Action.MERGE,
            admin,
            self.later(at, self.rng.randint(1, 3)),
            reason=self.rng.choice(MERGE_REASONS),
            target=target.index,
        )


# ---------------------------------------------------------------------------------------------------------------
# Drafting: what each demand says, where and when.

# Where a topic's patrol site is missing in an area, its text still names a plausible place.
SITE_FALLBACKS = {
    SITE_GARBAGE: "{compound}垃圾厢房",
    SITE_SHOPS: "{road}沿街商铺",
    SITE_BICYCLES: "{compound}非机动车棚",
    SITE_STAIRWELL: "{building}楼道",
}


def _category_key(topic: Topic) -> tuple[str, str | None]:
    """(name, parent name or None), as categories and `defaults.usual_departments()` are keyed."""
    parent, child = topic.category
    return (child, parent) if child else (parent, None)


class _Drafter:
    """Drafts one area's demands: kind and source in the article's proportions, then topic, place and wording."""

    def __init__(
        self,
        world: _Street,
        area: _Area,
        rng: random.Random,
        clock: _Clock,
        days: list[date],
        numbers: Iterator[int],
    ) -> None:
        self.world = world
        self.area = area
        self.rng = rng
        self.clock = clock
        self.days = days
        self.numbers = numbers
        self.horizon = datetime.combine(days[-1] + timedelta(days=1), clock_time.min, tzinfo=SHANGHAI)
        self.findings = list(area.findings)
        rng.shuffle(self.findings)
        self.bars = [bar for bar in BARS if bar[0] in area.roads] or list(BARS)
        low = {pk for pk, b in world.buildings.items() if b.floors is None or b.floors <= LOW_RISE}
        self.low_rise = [pk for pk in area.households if world.households[pk][0] in low]
        low_rise = set(self.low_rise)
        self.low_rise_visits = [seen for seen in area.visits if seen.household_id in low_rise]

    def draft_all(self, count: int) -> list[_Draft]:
        drafts = [self.draft(kind) for kind in self.kinds(count)]
        duplicates = []
        if self.world.admin is not None:
            for original in drafts:
                if self.rng.random() < DUPLICATE_SHARE:
                    duplicate = self.duplicate(original)
                    if duplicate is not None:
                        duplicates.append(duplicate)
        return drafts + duplicates

    def owner(self) -> _Person:
        area = self.area
        if area.head is not None and (not area.cadres or self.rng.random() < HEAD_OWNS):
            return area.head
        return self.rng.choice(area.cadres)

    def kinds(self, count: int) -> list[str]:
        """`count` kinds in the article's proportions (largest remainders), shuffled: even a small area's mix is
        right, and the street's adds up to its 1300+ and 900+."""
        total = sum(weight for _kind, weight in KINDS)
        shares = [(kind, count * weight / total) for kind, weight in KINDS]
        counts = {kind: int(share) for kind, share in shares}
        by_remainder = sorted(shares, key=lambda item: item[1] - int(item[1]), reverse=True)
        for kind, _share in by_remainder[: count - sum(counts.values())]:
            counts[kind] += 1
        kinds = [kind for kind, _weight in KINDS for _n in range(counts[kind])]
        self.rng.shuffle(kinds)
        return kinds

    def draft(self, kind: str) -> _Draft:
        rng, area = self.rng, self.area
        source = _weighted(rng, SOURCES[kind])
        seen: _Seen | None = None
        topic: Topic | None = None
        if source in (Source.VISIT, Source.PATROL) and rng.random() < FINDING_USE.get(kind, 0.0):
            seen = self.take_finding(kind, source)
            if seen is not None:
                topic = TOPIC_BY_KEY[FINDINGS[seen.text][0]]
        if topic is None:
            topic = self.topic(kind, source)
            if topic is None:  # no patrol site for any fitting topic: a resident told a cadre instead
                source = Source.WALK_IN
                topic = self.topic(kind, source)
            assert topic is not None  # every kind has topics from any source but patrol
            visits = self.low_rise_visits if topic.key == "elevator" else area.visits
            if source == Source.VISIT and visits:
                seen = rng.choice(visits)
            elif source == Source.PATROL and area.patrols.get(topic.site_type):
                seen = rng.choice(area.patrols[topic.site_type])
        owner = self.owner()
        if seen is not None:
            # Whoever visited received it (首问负责).
            people = [*area.cadres, *([area.head] if area.head else [])]
            owner = next((person for person in people if person.pk == seen.cadre_id), owner)
            created = seen.at + timedelta(minutes=rng.randint(5, 50))
        else:
            created = self.received(source, topic)
        d = _Draft(next(self.numbers), area, kind, source, topic, "", owner, created)
        if seen is not None:
            d.visit_id, d.finding_id = seen.visit_id, seen.finding_id
        self.place(d, seen)
        d.text = self.text(d, seen)
        if source == Source.HOTLINE:
            d.external_id = self.order_number(created)
        return d

    def take_finding(self, kind: str, source: str) -> _Seen | None:
        """An unused finding of this kind from a household visit (走访) or a patrol (巡查)."""
        for position, seen in enumerate(self.findings):
            patrol = seen.site_id is not None
            topic_key, finding_kind = FINDINGS[seen.text]
            if finding_kind == kind and patrol == (source == Source.PATROL):
                site = self.world.sites.get(seen.site_id) if seen.site_id is not None else None
                # The visits demo draws a patrol's finding whatever the site: only those that fit the place count.
                if patrol and (site is None or site.type_name != TOPIC_BY_KEY[topic_key].site_type):
                    continue
                del self.findings[position]
                return seen
        return None

    def topic(self, kind: str, source: str) -> Topic | None:
        sites = self.area.sites
        options = [
            (topic, topic.kinds[kind])
            for topic in TOPICS
            if kind in topic.kinds
            and (source != Source.PATROL or (topic.site_type and sites.get(topic.site_type)))
        ]
        return _weighted(self.rng, options) if options else None

    def received(self, source: str, topic: Topic) -> datetime:
        """When a demand that no visit brought in arrived: working hours mostly; online any day; bars in summer."""
        rng = self.rng
        day = rng.choice(self.days)
        if topic.key == "bar_noise" and day.month not in range(5, 11) and rng.random() < 0.5:
            day = rng.choice(self.days)  # complaints about late nights cluster in the warm months
        if source == Source.ONLINE and rng.random() < 0.3:
            first, last = self.days[0], self.days[-1]
            day = first + timedelta(days=rng.randint(0, (last - first).days))
            return _at(day, rng, 7 * 60, 22 * 60 + 30)
        if source == Source.HOTLINE:
            return _at(day, rng, 9 * 60, 11 * 60 + 30)  # orders arrive in the morning batch
        return _at(day, rng)

    def order_number(self, created: datetime) -> str:
        """A 12345 order number like 2026031512345678: the day and eight digits, unique."""
        while True:
            number = f"{created.astimezone(SHANGHAI):%Y%m%d}{self.rng.randint(10_000_000, 99_999_999)}"
            if number not in self.world.taken_numbers:
                self.world.taken_numbers.add(number)
                return number

    def place(self, d: _Draft, seen: _Seen | None) -> None:
        """Where the demand is: the visited household or patrolled site, else what the topic points at; a
        household also gives its building and compound, and perhaps the resident who raised it."""
        world, area, rng, topic = self.world, self.area, self.rng, d.topic
        site = world.sites[seen.site_id] if seen is not None and seen.site_id is not None else None
        household_id = seen.household_id if seen is not None else None
        if site is None and topic.place == SITE and area.sites.get(topic.site_type):
            site = rng.choice(area.sites[topic.site_type])
        households = (self.low_rise or area.households) if topic.key == "elevator" else area.households
        if household_id is None and seen is None and households:
            wanted = {HOUSEHOLD: 1.0, BUILDING: 0.5, SITE: 0.4}.get(topic.place, 0.0)
            if rng.random() < wanted:
                household_id = rng.choice(households)
        if site is not None:
            d.site_id, d.compound_id = site.pk, site.compound_id
        if household_id is not None:
            d.household_id = household_id
            d.building_id = world.households[household_id][0]
            residents = world.residents.get(household_id, [])
            if residents and d.source != Source.PATROL and rng.random() < 0.65:
                d.reporter_id = rng.choice(residents)
        elif topic.place in (BUILDING, HOUSEHOLD) and site is None and households:
            d.building_id = world.households[rng.choice(households)][0]
        if d.building_id is not None and d.compound_id is None:
            d.compound_id = world.buildings[d.building_id].compound_id
        if d.compound_id is None and site is None and area.compounds:
            d.compound_id = rng.choice(area.compounds)
        d.words = self.words(d, site)

    def words(self, d: _Draft, site: _Site | None) -> dict[str, Any]:
        world, rng = self.world, self.rng
        building = world.buildings.get(d.building_id) if d.building_id else None
        compound, company = world.compounds.get(d.compound_id, ("", "")) if d.compound_id else ("", "")
        bar_road, bar_no, bar = rng.choice(self.bars)
        road = building.road if building else (rng.choice(self.area.roads) if self.area.roads else bar_road)
        where = building.address if building else (compound or road)
        words = {
            "address": f"{where}{world.households[d.household_id][1]}室" if d.household_id and building else where,
            "building": where,
            "compound": compound or road,
            "road": road,
            "property": company or "物业公司",
            "floors": building.floors if building and building.floors else 6,
            "age": rng.randint(78, 96),
            "hour": rng.choice((1, 2, 3)),
            "bar": bar,
            "bar_road": bar_road,
            "bar_no": bar_no,
        }
        fallback = SITE_FALLBACKS.get(d.topic.site_type, "{compound}")
        words["site"] = site.name if site else fallback.format_map(words)
        return words

    def text(self, d: _Draft, seen: _Seen | None) -> str:
        rng, topic = self.rng, d.topic
        opening = rng.choice(OPENINGS[d.source])
        if seen is not None and seen.finding_id is not None:
            opening = ""  # the finding says how it was found
            if seen.site_id is not None:
                body = f"巡查{d.words['site']}时发现：{seen.text}"
            elif rng.random() < 0.5:
                body = f"走访{d.words['address']}时发现：{seen.text}"
            else:
                body = f"{d.words['address']}居民反映：{seen.text}"
        else:
            templates = topic.texts[d.kind]
            special = topic.area_texts.get(self.area.name, {}).get(d.kind)
            if special and rng.random() < 0.6:
                templates = special
            elif d.source == Source.PATROL and topic.patrol_texts:
                templates = topic.patrol_texts
            body = rng.choice(templates).format_map(d.words)
        if topic.details and rng.random() < 0.55:
            body += "，" + rng.choice(topic.details)
        if d.source == Source.HOTLINE:
            return f"{opening}{body}，{rng.choice(HOTLINE_ENDINGS)}。"
        return f"{opening}{body}。"

    def duplicate(self, original: _Draft) -> _Draft | None:
        """The same problem told again a few days later, by 12345 or online, about the same place (None when
        that would be today or later)."""
        rng = self.rng
        source = Source.HOTLINE if rng.random() < 0.6 else Source.ONLINE
        day = self.clock.add(
            original.created_at.astimezone(SHANGHAI).date() + timedelta(days=rng.randint(1, 4)), 0
        )
        created = _at(day, rng, 9 * 60, 16 * 60)
        if created >= self.horizon:
            return None
        d = _Draft(next(self.numbers), self.area, original.kind, source, original.topic, "", self.owner(), created)
        d.household_id, d.building_id, d.compound_id = (
            original.household_id,
            original.building_id,
            original.compound_id,
        )
        d.site_id, d.words, d.duplicate_of = original.site_id, original.words, original
        body = original.text.rstrip("。")
        for opening in sorted({*OPENINGS[original.source], *OPENINGS[Source.HOTLINE]}, key=len, reverse=True):
            if opening and body.startswith(opening):
                body = body[len(opening) :]
                break
        for ending in HOTLINE_ENDINGS:
            body = body.removesuffix("，" + ending)
        d.text = f"{rng.choice(OPENINGS[source])}{body}，此前已反映过，至今未解决。"
        if source == Source.HOTLINE:
            d.external_id = self.order_number(created)
        return d


# ---------------------------------------------------------------------------------------------------------------
# The whole year, written.


def demo_demands(
    *, street: Street, seed: int, today: date | None = None, progress: Progress | None = None
) -> DemandDemoResult:
    """A past year of demands for the demo street, up to yesterday, each with a valid history; one transaction.

    About `DEMANDS_PER_HOUSEHOLD` per household of the street (at least `MIN_PER_AREA` per area), in the
    article's proportions. The same seed, street and day give the same demands.
    """
    started = time.perf_counter()
    today = today or timezone.localdate()
    say = progress or (lambda message: None)
    result = DemandDemoResult(start=year_before(today), end=today - timedelta(days=1))
    assert result.start is not None and result.end is not None
    days = workdays_between(result.start, result.end)
    if not days:
        return result
    horizon = datetime.combine(today, clock_time.min, tzinfo=SHANGHAI)
    with transaction.atomic():
        ensure_categories(street)  # the street's own taxonomy (copied in when it was created; put back if deleted)
        link_default_departments(street)
        world = _load(street)
        clock = _Clock(world.limits)
        numbers = counter(1)
        drafts: list[_Draft] = []
        for area in world.areas:
            if not area.cadres and area.head is None:
                continue  # nobody to receive a demand
            rng = random.Random(f"{seed}:demands:{area.code}")
            wanted = max(MIN_PER_AREA, round(len(area.households) * DEMANDS_PER_HOUSEHOLD))
            area_drafts = _Drafter(world, area, rng, clock, days, numbers).draft_all(wanted)
            for draft in area_drafts:
                _Life(draft, world, clock, rng, horizon).live()
            drafts.extend(area_drafts)
            say(_("%(area)s：诉求%(count)d条") % {"area": area.name, "count": len(area_drafts)})
        _write(drafts, today, world.categories)
        _count(result, drafts, today, clock, horizon)
    result.seconds = time.perf_counter() - started
    return result


def _alert(draft: _Draft, today: date) -> str:
    """The warning the overdue job would write now (its own rule, `overdue.alert_for`)."""
    if draft.due_at is None or draft.state in TERMINAL_STATES:
        return Alert.NONE
    now = (
        timezone.now()
        if today == timezone.localdate()
        else datetime.combine(today, clock_time(12), tzinfo=SHANGHAI)
    )
    return alert_for(draft.due_at, now, settings.NINGJU_DEMAND_WARN_WORKDAYS)


def _write(drafts: list[_Draft], today: date, categories: dict[tuple[str, str | None], int]) -> None:
    """Demands first (duplicates merged into another after the demands they repeat), then their events,
    dispatches and extension requests."""
    pk_of: dict[int, int] = {}
    for batch in ([d for d in drafts if d.merged_into is None], [d for d in drafts if d.merged_into is not None]):
        rows = [
            Demand(
                area_id=d.area.pk,
                kind=d.kind,
                source=d.source,
                text=d.text,
                category_id=categories.get(_category_key(d.topic)),
                household_id=d.household_id,
                building_id=d.building_id,
                compound_id=d.compound_id,
                patrol_site_id=d.site_id,
                reporter_id=d.reporter_id,
                owner_id=d.owner.pk,
                state=d.state,
                version=d.version,
                whistle_round=d.whistle_round,
                visit_id=d.visit_id,
                finding_id=d.finding_id,
                external_id=d.external_id,
                merged_into_id=pk_of[d.merged_into.index] if d.merged_into is not None else None,
                due_at=d.due_at,
                alert=_alert(d, today),
                created_at=d.created_at,
            )
            for d in batch
        ]
        Demand.objects.bulk_create(rows, batch_size=INSERT_BATCH)
        pk_of.update((d.index, row.pk) for d, row in zip(batch, rows, strict=True))

    events: list[DemandEvent] = []
    dispatches: list[Dispatch] = []
    extensions: list[ExtensionRequest] = []
    for d in drafts:
        demand_id = pk_of[d.index]
        events.append(
            DemandEvent(
                demand_id=demand_id,
                actor_id=d.owner.pk,
                at=d.created_at,
                action=CREATE,
                from_state="",
                to_state=State.ACCEPTED,
                params={"kind": d.kind, "source": d.source},
            )
        )
        for e in d.events:
            params = e.params
            if "target" in params and d.duplicate_of is not None:
                params = {**params, "target": pk_of[d.duplicate_of.index]}
            events.append(
                DemandEvent(
                    demand_id=demand_id,
                    actor_id=e.actor_id,
                    at=e.at,
                    action=e.action,
                    from_state=e.from_state,
                    to_state=e.to_state,
                    reason=e.reason,
                    note=e.note,
                    params=params,
                )
            )
        dispatches.extend(
            Dispatch(
                demand_id=demand_id,
                department_id=row.department_id,
                round=row.round,
                state=row.state,
                dispatched_at=row.dispatched_at,
                acknowledged_at=row.acknowledged_at,
                resolved_at=row.resolved_at,
                returned_at=row.returned_at,
                returned_reason=row.returned_reason,
            )
            for row in d.dispatches
        )
        extensions.extend(
            ExtensionRequest(
                demand_id=demand_id,
                requested_by_id=row.requested_by,
                department_id=row.department_id,
                requested_at=row.requested_at,
                days=row.days,
                reason=row.reason,
                status=row.status,
                decided_by_id=row.decided_by,
                decided_at=row.decided_at,
                decision_reason=row.decision_reason,
            )
            for row in d.extensions
        )
    DemandEvent.objects.bulk_create(events, batch_size=INSERT_BATCH)
    Dispatch.objects.bulk_create(dispatches, batch_size=INSERT_BATCH)
    ExtensionRequest.objects.bulk_create(extensions, batch_size=INSERT_BATCH)


def _count(result: DemandDemoResult, drafts: list[_Draft], today: date, clock: _Clock, horizon: datetime) -> None:
    """The summary, counted as the rates page counts (响应率 over demands whose first-contact window closed)."""
    for d in drafts:
        result.demands += 1
        result.kinds[d.kind] += 1
        result.sources[d.source] += 1
        result.from_findings += d.finding_id is not None
        for event in d.events:
            if event.action == Action.WHISTLE:
                result.whistles += 1
            elif event.action in (Action.DISPATCH, Action.REDISPATCH):
                result.dispatches += len(event.params["departments"])
            elif event.action == Action.RETURN_ORDER:
                result.returned += 1
            elif event.action == Action.CALLBACK:
                result.callbacks[event.params["callback_result"]] += 1
        result.extensions.update(row.status for row in d.extensions)
        if d.state == State.MERGED:
            result.merged += 1
            continue
        if d.state in ANSWERED_STATES:
            result.opinions_answered += d.kind == Kind.OPINION
            result.problems_solved += d.kind == Kind.PROBLEM
            result.problems_found += d.kind == Kind.PROBLEM and d.source in (Source.VISIT, Source.PATROL)
        if d.state not in TERMINAL_STATES:
            result.open += 1
            alert = _alert(d, today)
            result.yellow += alert == Alert.YELLOW
            result.red += alert == Alert.RED
        contacted = next((event.at for event in d.events if event.action == Action.CONTACT), None)
        due = clock.deadline(d.created_at, DeadlineStage.FIRST_CONTACT)
        if contacted is not None or due < horizon:
            result.contact_due += 1
            result.contacted_on_time += contacted is not None and contacted <= due


def demo_demands_delete(street: Street) -> dict[str, int]:
    """Remove the street's demands with their attachments (files included), events, dispatches and extension
    requests, before the visits and the street they point at go (`ningju demo --reset`). Plain SQL deletes: the
    year's 20,000 events one by one would take a while, and nothing else hangs on these rows."""
    deleted: dict[str, int] = {}
    with transaction.atomic():
        in_street = {"demand__area__street": street}
        attachments = Attachment.objects.filter(**in_street)
        for attachment in attachments:
            attachment.file.delete(save=False)
        deleted["attachments"] = attachments._raw_delete(attachments.db)
        for key, queryset in (
            ("events", DemandEvent.objects.filter(**in_street)),
            ("dispatches", Dispatch.objects.filter(**in_street)),
            ("extensions", ExtensionRequest.objects.filter(**in_street)),
        ):
            deleted[key] = queryset._raw_delete(queryset.db)
        demands = Demand.objects.filter(area__street=street)
        deleted["demands"] = demands._raw_delete(demands.db)
        # The street's own taxonomy goes with it (children before the parents they are protected by).
        deleted["categories"] = Category.objects.filter(street=street, parent__isnull=False).delete()[0]
        deleted["categories"] += Category.objects.filter(street=street).delete()[0]
    return deleted
