"""Importing the registry from the xlsx/CSV sheets community workers keep: check every row, then write all or nothing.

The sheet has one row per resident with Chinese headers (居民区, 小区, 地址, 室号, 姓名 …). The headers are the file
format, not user-interface text, so they are constants here and are never translated.

Rules that a reader of an import result needs to know:
- every row is checked first and every error is reported with its row and column; one error and nothing is written;
- the same person is recognised by the keyed hash of the ID number, or, without one, by household and name; a known
  person is updated (with history, the importing user as author), never duplicated, and an unchanged row writes
  nothing, so importing the same file twice changes nothing the second time;
- an empty or masked (310106********1234) ID or phone number keeps what is stored: a masked export can be
  re-imported without erasing any identifier;
- 出生日期, 与户主关系, 业委会, 物业, 经度/纬度 left empty keep what is stored; 标签, 户标签 and 备注 are lists and notes
  the sheet owns: empty means none. A column missing from the sheet leaves that field alone everywhere.
"""

import re
import unicodedata
import zipfile
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cached_property
from io import BytesIO
from pathlib import Path
from typing import IO, Any, TypeVar

from django.apps import apps
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from ningju.core import crypto, scoping
from ningju.core.audit import audit
from ningju.core.errors import ApplicationError
from ningju.core.identifiers import (
    OLDEST_PLAUSIBLE_AGE,
    id_birth_date,
    id_check_char,
    id_gender,
    normalize_id_number,
    normalize_phone,
    validate_id_number,
    validate_phone,
)
from ningju.core.models import AuditAction, Job, JobKind, User
from ningju.core.tables import FORMULA_PREFIXES, read_table, write_xlsx
from ningju.registry.models import (
    Building,
    Compound,
    Gender,
    Household,
    Relation,
    Resident,
    ResidentialArea,
    Tag,
    format_address,
)

# (done, total, message): `ningju.core.jobs.Progress` for a job, a printer for the command line.
ProgressFn = Callable[[int, int, str], None]
T = TypeVar("T")

IMPORT_KIND = JobKind.REGISTRY_IMPORT
# Written as the actor of command-line runs without --user, in the audit log.
SYSTEM_ACTOR = "system:cli"
MAX_ERRORS = 500
MAX_ROWS = 100_000
# Rows per INSERT/UPDATE statement and ids per IN (...) list: safe for SQLite's parameter limit and for PostgreSQL.
BATCH = 500


class Col:
    """The headers of the sheet, as community workers write them."""

    AREA = "居民区"
    COMPOUND = "小区"
    ADDRESS = "地址"
    ROAD = "路名"
    LANE = "弄"
    NUMBER = "号"
    ROOM = "室号"
    NAME = "姓名"
    GENDER = "性别"
    BIRTH_DATE = "出生日期"
    ID_NUMBER = "身份证号"
    PHONE = "手机号"
    RELATION = "与户主关系"
    TAGS = "标签"
    HOUSEHOLD_TAGS = "户标签"
    LNG = "经度"
    LAT = "纬度"
    OWNERS_COMMITTEE = "业委会"
    PROPERTY_COMPANY = "物业"
    NOTES = "备注"


@dataclass(frozen=True)
class Column:
    name: str
    required: bool
    help: Any  # lazy translation: the instructions sheet is written in the user's language


# The template's and the export's columns, in this order (路名/弄/号 are accepted instead of 地址 but not written).
COLUMNS = [
    Column(Col.AREA, True, gettext_lazy("居民区名称（如：恒德里）或12位居民区代码；须在您的管理范围内。")),
    Column(Col.COMPOUND, True, gettext_lazy("小区名称；系统中还没有的小区会自动新建。")),
    Column(
        Col.ADDRESS,
        True,
        gettext_lazy(
            "楼栋门牌，如：常德路633弄5号、江宁路509号；也可改用“路名”“弄”“号”三列。系统中还没有的楼栋会自动新建。"
        ),
    ),
    Column(Col.ROOM, True, gettext_lazy("室号，如：302。")),
    Column(Col.NAME, True, gettext_lazy("居民姓名。")),
    Column(Col.GENDER, False, gettext_lazy("男或女；填写了身份证号时可留空，按身份证号确定。")),
    Column(
        Col.BIRTH_DATE,
        False,
        gettext_lazy(
            "如：1950-03-07、1950/3/7、19500307，或 Excel 日期；须与身份证号一致。留空则按身份证号确定，或保留原值。"
        ),
    ),
    Column(
        Col.ID_NUMBER,
        False,
        gettext_lazy(
            "18位，末位可为X；请把此列设为“文本”格式，否则 Excel 会改坏号码。"
            "留空或填脱敏值（如 310106********1234）表示保留系统中已登记的号码。"
        ),
    ),
    Column(
        Col.PHONE,
        False,
        gettext_lazy("11位手机号或座机号；留空或填脱敏值（如 138****5678）表示保留系统中已登记的号码。"),
    ),
    Column(
        Col.RELATION,
        False,
        gettext_lazy("户主、配偶、子女、父母、孙辈、兄弟姐妹、租客、其他；留空表示保留原值（新居民记为“其他”）。"),
    ),
    Column(
        Col.TAGS,
        False,
        gettext_lazy(
            "居民的标签，多个用“、”“，”或“；”分隔，须为系统中已启用的标签（见下方列表）；留空表示没有标签。"
        ),
    ),
    Column(
        Col.HOUSEHOLD_TAGS,
        False,
        gettext_lazy(
            "户的标签（如困难家庭），写法同“标签”；一户多行时合并各行所填。不需要时可删除整列，原有户标签不变。"
        ),
    ),
    Column(Col.LNG, False, gettext_lazy("楼栋经度（WGS-84），仅用于新建或校正楼栋；留空时新楼栋暂用居委会位置。")),
    Column(Col.LAT, False, gettext_lazy("楼栋纬度（WGS-84），与经度一起填写。")),
    Column(Col.OWNERS_COMMITTEE, False, gettext_lazy("小区业委会名称；留空表示保留原值。")),
    Column(Col.PROPERTY_COMPANY, False, gettext_lazy("小区物业公司名称；留空表示保留原值。")),
    Column(Col.NOTES, False, gettext_lazy("居民备注；留空表示没有备注。")),
]
HEADERS = [column.name for column in COLUMNS]
KNOWN_HEADERS = {*HEADERS, Col.ROAD, Col.LANE, Col.NUMBER}
# Headers seen in real registers, mapped to ours.
HEADER_ALIASES = {
    "居委会": Col.AREA,
    "居民区名称": Col.AREA,
    "小区名称": Col.COMPOUND,
    "门牌地址": Col.ADDRESS,
    "楼栋地址": Col.ADDRESS,
    "门牌号": Col.ADDRESS,
    "道路": Col.ROAD,
    "路": Col.ROAD,
    "室": Col.ROOM,
    "房号": Col.ROOM,
    "房间号": Col.ROOM,
    "身份证": Col.ID_NUMBER,
    "身份证号码": Col.ID_NUMBER,
    "公民身份号码": Col.ID_NUMBER,
    "手机": Col.PHONE,
    "手机号码": Col.PHONE,
    "联系电话": Col.PHONE,
    "电话": Col.PHONE,
    "关系": Col.RELATION,
    "与户主的关系": Col.RELATION,
    "居民标签": Col.TAGS,
    "业主委员会": Col.OWNERS_COMMITTEE,
    "物业公司": Col.PROPERTY_COMPANY,
}

