"""Fixed facts and word lists behind the demo street: the 16 real committees, the real roads, names by generation.

The committee names and codes are the published statistical division codes of 江宁路街道; roads are the area's
real roads. Everything else (compound names, lane numbers, people) is generated from these lists.
"""

from dataclasses import dataclass

STREET_CODE = "310106006"
STREET_NAME = "江宁路街道"

# The street's extent (west, south, east, north) in degrees. Every coordinate the demo writes lies inside it.
WEST, SOUTH, EAST, NORTH = 121.4476, 31.2351, 121.4601, 31.2476
GRID_ROWS = GRID_COLUMNS = 4  # the box is cut into 4×4 patches, one per residential area


@dataclass(frozen=True, slots=True)
class AreaRef:
    """One residents' committee and the patch of the street it occupies (row 0 is the south, column 0 the west)."""

    code: str
    name: str
    row: int
    column: int


# The placement on the 4×4 patches is invented (no public committee ↔ map data exists); 恒德里 and 又一村 sit
# by 常德路 in the south-west as their namesake lanes do.
AREAS: tuple[AreaRef, ...] = (
    AreaRef("310106006002", "新安", 0, 3),
    AreaRef("310106006003", "永乐", 1, 3),
    AreaRef("310106006005", "联宝里", 1, 0),
    AreaRef("310106006006", "恒德里", 1, 1),
    AreaRef("310106006008", "景苑", 2, 3),
    AreaRef("310106006009", "又一村", 0, 1),
    AreaRef("310106006011", "北京", 2, 2),
    AreaRef("310106006013", "众乐里", 0, 2),
    AreaRef("310106006014", "武定坊", 1, 2),
    AreaRef("310106006015", "三星坊", 0, 0),
    AreaRef("310106006019", "蒋家巷", 3, 0),
    AreaRef("310106006020", "海防村", 3, 1),
    AreaRef("310106006024", "通安里", 2, 1),
    AreaRef("310106006027", "三乐里", 2, 0),
    AreaRef("310106006028", "句容里", 3, 3),
    AreaRef("310106006029", "天河", 3, 2),
)


@dataclass(frozen=True, slots=True)
class RoadRef:
    """A road and how its house numbers run: north-south roads count up northwards, east-west roads westwards
    (as Shanghai numbers them from the Bund). `start` is the first number in the first patch, `span` per patch."""

    name: str
    north_south: bool
    start: int
    span: int


ROADS: dict[str, RoadRef] = {
    road.name: road
    for road in (
        RoadRef("胶州路", True, 300, 120),
        RoadRef("常德路", True, 420, 170),
        RoadRef("西康路", True, 300, 180),
        RoadRef("江宁路", True, 300, 170),
        RoadRef("陕西北路", True, 560, 160),
        RoadRef("武宁南路", True, 100, 120),
        RoadRef("新闸路", False, 1300, 140),
        RoadRef("康定路", False, 100, 250),
        RoadRef("武定路", False, 500, 160),
        RoadRef("昌平路", False, 380, 130),
        RoadRef("余姚路", False, 100, 120),
        RoadRef("海防路", False, 300, 90),
        RoadRef("安远路", False, 20, 170),
        RoadRef("新丰路", False, 300, 80),
    )
}
# Which roads cross which patch: north-south roads by column (west to east), east-west roads by row (south to north).
COLUMN_ROADS: tuple[tuple[str, ...], ...] = (("胶州路",), ("常德路",), ("西康路",), ("江宁路", "陕西北路"))
ROW_ROADS: tuple[tuple[str, ...], ...] = (
    ("新闸路", "康定路"),
    ("武定路", "康定路"),
    ("昌平路", "余姚路"),
    ("海防路", "安远路"),
)
EXTRA_ROADS: dict[tuple[int, int], tuple[str, ...]] = {
    (3, 0): ("武宁南路",),
    (2, 0): ("武宁南路",),
    (3, 1): ("新丰路",),
}

# Grids (网格) cover a quarter of the street each; sub-grids (次格) split each residential area.
GRID_NAMES = ("第一网格（西南片）", "第二网格（东南片）", "第三网格（西北片）", "第四网格（东北片）")
CHINESE_ORDINALS = "一二三四五六七八九十"

# (name, slug, what it handles) — the functional departments whistled demands are dispatched to.
DEPARTMENTS: tuple[tuple[str, str], ...] = (
    ("城管", "chengguan"),
    ("市场监管", "shichangjianguan"),
    ("房管", "fangguan"),
    ("派出所", "paichusuo"),
    ("绿化市容", "lvhua"),
    ("民政", "minzheng"),
    ("卫生健康", "weijian"),
    ("物业监管", "wuye"),
    ("消防", "xiaofang"),
    ("司法所", "sifa"),
)

