"""Generated people for the demo street: names by generation, valid ID numbers, households of an old town.

Pure functions of a seeded `random.Random` and a reference date: the same seed gives the same people.
"""

import itertools
import random
from dataclasses import dataclass, field
from datetime import date

from ningju.core.identifiers import id_check_char
from ningju.registry.demo import reference as ref
from ningju.registry.models import Gender, Relation, Tenure

_SURNAMES = tuple(ref.SURNAMES)
_SURNAME_WEIGHTS = tuple(itertools.accumulate(ref.SURNAMES.values()))  # cumulative: choices() skips summing
_LOCAL_REGIONS = tuple(ref.LOCAL_REGIONS)
_LOCAL_WEIGHTS = tuple(itertools.accumulate(ref.LOCAL_REGIONS.values()))

# Household kinds and their shares. Owners and public-housing tenants: an old town where a quarter of households
# are elderly couples or people living alone; private tenants: mostly young singles, couples and flat-sharers.
SETTLED_KINDS: dict[str, float] = {
    "alone_elderly": 0.052,
    "elderly_couple": 0.23,
    "single_adult": 0.09,
    "couple": 0.09,
    "nuclear": 0.22,
    "three_generations": 0.11,
    "elder_with_child": 0.15,
}
RENTING_KINDS: dict[str, float] = {"single_adult": 0.40, "couple": 0.20, "nuclear": 0.15, "sharers": 0.25}
# Share of households on low income or minimum living allowance, by tenure (public housing is poorer).
HARDSHIP_BY_TENURE: dict[str, float] = {
    Tenure.PUBLIC_RENT: 0.036,
    Tenure.OWNER: 0.014,
    Tenure.TENANT: 0.018,
    Tenure.OTHER: 0.025,
}
BEREAVED_SHARE_OF_ELDERLY = 0.014  # 失独: among elderly couples and elderly living alone
WATCH_SHARE = 0.0045  # 重点关注 among adults 18–75

ALONE_NOTES = (
    "子女在外区居住，每周探望",
    "子女在国外，委托邻居照看",
    "无子女，由侄女照顾",
    "子女每月探望一次",
    "独自居住，生活能自理",
    "腿脚不便，需上门服务",
    "已申请助餐服务",
)
HARDSHIP_NOTES = ("享受最低生活保障", "低收入家庭", "因病致贫，支出型困难", "重残无业，享受低保")
BEREAVED_NOTES = ("独生子女已故，需常关心", "失独家庭，已纳入特扶", "老两口相依，情绪需关注")
DISABILITY_KINDS = ("肢体", "视力", "听力", "言语", "智力", "精神")
ENTITLED_NOTES = ("退役军人", "军属", "烈属", "伤残军人", "复员军人")
WATCH_NOTES = ("精神障碍患者（稳定期）", "社区矫正对象", "邻里纠纷当事人", "独居且患重病", "长期信访")
LEVELS = "一二三四"


@dataclass(slots=True)
class PersonDraft:
    """One resident before it is written: plain ID and phone numbers (encrypted on save)."""

    name: str
    gender: str
    birth_date: date
    id_number: str
    phone: str
    relation: str
    tags: list[str] = field(default_factory=list)
    notes: str = ""


@dataclass(slots=True)
class HouseholdDraft:
    room: str
    tenure: str
    residents: list[PersonDraft]
    tags: list[str] = field(default_factory=list)
    notes: str = ""


def age_on(birth: date, today: date) -> int:
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