GENDER_WORDS = {
    "男": Gender.MALE,
    "男性": Gender.MALE,
    "M": Gender.MALE,
    "女": Gender.FEMALE,
    "女性": Gender.FEMALE,
    "F": Gender.FEMALE,
}
GENDER_LABELS = {Gender.MALE: "男", Gender.FEMALE: "女"}
RELATION_LABELS = {
    Relation.HEAD: "户主",
    Relation.SPOUSE: "配偶",
    Relation.CHILD: "子女",
    Relation.PARENT: "父母",
    Relation.GRANDCHILD: "孙辈",
    Relation.SIBLING: "兄弟姐妹",
    Relation.TENANT: "租客",
    Relation.OTHER: "其他",
}
RELATION_WORDS = {
    **{label: value for value, label in RELATION_LABELS.items()},
    "本人": Relation.HEAD,
    "妻": Relation.SPOUSE,
    "妻子": Relation.SPOUSE,
    "夫": Relation.SPOUSE,
    "丈夫": Relation.SPOUSE,
    "子": Relation.CHILD,
    "儿子": Relation.CHILD,
    "女": Relation.CHILD,
    "女儿": Relation.CHILD,
    "父亲": Relation.PARENT,
    "母亲": Relation.PARENT,
    "孙子": Relation.GRANDCHILD,
    "孙女": Relation.GRANDCHILD,
    "外孙": Relation.GRANDCHILD,
    "外孙女": Relation.GRANDCHILD,
    "兄弟": Relation.SIBLING,
    "姐妹": Relation.SIBLING,
    "租户": Relation.TENANT,
}

TAG_SEPARATORS = re.compile(r"[、,;；\n]+")
ADDRESS_PATTERN = re.compile(
    r"^(?P<road>[^\d]+?)(?:(?P<lane>\d+(?:-\d+)?)弄)?(?P<number>\d+[A-Za-z甲乙丙丁]?(?:-\d+)?)号"
    r"(?:(?P<room>[0-9A-Za-z\-]+)室?)?$"
)
DATE_PATTERN = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:\s+\d{1,2}:\d{2}(?::\d{2})?)?$")
MASKED_ID_PATTERN = re.compile(r"^\d{6}\*{8}\d{3}[\dX]$")
EXCEL_EPOCH = date(1899, 12, 30)
# WGS-84 bounds of China: a pair outside them is a typo or latitude and longitude swapped.
LAT_RANGE = (3.8, 53.6)
LNG_RANGE = (73.5, 135.1)


def normalize_text(value: str) -> str:
    """Full-width letters, digits and brackets to their ordinary forms, surrounding blanks removed."""
    return unicodedata.normalize("NFKC", value).strip()


def unescape_cell(value: str) -> str:
    """Our xlsx writer keeps formula-like text as text by prefixing an apostrophe; reading it back drops it."""
    if len(value) > 1 and value[0] == "'" and value[1] in FORMULA_PREFIXES:
        return value[1:]
    return value


def canonical_header(header: str) -> str:
    text = re.sub(r"\s+", "", normalize_text(header)).strip("*")
    text = re.sub(r"[(（]必填[)）]$", "", text)
    return HEADER_ALIASES.get(text, text)


def parse_address(text: str) -> tuple[str, str, str, str] | None:
    """常德路633弄5号 → (常德路, 633, 5, ''); 江宁路509号302室 → (江宁路, '', 509, 302)."""
    match = ADDRESS_PATTERN.match(re.sub(r"\s+", "", normalize_text(text)))
    if not match:
        return None
    return match["road"], match["lane"] or "", match["number"], match["room"] or ""


def parse_date(text: str) -> date:
    """1950-03-07, 1950/3/7, 1950.3.7, 1950年3月7日, 19500307 or an Excel serial day number. Raises ValueError."""
    text = normalize_text(text)
    if match := DATE_PATTERN.match(text):
        return date(int(match[1]), int(match[2]), int(match[3]))
    if re.fullmatch(r"\d{8}", text):
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    if re.fullmatch(r"\d{1,5}(\.0+)?", text):
        # A date cell formatted as a number in Excel, or saved to CSV as one: days since 1899-12-30.
        return EXCEL_EPOCH + timedelta(days=int(float(text)))
    raise ValueError(text)


def plausible_birth_date(born: date) -> bool:
    today = timezone.localdate()
    return born <= today and born.year >= today.year - OLDEST_PLAUSIBLE_AGE


def tag_key(name: str) -> str:
    return re.sub(r"\s+", "", normalize_text(name))


can_import = scoping.can_import


def actor_named(username: str | None) -> User | None:
    """The user a command-line run acts as; None (the system actor) when no username is given."""
    if not username:
        return None
    try:
        return User.objects.get(username=username)
    except User.DoesNotExist:
        raise ApplicationError(_("用户“%(u)s”不存在。") % {"u": username}) from None


def require_import(user: User | None) -> None:
    if not can_import(user):
        raise PermissionDenied(_("只有街道管理员和居民区书记/主任可以导入居民信息。"))


def chunks(items: Sequence[T], size: int = BATCH) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --- errors ---------------------------------------------------------------------------------------------------