# The seven must-visit tags as the data migration seeds them; the demo looks them up by these names.
TAG_LIVING_ALONE = "独居老人"
TAG_OVER_80 = "高龄老人(80岁以上)"
TAG_HARDSHIP = "困难家庭(低保/低收入)"
TAG_DISABILITY = "残疾人"
TAG_ENTITLED = "优抚对象"
TAG_BEREAVED = "失独家庭"
TAG_WATCH = "重点关注人员"
HOUSEHOLD_TAGS = (TAG_LIVING_ALONE, TAG_HARDSHIP, TAG_BEREAVED)
RESIDENT_TAGS = (TAG_OVER_80, TAG_DISABILITY, TAG_ENTITLED, TAG_WATCH)

# Surnames weighted roughly by their frequency among Shanghai residents (per mille).
SURNAMES: dict[str, int] = {
    "王": 70, "张": 65, "陈": 60, "李": 55, "刘": 35, "徐": 30, "周": 30, "吴": 28, "朱": 28, "沈": 25,
    "杨": 25, "黄": 25, "赵": 20, "胡": 18, "顾": 18, "陆": 18, "孙": 15, "金": 14, "钱": 10, "曹": 10,
    "蒋": 10, "施": 10, "姚": 10, "潘": 10, "唐": 10, "马": 10, "许": 10, "何": 10, "高": 10, "林": 10,
    "戴": 8, "郭": 8, "郑": 8, "汪": 8, "俞": 7, "罗": 7, "宋": 7, "谢": 7, "冯": 7, "严": 7,
    "丁": 7, "袁": 7, "蔡": 7, "叶": 7, "韩": 6, "范": 6, "程": 6, "姜": 6, "邵": 6, "倪": 6,
    "方": 6, "邱": 5, "傅": 5, "杜": 5, "夏": 5, "龚": 5, "毛": 5, "薛": 5, "石": 5, "卢": 5,
    "董": 5, "葛": 4, "秦": 4, "陶": 4, "魏": 4, "彭": 4, "吕": 4, "任": 4, "江": 4, "庄": 4,
    "邹": 4, "贾": 3, "瞿": 3, "翁": 3, "殷": 3, "郁": 3, "乔": 3, "谈": 2, "费": 2, "奚": 2,
    "卞": 2, "浦": 2, "单": 2, "萧": 2,
}  # fmt: skip

# Given names by birth year: each entry is (born up to this year, men's names, women's names).
GIVEN_NAMES: tuple[tuple[int, tuple[str, ...], tuple[str, ...]], ...] = (
    (
        1945,
        ("根宝", "福根", "金根", "荣生", "根生", "德明", "德荣", "宝林", "桂林", "福林", "金福", "志成", "永康",
         "国璋", "文彬", "家骏", "顺发", "和生", "长根", "友根", "鸿年", "寿康"),
        ("秀英", "桂英", "凤英", "玉英", "秀珍", "美英", "桂芳", "翠英", "杏娣", "金娣", "素珍", "月英", "菊英",
         "彩凤", "宝珍", "兰英", "招娣", "佩芳", "淑贞", "惠珍", "雅琴", "阿珍"),
    ),
    (
        1965,
        ("建国", "建华", "国强", "国平", "卫东", "志明", "海平", "振华", "伟民", "建平", "建中", "国庆", "跃进",
         "卫国", "志刚", "耀华", "金龙", "立新", "永明", "德华", "伟国", "国华", "援朝", "胜利"),
        ("红", "丽华", "美华", "玉珍", "慧敏", "卫红", "建萍", "秀兰", "敏", "静", "丽萍", "红梅", "惠娟",
         "美玲", "凤娟", "秀娟", "国英", "文娟", "雪芳", "亚萍", "爱华", "月华", "琴"),
    ),
    (
        1985,
        ("伟", "勇", "军", "斌", "磊", "强", "俊", "杰", "峰", "涛", "晓东", "海峰", "志勇", "晓明", "华", "毅",
         "骏", "晓峰", "晨", "剑", "雷", "敏杰", "文杰", "卫军", "东"),
        ("丽", "娟", "敏", "燕", "婷", "静", "颖", "雯", "佳", "晓燕", "丽娟", "莉", "芳", "琳", "蕾", "洁", "慧",
         "瑾", "晓红", "晓丽", "红霞", "艳", "虹", "青", "佳颖"),
    ),
    (
        2000,
        ("浩", "俊杰", "佳伟", "天翔", "宇", "鹏", "超", "骏", "晨", "杰", "磊", "一帆", "嘉俊", "逸飞", "成",
         "铭", "文韬", "昊", "伟杰", "家豪", "晟", "子健"),
        ("婷婷", "雯雯", "佳怡", "诗雨", "怡", "倩", "洁", "颖", "晶晶", "晓雯", "佳琪", "思佳", "蕾", "静怡",
         "雪", "梦婷", "文静", "琳", "丹", "佳慧", "欣", "奕"),
    ),
    (
        9999,
        ("子轩", "浩然", "宇轩", "梓豪", "俊熙", "一鸣", "子墨", "睿", "奕辰", "沐阳", "皓轩", "宇航", "承泽",
         "天佑", "思远", "铭轩", "博文", "瑞霖", "亦凡", "子豪"),
        ("子涵", "欣怡", "梓涵", "诗涵", "可馨", "雨桐", "一诺", "梓萱", "思彤", "若汐", "语桐", "佳宁", "欣妍",
         "诗琪", "心怡", "悦", "安琪", "芷若", "依依", "晨曦"),
    ),
)  # fmt: skip