class IdIssuer:
    """Issues GB 11643 ID numbers that never repeat: region + birth date + a 3-digit sequence whose last digit is
    odd for men, even for women, + the check character."""

    def __init__(self) -> None:
        # Per (region, birth date, gender) how many numbers were issued; ints keep it small at 200,000 households.
        self._issued: dict[int, int] = {}

    def issue(self, region: str, birth: date, gender: str) -> tuple[str, date]:
        """An unused ID number and the birth date it encodes (moved a day on in the unlikely case that all 500
        sequence numbers of that day are taken)."""
        male = gender == Gender.MALE
        while True:
            ordinal = birth.toordinal()
            key = (int(region) * 1_000_000 + ordinal) * 2 + male
            n = self._issued.get(key, 0)
            if n < 500:
                break
            birth = date.fromordinal(ordinal + 1)
        self._issued[key] = n + 1
        # 37 is coprime to 500, so the first 500 numbers of a day are distinct; the offset varies them by day.
        serial = ((ordinal * 7919 + int(region)) + n * 37) % 500
        first17 = f"{region}{birth:%Y%m%d}{serial * 2 + male:03d}"
        return first17 + id_check_char(first17), birth


class PeopleMaker:
    """Makes people and households. One per run: the ID issuer guarantees unique ID numbers street-wide."""

    def __init__(self, rng: random.Random, today: date, ids: IdIssuer | None = None) -> None:
        self.rng = rng
        self.today = today
        self.ids = ids or IdIssuer()

    # --- names and numbers ------------------------------------------------------------------------------------
    def surname(self) -> str:
        return self.rng.choices(_SURNAMES, cum_weights=_SURNAME_WEIGHTS)[0]

    def given_name(self, gender: str, birth_year: int) -> str:
        for until, men, women in ref.GIVEN_NAMES:
            if birth_year <= until:
                return self.rng.choice(men if gender == Gender.MALE else women)
        raise AssertionError("the last generation covers every year")

    def full_name(self, gender: str, birth_year: int, surname: str | None = None) -> str:
        return (surname or self.surname()) + self.given_name(gender, birth_year)

    def mobile(self) -> str:
        return self.rng.choice(ref.MOBILE_PREFIXES) + f"{self.rng.randrange(100_000_000):08d}"

    def landline(self) -> str:
        return f"021-{self.rng.choice('56')}2{self.rng.randrange(1_000_000):06d}"

    def birth_date(self, age: int) -> date:
        """A birth date that makes someone `age` years old on the reference date."""
        latest = _years_before(self.today, age)
        earliest = _years_before(self.today, age + 1).toordinal() + 1
        return date.fromordinal(self.rng.randint(earliest, latest.toordinal()))

    def person(
        self, *, age: int, gender: str, relation: str, surname: str | None = None, migrant: bool = False
    ) -> PersonDraft:
        birth = self.birth_date(max(age, 0))
        if migrant:
            region = self.rng.choice(ref.MIGRANT_REGIONS)
        else:
            region = self.rng.choices(_LOCAL_REGIONS, cum_weights=_LOCAL_WEIGHTS)[0]
        id_number, birth = self.ids.issue(region, birth, gender)
        age = age_on(birth, self.today)
        has_phone = age >= 14 and (age < 85 or self.rng.random() < 0.5)
        return PersonDraft(
            name=self.full_name(gender, birth.year, surname),
            gender=gender,
            birth_date=birth,
            id_number=id_number,
            phone=self.mobile() if has_phone else "",
            relation=relation,
        )

    # --- households -------------------------------------------------------------------------------------------
    def household(self, room: str, tenure: str) -> HouseholdDraft:
        """One household in `room`; vacant rooms have nobody registered."""
        if tenure == Tenure.VACANT:
            return HouseholdDraft(room=room, tenure=tenure, residents=[], notes=self.rng.choice(("", "房屋空置")))
        renting = tenure == Tenure.TENANT
        kinds = RENTING_KINDS if renting else SETTLED_KINDS
        kind = self.rng.choices(tuple(kinds), tuple(kinds.values()))[0]
        migrant = renting and self.rng.random() < 0.7
        members = self._members(kind, migrant)
        draft = HouseholdDraft(room=room, tenure=tenure, residents=members)
        self._tag_household(draft, kind)
        for member in members:
            self._tag_resident(member)
        return draft

    def _tag_household(self, draft: HouseholdDraft, kind: str) -> None:
        rng = self.rng
        notes = []
        if kind == "alone_elderly":
            draft.tags.append(ref.TAG_LIVING_ALONE)
            notes.append(rng.choice(ALONE_NOTES))
        if rng.random() < HARDSHIP_BY_TENURE.get(draft.tenure, 0.025):
            draft.tags.append(ref.TAG_HARDSHIP)
            notes.append(rng.choice(HARDSHIP_NOTES))
        if kind in ("alone_elderly", "elderly_couple") and rng.random() < BEREAVED_SHARE_OF_ELDERLY:
            draft.tags.append(ref.TAG_BEREAVED)
            notes.append(rng.choice(BEREAVED_NOTES))
        draft.notes = "；".join(notes)

    def _tag_resident(self, person: PersonDraft) -> None:
        rng = self.rng
        age = age_on(person.birth_date, self.today)
        notes = []
        if age >= 80:
            person.tags.append(ref.TAG_OVER_80)
        disability = 0.01 if age < 18 else 0.022 if age < 60 else 0.045 if age < 80 else 0.08
        if rng.random() < disability:
            person.tags.append(ref.TAG_DISABILITY)
            notes.append(f"持残疾人证（{rng.choice(DISABILITY_KINDS)}{rng.choice(LEVELS)}级）")
        entitled = 0.032 if age >= 60 and person.gender == Gender.MALE else 0.002 if age >= 40 else 0.0
        if rng.random() < entitled:
            person.tags.append(ref.TAG_ENTITLED)
            notes.append(rng.choice(ENTITLED_NOTES))
        if 18 <= age <= 75 and rng.random() < WATCH_SHARE:
            person.tags.append(ref.TAG_WATCH)
            notes.append(rng.choice(WATCH_NOTES))
        person.notes = "；".join(notes)

    def _elderly_age(self, low: int, high: int, mode: int) -> int:
        return round(self.rng.triangular(low, high, mode))

    def _couple(self, husband_age: int, *, migrant: bool) -> tuple[PersonDraft, PersonDraft]:
        """A married couple, both with the relation 户主 until the caller says otherwise."""
        husband = self.person(age=husband_age, gender=Gender.MALE, relation=Relation.HEAD, migrant=migrant)
        wife_age = max(20, husband_age - self.rng.randint(-1, 5))
        wife = self.person(age=wife_age, gender=Gender.FEMALE, relation=Relation.HEAD, migrant=migrant)
        return husband, wife

    def _head_and_spouse(self, husband: PersonDraft, wife: PersonDraft) -> list[PersonDraft]:
        # The wife is the registered head about a third of the time.
        head, spouse = (wife, husband) if self.rng.random() < 0.35 else (husband, wife)
        head.relation, spouse.relation = Relation.HEAD, Relation.SPOUSE
        return [husband, wife]

    def _children(
        self, family: str, youngest_parent: int, count: int, relation: str, migrant: bool
    ) -> list[PersonDraft]:
        oldest = max(0, min(30, youngest_parent - 23))
        children = []
        for _ in range(count):
            surname = family if self.rng.random() < 0.95 else None
            gender = self.rng.choice((Gender.MALE, Gender.FEMALE))
            age = self.rng.randint(0, oldest)
            children.append(
                self.person(age=age, gender=gender, relation=relation, surname=surname, migrant=migrant)
            )
        return children

    def _members(self, kind: str, migrant: bool) -> list[PersonDraft]:
        rng = self.rng
        if kind == "alone_elderly":
            gender = Gender.FEMALE if rng.random() < 0.7 else Gender.MALE
            return [self.person(age=self._elderly_age(65, 99, 78), gender=gender, relation=Relation.HEAD)]
        if kind == "elderly_couple":
            return self._head_and_spouse(*self._couple(self._elderly_age(60, 95, 68), migrant=False))
        if kind == "single_adult":
            gender = rng.choice((Gender.MALE, Gender.FEMALE))
            return [
                self.person(
                    age=round(rng.triangular(22, 64, 35)), gender=gender, relation=Relation.HEAD, migrant=migrant
                )
            ]
        if kind == "couple":
            return self._head_and_spouse(*self._couple(round(rng.triangular(25, 68, 45)), migrant=migrant))
        if kind == "nuclear":
            husband, wife = self._couple(rng.randint(30, 58), migrant=migrant)
            parents = self._head_and_spouse(husband, wife)
            count = 1 if rng.random() < 0.88 else 2
            youngest = age_on(wife.birth_date, self.today)
            return [*parents, *self._children(husband.name[0], youngest, count, Relation.CHILD, migrant)]
        if kind == "three_generations":
            return self._three_generations()
        if kind == "elder_with_child":
            return self._elder_with_child()
        if kind == "sharers":
            return [
                self.person(
                    age=round(rng.triangular(20, 42, 26)),
                    gender=rng.choice((Gender.MALE, Gender.FEMALE)),
                    relation=Relation.HEAD if index == 0 else Relation.TENANT,
                    migrant=migrant,
                )
                for index in range(rng.randint(2, 4))
            ]
        raise ValueError(f"unknown household kind {kind!r}")

    def _three_generations(self) -> list[PersonDraft]:
        """Grandparent(s), their son or daughter with a partner, and a grandchild; the head is an elder or the
        middle generation."""
        rng = self.rng
        elder_age = self._elderly_age(58, 92, 68)
        if rng.random() < 0.55:
            elders = list(self._couple(elder_age, migrant=False))
        else:
            gender = Gender.FEMALE if rng.random() < 0.65 else Gender.MALE
            elders = [self.person(age=elder_age, gender=gender, relation=Relation.HEAD)]
        elders_head = rng.random() < 0.55
        middle_age = max(26, elder_age - rng.randint(24, 34))
        son = rng.random() < 0.6
        family = elders[0].name[0] if son and elders[0].gender == Gender.MALE else None
        child = self.person(
            age=middle_age, gender=Gender.MALE if son else Gender.FEMALE, relation=Relation.HEAD, surname=family
        )
        partner_age = max(24, middle_age + rng.randint(-4, 3))
        partner = self.person(
            age=partner_age, gender=Gender.FEMALE if son else Gender.MALE, relation=Relation.HEAD
        )
        kid_family = child.name[0] if son else partner.name[0]
        if elders_head:
            for index, elder in enumerate(elders):
                elder.relation = Relation.HEAD if index == 0 else Relation.SPOUSE
            child.relation, partner.relation, kid_relation = Relation.CHILD, Relation.OTHER, Relation.GRANDCHILD
        else:
            for elder in elders:
                elder.relation = Relation.PARENT
            child.relation, partner.relation, kid_relation = Relation.HEAD, Relation.SPOUSE, Relation.CHILD
        kids = self._children(kid_family, min(middle_age, partner_age), 1, kid_relation, False)
        return [*elders, child, partner, *kids]

    def _elder_with_child(self) -> list[PersonDraft]:
        """A very old parent living with a grown-up child (sometimes with the child's partner)."""
        rng = self.rng
        elder_age = self._elderly_age(68, 99, 80)
        elder_head = rng.random() < 0.6
        gender = Gender.FEMALE if rng.random() < 0.7 else Gender.MALE
        elder = self.person(
            age=elder_age, gender=gender, relation=Relation.HEAD if elder_head else Relation.PARENT
        )
        child_gender = rng.choice((Gender.MALE, Gender.FEMALE))
        child = self.person(
            age=max(35, elder_age - rng.randint(24, 34)),
            gender=child_gender,
            relation=Relation.CHILD if elder_head else Relation.HEAD,
            surname=elder.name[0] if gender == Gender.MALE and child_gender == Gender.MALE else None,
        )
        members = [elder, child]
        if rng.random() < 0.35:
            members.append(
                self.person(
                    age=max(33, age_on(child.birth_date, self.today) + rng.randint(-4, 4)),
                    gender=Gender.FEMALE if child_gender == Gender.MALE else Gender.MALE,
                    relation=Relation.OTHER if elder_head else Relation.SPOUSE,
                )
            )
        return members


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a year without one
        return day.replace(year=day.year - years, day=28)