class RowErrors:
    """Every problem found, by row and column; the list kept for the user is capped, the count is not."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []
        self.count = 0

    def add(self, row: int | None, column: str, message: str) -> None:
        self.count += 1
        if len(self.items) < MAX_ERRORS:
            self.items.append({"row": row, "column": column, "message": message})

    def __bool__(self) -> bool:
        return self.count > 0

    def raise_if_any(self) -> None:
        if not self:
            return
        summary = []
        if self.count > len(self.items):
            summary.append(
                _("共 %(n)d 处错误，这里列出前 %(shown)d 处；改正后重新导入可看到其余错误。")
                % {"n": self.count, "shown": len(self.items)}
            )
        raise ApplicationError(
            _("导入未执行：发现 %(n)d 处错误，没有写入任何数据。请改正后重新导入。") % {"n": self.count},
            extra={"errors": self.items, "error_count": self.count, "summary": summary},
        )


# --- one row ------------------------------------------------------------------------------------------------


@dataclass
class Row:
    """One checked row: what the sheet says, normalised. `None` means "not given: keep what is stored"."""

    line: int
    area: ResidentialArea
    compound: str
    road: str
    lane: str
    number: str
    room: str
    name: str
    gender: str | None
    birth_date: date | None
    id_number: str  # clear and valid, or ''
    id_mask: str  # a masked ID number (keep the stored one, which must match it), or ''
    phone: str
    phone_mask: str
    relation: str | None
    tags: list[Tag] | None
    household_tags: list[Tag] | None
    lat: float | None
    lng: float | None
    owners_committee: str
    property_company: str
    notes: str | None

    @property
    def building_key(self) -> tuple[str, str, str]:
        return (self.road, self.lane, self.number)

    @property
    def household_key(self) -> tuple[str, str, str, str]:
        return (self.road, self.lane, self.number, self.room)

    @property
    def address(self) -> str:
        return format_address(self.road, self.lane, self.number)

    @cached_property
    def id_hash(self) -> str:
        return crypto.lookup_hash("id_number", self.id_number) if self.id_number else ""

    @cached_property
    def phone_hash(self) -> str:
        return crypto.lookup_hash("phone", self.phone) if self.phone else ""


class Reference:
    """What rows are checked against: the importer's areas (their scope) and the tags of those areas' streets (a
    tag name resolves within the street of the row's area: each street has its own tags)."""

    def __init__(self, user: User | None) -> None:
        areas = ResidentialArea.objects.select_related("street")
        visible = list(areas if user is None else scoping.visible(user, areas))
        self.area_ids = {area.pk for area in visible}
        self.areas: dict[str, list[ResidentialArea]] = defaultdict(list)
        for area in visible:
            self.areas[area.name].append(area)
            self.areas[area.code].append(area)
        streets = {area.street_id for area in visible}
        self.tags = {(tag.street_id, tag_key(tag.name)): tag for tag in Tag.objects.filter(street__in=streets)}
        self._elsewhere: dict[str, bool] = {}

    def area(self, value: str) -> tuple[ResidentialArea | None, str]:
        found = self.areas.get(value, [])
        if len(found) == 1:
            return found[0], ""
        if len(found) > 1:
            return None, _("居民区“%(v)s”在多个街道中重名，请改填12位居民区代码。") % {"v": value}
        if value not in self._elsewhere:
            self._elsewhere[value] = ResidentialArea.objects.filter(Q(name=value) | Q(code=value)).exists()
        if self._elsewhere[value]:
            return None, _("居民区“%(v)s”不在您的管理范围内，不能导入该居民区的数据。") % {"v": value}
        return None, _("居民区“%(v)s”不存在：请填写系统中已有的居民区名称或代码。") % {"v": value}

    def parse_tags(self, text: str, area: ResidentialArea | None) -> tuple[list[Tag], list[str]]:
        """The tags named in `text`, looked up among the tags of the street of `area` (none without an area: the
        row's area error says why)."""
        tags: list[Tag] = []
        problems = []
        for name in TAG_SEPARATORS.split(normalize_text(text)):
            if not name.strip():
                continue
            if area is None:
                continue
            tag = self.tags.get((area.street_id, tag_key(name)))
            if tag is None:
                problems.append(
                    _("未知标签“%(t)s”：请使用系统中已有的标签（见模板“填写说明”页）。") % {"t": name.strip()}
                )
            elif not tag.active:
                problems.append(_("标签“%(t)s”已停用，不能再使用。") % {"t": tag.name})
            elif tag not in tags:
                tags.append(tag)
        return tags, problems


class Cells:
    """One row's cells by canonical header; knows which columns the sheet has at all."""

    def __init__(self, values: dict[str, str], present: set[str]) -> None:
        self.values = values
        self.present = present

    def __getitem__(self, column: str) -> str:
        return self.values.get(column, "")

    def has(self, column: str) -> bool:
        return column in self.present


def check_row(line: int, cells: Cells, ref: Reference, errors: RowErrors) -> Row | None:
    """Check one row; report every problem in it. Returns the row, or None when it has errors."""
    before = errors.count

    def error(column: str, message: str) -> None:
        errors.add(line, column, message)

    def required(column: str) -> str:
        value = cells[column]
        if not value:
            error(column, _("“%(c)s”不能为空。") % {"c": column})
        return value

    area: ResidentialArea | None = None
    if area_text := required(Col.AREA):
        area, problem = ref.area(area_text)
        if problem:
            error(Col.AREA, problem)

    compound = required(Col.COMPOUND)
    if len(compound) > 80:
        error(Col.COMPOUND, _("小区名称过长（最多80个字）。"))

    road = lane = number = address_room = ""
    if cells[Col.ADDRESS] or not (cells.has(Col.ROAD) and cells.has(Col.NUMBER)):
        if address := required(Col.ADDRESS):
            parts = parse_address(address)
            if parts is None:
                error(
                    Col.ADDRESS, _("无法识别地址“%(a)s”：应写成“常德路633弄5号”或“江宁路509号”。") % {"a": address}
                )
            else:
                road, lane, number, address_room = parts
    else:
        road = re.sub(r"\s+", "", required(Col.ROAD))
        lane = re.sub(r"\s+", "", cells[Col.LANE]).removesuffix("弄")
        number = re.sub(r"\s+", "", required(Col.NUMBER)).removesuffix("号")
        if lane and not re.fullmatch(r"\d+(?:-\d+)?", lane):
            error(Col.LANE, _("弄号应为数字，如：633。"))
    if len(road) > 30 or len(lane) > 10 or len(number) > 20:
        error(Col.ADDRESS, _("地址中的路名、弄号或门牌号过长。"))

    room = re.sub(r"\s+", "", normalize_text(cells[Col.ROOM])).removesuffix("室") or address_room
    if not room:
        error(Col.ROOM, _("“%(c)s”不能为空。") % {"c": Col.ROOM})
    elif len(room) > 20:
        error(Col.ROOM, _("室号过长（最多20个字符）。"))

    name = required(Col.NAME)
    if len(name) > 50:
        error(Col.NAME, _("姓名过长（最多50个字）。"))

    id_number = id_mask = ""
    id_text = normalize_id_number(normalize_text(cells[Col.ID_NUMBER]))
    if MASKED_ID_PATTERN.match(id_text):
        id_mask = id_text
    elif id_text:
        try:
            id_number = validate_id_number(id_text)
        except ValidationError as invalid:
            message = "; ".join(invalid.messages)
            if re.search(r"E\+?\d+$", id_text):
                message += _("（Excel 把身份证号当成了数字而改坏了它：请把该列设为“文本”格式后重新填写。）")
            error(Col.ID_NUMBER, message)

    gender: str | None = None
    if gender_text := normalize_text(cells[Col.GENDER]).upper():
        gender = GENDER_WORDS.get(gender_text)
        if gender is None:
            error(Col.GENDER, _("性别应填“男”或“女”，不能是“%(v)s”。") % {"v": cells[Col.GENDER]})
    if id_number:
        from_id = id_gender(id_number)
        if gender and gender != from_id:
            error(
                Col.GENDER,
                _("性别“%(g)s”与身份证号不一致（按身份证号应为“%(id)s”）。")
                % {"g": GENDER_LABELS[Gender(gender)], "id": GENDER_LABELS[Gender(from_id)]},
            )
        gender = gender or from_id
    elif not gender_text and not id_text:
        # (With an invalid ID number the error is reported there, not as a second one here.)
        error(Col.GENDER, _("未填写身份证号时，“性别”不能为空。"))

    birth_date: date | None = None
    if birth_text := cells[Col.BIRTH_DATE]:
        try:
            birth_date = parse_date(birth_text)
        except ValueError:
            error(
                Col.BIRTH_DATE,
                _("无法识别日期“%(d)s”：请写成 1950-03-07、1950/3/7 或 19500307。") % {"d": birth_text},
            )
        else:
            if not plausible_birth_date(birth_date):
                error(Col.BIRTH_DATE, _("出生日期不合理：%(d)s。") % {"d": birth_date.isoformat()})
            elif id_number and birth_date != id_birth_date(id_number):
                error(
                    Col.BIRTH_DATE,
                    _("出生日期 %(d)s 与身份证号中的出生日期 %(id)s 不一致。")
                    % {"d": birth_date.isoformat(), "id": id_birth_date(id_number)},
                )
    elif id_number:
        birth_date = id_birth_date(id_number)

    phone = phone_mask = ""
    if phone_text := normalize_phone(normalize_text(cells[Col.PHONE])):
        if "*" in phone_text:
            phone_mask = phone_text
        else:
            try:
                phone = validate_phone(phone_text)
            except ValidationError as invalid:
                error(Col.PHONE, "; ".join(invalid.messages))

    relation: str | None = None
    if relation_text := normalize_text(cells[Col.RELATION]):
        relation = RELATION_WORDS.get(relation_text)
        if relation is None:
            error(
                Col.RELATION,
                _("无法识别与户主关系“%(v)s”：可填 %(ok)s。")
                % {"v": relation_text, "ok": "、".join(RELATION_LABELS.values())},
            )

    tags: list[Tag] | None = None
    if cells.has(Col.TAGS):
        tags, problems = ref.parse_tags(cells[Col.TAGS], area)
        for problem in problems:
            error(Col.TAGS, problem)
    household_tags: list[Tag] | None = None
    if cells.has(Col.HOUSEHOLD_TAGS):
        household_tags, problems = ref.parse_tags(cells[Col.HOUSEHOLD_TAGS], area)
        for problem in problems:
            error(Col.HOUSEHOLD_TAGS, problem)

    lat = lng = None
    if cells[Col.LAT] or cells[Col.LNG]:
        for column in (Col.LNG, Col.LAT):
            if not cells[column]:
                error(column, _("经度和纬度须一起填写。"))
        try:
            lng, lat = float(normalize_text(cells[Col.LNG])), float(normalize_text(cells[Col.LAT]))
        except ValueError:
            if cells[Col.LNG] and cells[Col.LAT]:
                error(Col.LNG, _("经度、纬度应为数字，如：121.4508、31.2376。"))
        else:
            if not (LNG_RANGE[0] <= lng <= LNG_RANGE[1] and LAT_RANGE[0] <= lat <= LAT_RANGE[1]):
                error(Col.LNG, _("坐标不在中国境内：请确认填写的是 WGS-84 经纬度，且经度、纬度没有填反。"))

    owners_committee, property_company = cells[Col.OWNERS_COMMITTEE], cells[Col.PROPERTY_COMPANY]
    for column, value in ((Col.OWNERS_COMMITTEE, owners_committee), (Col.PROPERTY_COMPANY, property_company)):
        if len(value) > 100:
            error(column, _("名称过长（最多100个字）。"))

    if errors.count > before or area is None:
        return None
    return Row(
        line=line,
        area=area,
        compound=compound,
        road=road,
        lane=lane,
        number=number,
        room=room,
        name=name,
        gender=gender,
        birth_date=birth_date,
        id_number=id_number,
        id_mask=id_mask,
        phone=phone,
        phone_mask=phone_mask,
        relation=relation,
        tags=tags,
        household_tags=household_tags,
        lat=lat,
        lng=lng,
        owners_committee=owners_committee,
        property_company=property_company,
        notes=cells[Col.NOTES] if cells.has(Col.NOTES) else None,
    )


def check_across_rows(rows: list[Row], errors: RowErrors) -> None:
    """What no single row shows: the same person twice, one address in two compounds, conflicting compound or
    building facts."""
    by_id: dict[str, int] = {}
    by_name: dict[tuple[tuple[str, str, str, str], str], Row] = {}
    building_home: dict[tuple[str, str, str], Row] = {}
    building_place: dict[tuple[str, str, str], tuple[Row, float, float]] = {}
    compound_facts: dict[tuple[int, str, str], tuple[int, str]] = {}
    for row in rows:
        if row.id_number:
            if row.id_number in by_id:
                errors.add(
                    row.line,
                    Col.ID_NUMBER,
                    _("身份证号与第 %(n)d 行重复：同一人在文件中出现了两次。") % {"n": by_id[row.id_number]},
                )
            by_id.setdefault(row.id_number, row.line)
        name_key = (row.household_key, row.name)
        # Two rows with different ID numbers are two people even with one name; the same number twice is
        # reported above.
        if (first := by_name.get(name_key)) and not (first.id_number and row.id_number):
            errors.add(
                row.line,
                Col.NAME,
                _("与第 %(n)d 行是同一户的同名居民：如确为两人，请填写各自的身份证号。") % {"n": first.line},
            )
        by_name.setdefault(name_key, row)

        home = building_home.setdefault(row.building_key, row)
        if (home.area.pk, home.compound) != (row.area.pk, row.compound):
            errors.add(
                row.line,
                Col.ADDRESS,
                _("地址“%(a)s”在第 %(n)d 行属于%(area)s的“%(c)s”，本行却填写为%(area2)s的“%(c2)s”。")
                % {
                    "a": row.address,
                    "n": home.line,
                    "area": home.area.name,
                    "c": home.compound,
                    "area2": row.area.name,
                    "c2": row.compound,
                },
            )
        if row.lat is not None and row.lng is not None:
            place = building_place.setdefault(row.building_key, (row, row.lat, row.lng))
            if (place[1], place[2]) != (row.lat, row.lng):
                errors.add(
                    row.line,
                    Col.LNG,
                    _("同一楼栋的经纬度与第 %(n)d 行不一致。") % {"n": place[0].line},
                )
        for column, value in (
            (Col.OWNERS_COMMITTEE, row.owners_committee),
            (Col.PROPERTY_COMPANY, row.property_company),
        ):
            if not value:
                continue
            seen = compound_facts.setdefault((row.area.pk, row.compound, column), (row.line, value))
            if seen[1] != value:
                errors.add(
                    row.line,
                    column,
                    _("同一小区的“%(c)s”与第 %(n)d 行填写的“%(v)s”不一致。")
                    % {"c": column, "n": seen[0], "v": seen[1]},
                )


# --- matching the rows to what is stored ---------------------------------------------------------------------


@dataclass
class Stored:
    """A resident as stored, read without building a model instance (which would decrypt both identifiers)."""

    pk: int
    household_id: int
    area_id: int
    name: str
    gender: str
    birth_date: date | None
    id_number: Any  # SensitiveValue | None: decrypted only if a masked cell must be compared with it
    id_number_hash: str
    phone: Any
    phone_hash: str
    relation: str
    notes: str
    active: bool


STORED_FIELDS = (
    "pk",
    "household_id",
    "household__building__compound__area_id",
    "name",
    "gender",
    "birth_date",
    "id_number",
    "id_number_hash",
    "phone",
    "phone_hash",
    "relation",
    "notes",
    "active",
)


def stored_residents(queryset: "models.QuerySet[Resident]") -> Iterator[Stored]:
    for values in queryset.values_list(*STORED_FIELDS):
        yield Stored(*values)


@dataclass
class Plan:
    """Everything the write step does, decided before it starts."""

    new_compounds: list[Compound] = field(default_factory=list)
    changed_compounds: list[Compound] = field(default_factory=list)
    new_buildings: list[Building] = field(default_factory=list)
    changed_buildings: list[Building] = field(default_factory=list)
    provisional_places: int = 0
    new_households: list[Household] = field(default_factory=list)
    changed_households: list[Household] = field(default_factory=list)
    household_tags: list[tuple[Household, set[int]]] = field(default_factory=list)
    new_residents: list[Resident] = field(default_factory=list)
    changed_residents: list[Resident] = field(default_factory=list)
    changed_fields: set[str] = field(default_factory=set)
    resident_tags: list[tuple[Resident, set[int]]] = field(default_factory=list)
    unchanged: int = 0

    def counts(self) -> dict[str, int]:
        return {
            "created": len(self.new_residents),
            "updated": len(self.changed_residents),
            "unchanged": self.unchanged,
            "compounds_created": len(self.new_compounds),
            "buildings_created": len(self.new_buildings),
            "households_created": len(self.new_households),
        }


def tag_ids_of(through: type[models.Model], owner: str, ids: Sequence[int]) -> dict[int, set[int]]:
    found: dict[int, set[int]] = defaultdict(set)
    for chunk in chunks(ids):
        for owner_id, tag_id in through._default_manager.filter(**{f"{owner}_id__in": chunk}).values_list(
            f"{owner}_id", "tag_id"
        ):
            found[owner_id].add(tag_id)
    return found


def plan_import(rows: list[Row], ref: Reference, errors: RowErrors, progress: Callable[[int], None]) -> Plan:
    """Match every row to the compound, building, household and resident it means; report rows that contradict
    what is stored or reach outside the importer's scope."""
    plan = Plan()
    area_ids = {row.area.pk for row in rows}
    roads = sorted({row.road for row in rows})

    compounds = {(c.area_id, c.name): c for c in Compound.objects.filter(area_id__in=area_ids)}
    buildings = {
        (b.road, b.lane, b.number): b
        for road_chunk in chunks(roads)
        for b in Building.objects.filter(road__in=road_chunk).select_related("compound__area")
    }
    households = {
        (h.building_id, h.room): h
        for road_chunk in chunks(roads)
        for h in Household.objects.filter(building__road__in=road_chunk)
    }
    hashes = sorted({row.id_hash for row in rows if row.id_number})
    # exclude(''): lets SQLite use the partial unique index on the hash instead of scanning the table.
    by_hash = {
        stored.id_number_hash: stored
        for hash_chunk in chunks(hashes)
        for stored in stored_residents(
            Resident.objects.filter(id_number_hash__in=hash_chunk).exclude(id_number_hash="")
        )
    }
    # Residents of the households the sheet names, for matching by name.
    wanted_households = sorted(
        {
            households[(buildings[row.building_key].pk, row.room)].pk
            for row in rows
            if row.building_key in buildings and (buildings[row.building_key].pk, row.room) in households
        }
    )
    by_name: dict[tuple[int, str], list[Stored]] = defaultdict(list)
    for household_chunk in chunks(wanted_households):
        for namesake in stored_residents(Resident.objects.filter(household_id__in=household_chunk).order_by("pk")):
            by_name[(namesake.household_id, namesake.name)].append(namesake)
    progress(30)

    new_compounds: dict[tuple[int, str], Compound] = {}
    new_buildings: dict[tuple[str, str, str], Building] = {}
    new_households: dict[tuple[str, str, str, str], Household] = {}
    household_tag_wish: dict[tuple[str, str, str, str], set[int]] = {}
    changed_compounds: dict[int, Compound] = {}
    changed_buildings: dict[int, Building] = {}
    provisional: set[tuple[str, str, str]] = set()  # new buildings placed at the committee office for now
    unplaced: set[tuple[str, str, str]] = set()
    matched: dict[int, int] = {}  # resident pk -> row that matched it
    # What each matched resident's row says, resolved after the loop (tags need one query for all of them).
    updates: list[tuple[Row, Stored, Household]] = []

    for index, row in enumerate(rows):
        if index % 1000 == 0:
            progress(30 + 30 * index // max(len(rows), 1))
        compound = compounds.get((row.area.pk, row.compound)) or new_compounds.get((row.area.pk, row.compound))
        if compound is None:
            compound = Compound(area=row.area, name=row.compound)
            new_compounds[(row.area.pk, row.compound)] = compound
        if _fill_compound(compound, row) and compound.pk:
            changed_compounds[compound.pk] = compound

        building: Building | None = buildings.get(row.building_key) or new_buildings.get(row.building_key)
        if building is None:
            if row.lat is not None and row.lng is not None:
                lat, lng = row.lat, row.lng
            elif row.area.office_lat is not None and row.area.office_lng is not None:
                lat, lng = row.area.office_lat, row.area.office_lng
                provisional.add(row.building_key)
            else:
                if row.building_key not in unplaced:
                    errors.add(
                        row.line,
                        Col.LNG,
                        _("新楼栋“%(a)s”须填写经度和纬度（该居民区没有居委会坐标可暂用）。") % {"a": row.address},
                    )
                unplaced.add(row.building_key)
                continue
            building = Building(
                compound=compound, road=row.road, lane=row.lane, number=row.number, lat=lat, lng=lng
            )
            new_buildings[row.building_key] = building
        elif building.pk is None:
            if row.lat is not None and row.lng is not None and row.building_key in provisional:
                # A later row of the same new building gives its coordinates.
                building.lat, building.lng = row.lat, row.lng
                provisional.discard(row.building_key)
        else:
            if building.compound.area_id != row.area.pk or building.compound.name != row.compound:
                errors.add(
                    row.line,
                    Col.ADDRESS,
                    _("地址“%(a)s”已登记在%(area)s的小区“%(c)s”，与本行填写的%(area2)s的“%(c2)s”不一致。")
                    % {
                        "a": row.address,
                        "area": building.compound.area.name,
                        "c": building.compound.name,
                        "area2": row.area.name,
                        "c2": row.compound,
                    },
                )
                continue
            if row.lat is not None and row.lng is not None and (building.lat, building.lng) != (row.lat, row.lng):
                building.lat, building.lng = row.lat, row.lng
                changed_buildings[building.pk] = building

        # household
        household: Household | None = households.get((building.pk, row.room)) if building.pk else None
        if household is None:
            household = new_households.get(row.household_key)
            if household is None:
                household = Household(building=building, room=row.room)
                new_households[row.household_key] = household
        if row.household_tags is not None:
            household_tag_wish.setdefault(row.household_key, set()).update(tag.pk for tag in row.household_tags)

        # resident
        found, resident = _match_resident(row, household, by_hash, by_name, ref, errors)
        if not found:
            continue
        if resident is None:
            if row.id_mask or row.phone_mask:
                column = Col.ID_NUMBER if row.id_mask else Col.PHONE
                errors.add(
                    row.line,
                    column,
                    _("系统中没有这位居民，无法使用脱敏号码新建：请填写完整号码，或留空。"),
                )
                continue
            plan.new_residents.append(_new_resident(row, household))
            if row.tags:
                plan.resident_tags.append((plan.new_residents[-1], {tag.pk for tag in row.tags}))
            continue
        if resident.pk in matched:
            errors.add(
                row.line,
                Col.NAME,
                _("与第 %(n)d 行指向系统中的同一位居民。") % {"n": matched[resident.pk]},
            )
            continue
        matched[resident.pk] = row.line
        updates.append((row, resident, household))

    stored_tags = tag_ids_of(Resident.tags.through, "resident", sorted(matched))
    changes_by_pk: dict[int, dict[str, Any]] = {}
    tags_by_pk: dict[int, set[int]] = {}
    for row, stored, household in updates:
        changes = _changes(row, stored, household, errors)
        if changes is None:
            continue
        wished = {tag.pk for tag in row.tags} if row.tags is not None else None
        if wished is not None and wished != stored_tags.get(stored.pk, set()):
            tags_by_pk[stored.pk] = wished
        if changes or stored.pk in tags_by_pk:
            changes_by_pk[stored.pk] = changes
        else:
            plan.unchanged += 1
    # Only residents that change become model instances (loading one decrypts its identifiers).
    changed_pks = sorted(changes_by_pk)
    for pk_chunk in chunks(changed_pks):
        for changed in Resident.objects.filter(pk__in=pk_chunk).order_by():
            for name, value in changes_by_pk[changed.pk].items():
                setattr(changed, name, value)  # id_number and phone set their hash twins too
            plan.changed_fields.update(changes_by_pk[changed.pk])
            plan.changed_residents.append(changed)
            if changed.pk in tags_by_pk:
                plan.resident_tags.append((changed, tags_by_pk[changed.pk]))
    plan.changed_fields |= {f"{name}_hash" for name in ("id_number", "phone") if name in plan.changed_fields}

    building_by_pk = {b.pk: b for b in buildings.values()}
    existing_by_key = {
        (b.road, b.lane, b.number, room): household
        for (building_id, room), household in households.items()
        if (b := building_by_pk.get(building_id)) is not None
    }
    stored_household_tags = tag_ids_of(
        Household.tags.through,
        "household",
        sorted(h.pk for k, h in existing_by_key.items() if k in household_tag_wish),
    )
    for key, wished_ids in household_tag_wish.items():
        household = new_households.get(key) or existing_by_key[key]
        if household.pk is None:
            if wished_ids:
                plan.household_tags.append((household, wished_ids))
        elif wished_ids != stored_household_tags.get(household.pk, set()):
            plan.household_tags.append((household, wished_ids))
            plan.changed_households.append(household)

    plan.new_compounds = list(new_compounds.values())
    plan.changed_compounds = list(changed_compounds.values())
    plan.new_buildings = list(new_buildings.values())
    plan.changed_buildings = list(changed_buildings.values())
    plan.new_households = list(new_households.values())
    plan.provisional_places = len(provisional)
    return plan


def _fill_compound(compound: Compound, row: Row) -> bool:
    """Take the row's 业委会/物业 where given; True if that changes the compound."""
    changed = False
    if row.owners_committee and compound.owners_committee != row.owners_committee:
        compound.owners_committee, changed = row.owners_committee, True
    if row.property_company and compound.property_company != row.property_company:
        compound.property_company, changed = row.property_company, True
    return changed


def _match_resident(
    row: Row,
    household: Household,
    by_hash: dict[str, Stored],
    by_name: dict[tuple[int, str], list[Stored]],
    ref: Reference,
    errors: RowErrors,
) -> tuple[bool, Stored | None]:
    """(False, None) when the row is in error; else (True, the stored resident it means or None for a new one)."""
    if row.id_number:
        resident = by_hash.get(row.id_hash)
        if resident is not None:
            if resident.area_id not in ref.area_ids:
                errors.add(
                    row.line,
                    Col.ID_NUMBER,
                    _(
                        "该身份证号已登记在您管理范围以外的居民名下，不能在此导入；如居民已搬迁，请联系街道管理员。"
                    ),
                )
                return False, None
            return True, resident
    if household.pk is None:
        return True, None
    namesakes = by_name.get((household.pk, row.name), [])
    if row.id_number:
        # A person recorded without an ID number gets one: same household, same name, no stored ID.
        namesakes = [r for r in namesakes if not r.id_number_hash]
    if len(namesakes) > 1:
        errors.add(
            row.line,
            Col.NAME,
            _("该户登记了 %(n)d 位名为“%(name)s”的居民，无法确定是哪一位：请填写身份证号。")
            % {"n": len(namesakes), "name": row.name},
        )
        return False, None
    return True, (namesakes[0] if namesakes else None)


def _new_resident(row: Row, household: Household) -> Resident:
    resident = Resident(
        household=household,
        name=row.name,
        gender=row.gender or "",
        birth_date=row.birth_date,
        relation=row.relation or Relation.OTHER,
        notes=row.notes or "",
    )
    if row.id_number:
        resident.id_number = row.id_number
    if row.phone:
        resident.phone = row.phone
    return resident


def _changes(row: Row, stored: Stored, household: Household, errors: RowErrors) -> dict[str, Any] | None:
    """What the row changes on the stored resident, as {field: new value}; None when the row is in error."""
    if row.id_mask:
        masked = stored.id_number.masked if stored.id_number else ""
        if masked != row.id_mask:
            errors.add(
                row.line,
                Col.ID_NUMBER,
                _("脱敏身份证号与系统中登记的（%(stored)s）不一致：如需更改，请填写完整号码。")
                % {"stored": masked or _("未登记")},
            )
            return None
    if row.phone_mask:
        masked = stored.phone.masked if stored.phone else ""
        if masked != row.phone_mask:
            errors.add(
                row.line,
                Col.PHONE,
                _("脱敏手机号与系统中登记的（%(stored)s）不一致：如需更改，请填写完整号码。")
                % {"stored": masked or _("未登记")},
            )
            return None

    changes: dict[str, Any] = {}
    if household.pk is None or stored.household_id != household.pk:
        changes["household"] = household
    wanted = {
        "name": row.name,
        "gender": row.gender,
        "birth_date": row.birth_date,
        "relation": row.relation,
        "notes": row.notes,
        "active": True,
    }
    for name, value in wanted.items():
        # None: the sheet does not say (empty cell or no such column), so the stored value stays.
        if value is not None and getattr(stored, name) != value:
            changes[name] = value
    if row.id_number and stored.id_number_hash != row.id_hash:
        changes["id_number"] = row.id_number
    if row.phone and stored.phone_hash != row.phone_hash:
        changes["phone"] = row.phone
    return changes


# --- writing -------------------------------------------------------------------------------------------------


def write_plan(plan: Plan, *, user: User | None, reason: str) -> None:
    """All writes in one short transaction: bulk inserts and updates, history rows with the importing user."""
    now = timezone.now()
    history = {"default_user": user, "default_change_reason": reason[:100], "default_date": now}
    # Encrypt before the transaction starts, so it holds its locks only for the inserts.
    for resident in [*plan.new_residents, *plan.changed_residents]:
        values: tuple[Any, ...] = (resident.id_number, resident.phone)
        for value in values:
            if value:
                value.token()
    for resident in plan.changed_residents:
        resident.updated_at = now
    for household in plan.changed_households:
        household.updated_at = now
    try:
        with transaction.atomic():
            Compound.objects.bulk_create(plan.new_compounds, batch_size=BATCH)
            Compound.objects.bulk_update(
                plan.changed_compounds, ["owners_committee", "property_company"], batch_size=BATCH
            )
            Building.objects.bulk_create(plan.new_buildings, batch_size=BATCH)
            Building.objects.bulk_update(plan.changed_buildings, ["lat", "lng"], batch_size=BATCH)
            bulk_create_with_history(plan.new_households, Household, batch_size=BATCH, **history)
            bulk_update_with_history(
                plan.changed_households, Household, ["updated_at"], batch_size=BATCH, **history
            )
            bulk_create_with_history(plan.new_residents, Resident, batch_size=BATCH, **history)
            bulk_update_with_history(
                plan.changed_residents,
                Resident,
                sorted({*plan.changed_fields, "updated_at"}),
                batch_size=BATCH,
                **history,
            )
            _set_tags(Household, "household", plan.household_tags)
            _set_tags(Resident, "resident", plan.resident_tags)
            # Each new history row records the tags as they are now, as simple_history does for a save().
            _snapshot_tags(Household, "household", [*plan.new_households, *plan.changed_households], now)
            _snapshot_tags(Resident, "resident", [*plan.new_residents, *plan.changed_residents], now)
    except IntegrityError as error:
        raise ApplicationError(
            _(
                "导入未完成：数据在校验之后被其他操作修改了（例如同时进行的另一次导入）。没有写入任何数据，请重新导入。"
            )
        ) from error


def _set_tags(model: type[models.Model], owner: str, wishes: list[tuple[Any, set[int]]]) -> None:
    if not wishes:
        return
    through = model.tags.through  # type: ignore[attr-defined]
    owner_ids = [obj.pk for obj, _tags in wishes]
    for chunk in chunks(owner_ids):
        through.objects.filter(**{f"{owner}_id__in": chunk}).delete()
    through.objects.bulk_create(
        [
            through(**{f"{owner}_id": obj.pk, "tag_id": tag_id})
            for obj, tag_ids in wishes
            for tag_id in sorted(tag_ids)
        ],
        batch_size=BATCH,
    )


def _snapshot_tags(model: type[models.Model], owner: str, objs: Sequence[models.Model], now: datetime) -> None:
    if not objs:
        return
    history_model = model.history.model  # type: ignore[attr-defined]
    m2m_history_model = apps.get_model(model._meta.app_label, f"{history_model.__name__}_tags")
    through = model.tags.through  # type: ignore[attr-defined]
    ids = [obj.pk for obj in objs]
    rows = []
    for chunk in chunks(ids):
        records = dict(
            history_model.objects.filter(history_date=now, id__in=chunk).values_list("id", "history_id")
        )
        for through_id, owner_id, tag_id in through.objects.filter(**{f"{owner}_id__in": chunk}).values_list(
            "id", f"{owner}_id", "tag_id"
        ):
            if owner_id in records:
                rows.append(
                    m2m_history_model(
                        history_id=records[owner_id], id=through_id, tag_id=tag_id, **{f"{owner}_id": owner_id}
                    )
                )
    m2m_history_model.objects.bulk_create(rows, batch_size=BATCH)


# --- the whole import ------------------------------------------------------------------------------------------


@dataclass
class ImportResult:
    counts: dict[str, int]
    rows: int
    summary: list[str]

    def as_job_result(self) -> dict[str, Any]:
        c = self.counts
        return {
            "message": _("导入完成：新增 %(created)d 人，更新 %(updated)d 人，未变 %(unchanged)d 人。") % c,
            "summary": self.summary,
            "counts": c,
        }


def read_cells(
    source: IO[bytes] | Path | str, filename: str, errors: RowErrors
) -> tuple[list[tuple[int, Cells]], list[str]]:
    """Read the sheet and map its headers to ours. Returns the rows and the headers we do not know (ignored).
    A sheet without the required headers, or without rows, is refused."""
    try:
        table = read_table(source, filename)
    except zipfile.BadZipFile as error:
        # read_table does not catch this one: a file named .xlsx that is not a zip archive at all.
        raise ApplicationError(_("无法读取该 Excel 文件：文件损坏或不是 xlsx 格式。")) from error
    mapping: dict[str, str] = {}
    ignored: list[str] = []
    for header in table.headers:
        if not header:
            continue
        canonical = canonical_header(header)
        if canonical not in KNOWN_HEADERS:
            ignored.append(header)
        elif canonical in mapping.values():
            errors.add(None, header, _("表头中“%(c)s”列出现了不止一次。") % {"c": canonical})
        else:
            mapping[header] = canonical
    present = set(mapping.values())
    missing = [c.name for c in COLUMNS if c.required and c.name not in present]
    if Col.ADDRESS in missing and {Col.ROAD, Col.NUMBER} <= present:
        missing.remove(Col.ADDRESS)
    for name in missing:
        errors.add(None, name, _("表头缺少必需的列“%(c)s”：请使用导入模板的表头。") % {"c": name})
    errors.raise_if_any()
    if not table.rows:
        raise ApplicationError(_("文件中只有表头，没有数据行。"))
    if len(table.rows) > MAX_ROWS:
        raise ApplicationError(
            _("文件有 %(n)d 行，超过一次最多 %(max)d 行：请分成几个文件导入。")
            % {"n": len(table.rows), "max": MAX_ROWS}
        )
    rows = [
        (
            line,
            Cells(
                {mapping[h]: unescape_cell(v.strip()) for h, v in values.items() if h in mapping and v}, present
            ),
        )
        for line, values in table.rows
    ]
    return rows, ignored


def import_registry(
    *,
    source: IO[bytes] | Path | str,
    filename: str,
    user: User | None,
    progress: ProgressFn | None = None,
) -> ImportResult:
    """Import one sheet for `user` (None: the command line's system actor). Raises ApplicationError listing every
    error by row and column, having written nothing; otherwise writes all rows and audits the import."""
    require_import(user)
    report = progress or (lambda done, total, message: None)
    errors = RowErrors()
    try:
        report(0, 100, _("正在读取文件…"))
        cells, ignored = read_cells(source, filename, errors)
        ref = Reference(user)
        rows: list[Row] = []
        for index, (line, row_cells) in enumerate(cells):
            if index % 1000 == 0:
                report(5 + 25 * index // len(cells), 100, _("正在校验第 %(n)d 行…") % {"n": line})
            row = check_row(line, row_cells, ref, errors)
            if row is not None:
                rows.append(row)
        check_across_rows(rows, errors)
        errors.raise_if_any()
        report(30, 100, _("正在与已登记的数据核对…"))
        plan = plan_import(rows, ref, errors, lambda pct: report(pct, 100, _("正在与已登记的数据核对…")))
        errors.raise_if_any()
        report(60, 100, _("正在写入…"))
        counts = plan.counts()
        # The audit row commits with the data or not at all.
        with transaction.atomic():
            write_plan(plan, user=user, reason=_("导入：%(file)s") % {"file": filename})
            audit(
                user=user,
                action=AuditAction.IMPORT,
                target_type="registry.resident",
                detail={
                    "file": filename,
                    "status": "succeeded",
                    "rows": len(rows),
                    "areas": sorted({row.area.code for row in rows}),
                    **counts,
                },
                username="" if user else SYSTEM_ACTOR,
            )
    except ApplicationError as failure:
        audit(
            user=user,
            action=AuditAction.IMPORT,
            target_type="registry.resident",
            detail={"file": filename, "status": "failed", "errors": failure.extra.get("error_count", 1)},
            username="" if user else SYSTEM_ACTOR,
        )
        raise
    report(100, 100, _("导入完成"))
    summary = [
        _("共 %(n)d 行：新增居民 %(created)d 人，更新 %(updated)d 人，未变 %(unchanged)d 人。")
        % {"n": len(rows), **counts},
        _("新建小区 %(compounds_created)d 个、楼栋 %(buildings_created)d 栋、户 %(households_created)d 户。")
        % counts,
    ]
    if plan.provisional_places:
        summary.append(
            _("%(n)d 栋新楼栋没有填写经纬度，暂用居委会位置，请到地图上校正。") % {"n": plan.provisional_places}
        )
    if ignored:
        summary.append(_("以下列无法识别，已忽略：%(cols)s。") % {"cols": "、".join(ignored)})
    return ImportResult(counts=counts, rows=len(rows), summary=summary)


def import_handler(job: Job, progress: ProgressFn) -> dict[str, Any]:
    """The background job behind the import page. The uploaded file holds clear ID numbers, so it is deleted
    once read, whatever the outcome."""
    user = job.created_by
    if user is None:
        raise ApplicationError(_("发起导入的用户已不存在。"))
    filename = str(job.params.get("filename") or (job.input_file.name or "").rsplit("/", 1)[-1])
    try:
        with job.input_file.open("rb") as handle:
            data = handle.read()
    finally:
        job.input_file.delete(save=False)
        job.save(update_fields=["input_file"])
    try:
        result = import_registry(source=BytesIO(data), filename=filename, user=user, progress=progress)
    except PermissionDenied as refused:
        raise ApplicationError(str(refused)) from refused
    return result.as_job_result()


# --- the template ---------------------------------------------------------------------------------------------


def example_id_number() -> str:
    first17 = "31010619500307001"
    return first17 + id_check_char(first17)


def template_xlsx(user: User | None) -> bytes:
    """The import template: our headers with one example row, and a sheet explaining every column."""
    ref = Reference(user)
    areas = sorted({a for found in ref.areas.values() for a in found}, key=lambda a: a.code)
    active = sorted((tag for tag in ref.tags.values() if tag.active), key=lambda t: (t.sort_order, t.name))
    example = {
        Col.AREA: areas[0].name if areas else "恒德里",
        Col.COMPOUND: "示例小区",
        Col.ADDRESS: "示例路1弄1号",
        Col.ROOM: "101",
        Col.NAME: "张三",
        Col.GENDER: "男",
        Col.BIRTH_DATE: "1950-03-07",
        Col.ID_NUMBER: example_id_number(),
        Col.PHONE: "13800138000",
        Col.RELATION: "户主",
        Col.TAGS: "、".join(tag.name for tag in active[:2]),
        Col.HOUSEHOLD_TAGS: "",
        Col.LNG: "121.4508",
        Col.LAT: "31.2376",
        Col.OWNERS_COMMITTEE: "示例小区业主委员会",
        Col.PROPERTY_COMPANY: "示例物业公司",
        Col.NOTES: _("示例行，导入前请删除或改为真实信息"),
    }
    explain_rows: list[list[str]] = [
        [column.name, _("必填") if column.required else _("选填"), str(column.help), example[column.name]]
        for column in COLUMNS
    ]
    explain_rows += [
        ["", "", "", ""],
        [_("可用的居民区"), "", "、".join(f"{a.name}（{a.code}）" for a in areas), ""],
        [_("可用的标签"), "", "、".join(tag.name for tag in active), ""],
        [_("与户主关系"), "", "、".join(RELATION_LABELS.values()), ""],
        [
            _("规则"),
            "",
            _(
                "导入前逐行校验，只要有一处错误就不写入任何数据，并列出每处错误的行号和列名。"
                "同一身份证号（无身份证号时为同一户的同名居民）视为同一人：更新而不重复登记，修改记入历史。"
                "文件中没有的居民不会被删除。"
            ),
            "",
        ],
    ]
    output = BytesIO()
    write_xlsx(
        output,
        [
            (_("居民信息"), HEADERS, [[example[h] for h in HEADERS]]),
            (_("填写说明"), [_("列名"), _("是否必填"), _("说明"), _("示例")], explain_rows),
        ],
    )
    return output.getvalue()