# Where ID numbers were issued (the first six digits): Shanghai districts for locals, weighted to 静安/闸北, and
# a spread of other provinces' districts for tenants who moved in.
LOCAL_REGIONS: dict[str, int] = {
    "310106": 45, "310108": 15, "310101": 6, "310103": 4, "310104": 5, "310105": 4, "310107": 6, "310109": 5,
    "310110": 4, "310112": 2, "310115": 4,
}  # fmt: skip
MIGRANT_REGIONS: tuple[str, ...] = (
    "320102", "320205", "320402", "320508", "320583", "330102", "330203", "330402", "340102", "340104", "341202",
    "360102", "370102", "410102", "411302", "420102", "430102", "510104", "350102", "130102", "230102", "220102",
)  # fmt: skip
MOBILE_PREFIXES: tuple[str, ...] = (
    "130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "153", "155", "156",
    "157", "158", "159", "177", "180", "181", "182", "183", "185", "186", "187", "188", "189", "198", "199",
)  # fmt: skip

# Words for generated compound names; none is the name of a residential area, so the two never get confused.
LILONG_WORDS = (
    "德庆", "福康", "瑞康", "延庆", "同福", "永业", "安乐", "久安", "敦和", "荣康", "平安", "慈惠", "大德",
    "鸿安", "仁德", "积善", "吉祥", "福寿", "庆余", "宝昌", "泰来", "景华", "明德", "怡和", "长乐", "安顺",
    "懋德", "崇德", "华顺", "嘉禾", "余庆", "裕丰", "恒丰", "宝兴", "兴仁", "福荫",
)  # fmt: skip
LILONG_SUFFIXES = ("里", "坊", "邨")
ESTATE_WORDS = (
    "锦华", "嘉和", "康城", "御景", "枫林", "云庭", "华府", "瑞景", "明珠", "星河", "翠庭", "澜庭", "雅居",
    "金鼎", "紫苑", "悦庭", "锦绣", "静雅", "华庭", "丽景", "和园", "汇景", "嘉禧", "凯旋",
)  # fmt: skip
ESTATE_PATTERNS = ("静安{}苑", "{}花园", "{}公寓", "静安{}园", "{}雅苑", "{}名邸")
TOWER_WORDS = (
    "江宁",
    "华康",
    "新闸",
    "安泰",
    "金城",
    "永安",
    "鸿兴",
    "汇德",
    "申江",
    "联谊",
    "昌平",
    "武定",
    "宏业",
)
TOWER_PATTERNS = ("{}大楼", "{}大厦", "{}公寓大楼")
NEW_VILLAGE_WORDS = ("江宁", "康乐", "昌平", "西康", "海防", "新丰", "胶州", "余姚", "安远", "康定")
PROPERTY_COMPANIES = (
    "上海静馨物业管理有限公司", "上海江宁物业服务有限公司", "上海安居物业管理有限公司", "上海永业物业有限公司",
    "上海华庭物业管理有限公司", "上海申宁物业服务有限公司", "上海锦苑物业管理有限公司", "上海德安物业有限公司",
    "上海怡景物业管理有限公司", "上海宝华物业服务有限公司", "上海昌泰物业管理有限公司", "上海静房物业管理有限公司",
)  # fmt: skip
