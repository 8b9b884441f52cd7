"""The English catalogue: complete, compiled, placeholder-safe, true to the glossary, and used by the pages."""

import ast
import html
import re
import struct
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from ningju.core.models import User
from tests.conftest import World

LC_MESSAGES = Path(__file__).resolve().parent.parent / "ningju" / "locale" / "en" / "LC_MESSAGES"
PO_FILE = LC_MESSAGES / "django.po"
MO_FILE = LC_MESSAGES / "django.mo"

# Chinese characters and full-width punctuation: none may be left in the English navigation.
CHINESE = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")
# printf-style placeholders as Python's % operator reads them (%(name)s, %d, %.1f …); "%%" is a literal percent.
PLACEHOLDER = re.compile(r"%(?:\(\w+\))?[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrs%]")
BRACES = re.compile(r"\{\w*\}")


@dataclass
class Entry:
    msgid: str = ""
    msgid_plural: str | None = None
    msgctxt: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)  # index 0 alone for an entry without plural
    flags: set[str] = field(default_factory=set)
    line: int = 0


def read_po(path: Path) -> list[Entry]:
    """A small PO reader: enough for the catalogue makemessages writes (no obsolete "#~" entries)."""
    entries: list[Entry] = []
    entry = Entry()
    target: tuple[str, int] | None = None

    def finish() -> None:
        nonlocal entry
        if entry.msgstr or entry.msgid:
            entries.append(entry)
        entry = Entry()

    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line:
            finish()
            target = None
            continue
        if line.startswith("#~"):
            raise AssertionError(f"{path.name}:{number}: obsolete entry; run makemessages with --no-obsolete")
        if line.startswith("#,"):
            entry.flags |= {flag.strip() for flag in line[2:].split(",") if flag.strip()}
            continue
        if line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        if line.startswith('"'):
            keyword, rest = "", line
        if keyword:
            if keyword == "msgid" and entry.msgstr:  # a new entry without a blank line before it
                finish()
            entry.line = entry.line or number
            match = re.fullmatch(r"msgstr\[(\d+)\]", keyword)
            if keyword in ("msgid", "msgid_plural", "msgctxt"):
                target = (keyword, 0)
                setattr(entry, keyword, "")
            elif keyword == "msgstr":
                target = ("msgstr", 0)
                entry.msgstr[0] = ""
            elif match:
                target = ("msgstr", int(match.group(1)))
                entry.msgstr[target[1]] = ""
            else:
                raise AssertionError(f"{path.name}:{number}: cannot read {raw!r}")
        assert target is not None, f"{path.name}:{number}: text outside an entry"
        text = ast.literal_eval(rest)
        name, index = target
        if name == "msgstr":
            entry.msgstr[index] += text
        else:
            setattr(entry, name, getattr(entry, name) + text)
    finish()
    return entries


def read_mo(path: Path) -> dict[str, str]:
    """Every original → translation pair stored in a GNU .mo file, as gettext would key them."""
    data = path.read_bytes()
    magic = struct.unpack("<I", data[:4])[0]
    order = "<" if magic == 0x950412DE else ">"
    assert struct.unpack(order + "I", data[:4])[0] == 0x950412DE, "not a GNU .mo file"
    count, originals, translations = struct.unpack(order + "3I", data[8:20])
    pairs = {}
    for i in range(count):
        olen, ooff = struct.unpack(order + "2I", data[originals + 8 * i : originals + 8 * i + 8])
        tlen, toff = struct.unpack(order + "2I", data[translations + 8 * i : translations + 8 * i + 8])
        pairs[data[ooff : ooff + olen].decode("utf-8")] = data[toff : toff + tlen].decode("utf-8")
    return pairs


def mo_key(entry: Entry) -> tuple[str, str]:
    """The key and value msgfmt writes for a PO entry (context joined by EOT, plural forms by NUL)."""
    key = entry.msgid if entry.msgid_plural is None else entry.msgid + "\0" + entry.msgid_plural
    if entry.msgctxt is not None:
        key = entry.msgctxt + "\x04" + key
    value = "\0".join(entry.msgstr[i] for i in sorted(entry.msgstr))
    return key, value


def placeholders(text: str) -> list[str]:
    return sorted([p for p in PLACEHOLDER.findall(text) if p != "%%"] + BRACES.findall(text))


@pytest.fixture(scope="module")
def catalogue() -> list[Entry]:
    entries = [entry for entry in read_po(PO_FILE) if entry.msgid]
    # The project's UI has hundreds of strings; an almost empty catalogue means the reader or the file broke.
    assert len(entries) > 100
    return entries


def test_every_catalogue_entry_is_translated_and_not_fuzzy(catalogue: list[Entry]) -> None:
    header = read_po(PO_FILE)[0]
    assert header.msgid == "" and "fuzzy" not in header.flags
    assert "Language: en\n" in header.msgstr[0]
    plural_forms = re.search(r"nplurals=(\d+)", header.msgstr[0])
    assert plural_forms, "the header has no Plural-Forms"
    nplurals = int(plural_forms.group(1))
    problems = []
    for entry in catalogue:
        if "fuzzy" in entry.flags:
            problems.append(f"line {entry.line}: fuzzy: {entry.msgid}")
        expected = nplurals if entry.msgid_plural is not None else 1
        if sorted(entry.msgstr) != list(range(expected)):
            problems.append(
                f"line {entry.line}: {len(entry.msgstr)} translations, expected {expected}: {entry.msgid}"
            )
        if not all(text.strip() for text in entry.msgstr.values()):
            problems.append(f"line {entry.line}: untranslated: {entry.msgid}")
    assert not problems, "\n".join(problems)


def without_creation_date(header: str) -> str:
    """msgfmt leaves POT-Creation-Date out of the compiled header, so that rebuilding is reproducible."""
    return "".join(line for line in header.splitlines(keepends=True) if not line.startswith("POT-Creation-Date:"))


def test_compiled_catalogue_matches_the_po_file() -> None:
    expected = dict(mo_key(entry) for entry in read_po(PO_FILE))
    expected[""] = without_creation_date(expected[""])
    compiled = read_mo(MO_FILE)
    compiled[""] = without_creation_date(compiled.get("", ""))
    stale = {key: (compiled.get(key), value) for key, value in expected.items() if compiled.get(key) != value}
    extra = set(compiled) - set(expected)
    assert not stale and not extra, (
        "django.mo is out of date: run `ningju compilemessages -l en` in ningju/ "
        f"(differing: {list(stale)[:5]}, only in .mo: {list(extra)[:5]})"
    )


def test_translations_keep_every_placeholder(catalogue: list[Entry]) -> None:
    problems = []
    for entry in catalogue:
        sources = [entry.msgid] if entry.msgid_plural is None else [entry.msgid, entry.msgid_plural]
        for index, text in entry.msgstr.items():
            source = sources[min(index, len(sources) - 1)]
            # In English the singular may spell out "one" instead of the number, but names must all be kept.
            wanted = placeholders(source)
            if index == 0 and entry.msgid_plural is not None:
                wanted = [p for p in wanted if p.startswith("%(")]
                have = [p for p in placeholders(text) if p.startswith("%(")]
            else:
                have = placeholders(text)
            if sorted(set(have)) != sorted(set(wanted)) or (entry.msgid_plural is None and have != wanted):
                problems.append(f"line {entry.line}: {wanted} in {source!r} but {have} in {text!r}")
    assert not problems, "\n".join(problems)


# One English rendering per glossary term (DOMAIN.md), wherever the Chinese term appears in a message.
GLOSSARY = {
    "居委会": "residents' committee",
    "业委会": "owners' committee",
    "物业": "property",
    "小区": "compound",
    "楼栋": "building",
    "必访": "must-visit",
    "必巡": "must-patrol",
    "走访": "visit",
    "诉求": "demand",
    "脱敏": "mask",
    "审计": "audit",
}


def test_glossary_terms_are_translated_consistently(catalogue: list[Entry]) -> None:
    problems = [
        f"line {entry.line}: {term} should read {english!r}: {text!r}"
        for entry in catalogue
        for term, english in GLOSSARY.items()
        if term in entry.msgid
        for text in entry.msgstr.values()
        if english not in text.lower()
    ]
    assert not problems, "\n".join(problems)


def english_client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    response = client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert response.status_code == 302
    return client


def navigation(body: str) -> str:
    match = re.search(r'<nav class="mainnav"[^>]*>(.*?)</nav>', body, re.DOTALL)
    assert match, "the page has no main navigation"
    return html.unescape(match.group(0))  # tags included: the aria-label must be translated too


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["admin", "head", "cadre"])
@pytest.mark.parametrize("page", ["home", "area_list", "search", "tag_list"])
def test_english_navigation_has_no_chinese_left(world: World, role: str, page: str) -> None:
    response = english_client(getattr(world, role)).get(reverse(page), follow=True)  # home redirects area users
    assert response.status_code == 200
    body = response.content.decode()
    nav = navigation(body)
    assert '<html lang="en">' in body
    for label in ("Residential areas", "Search", "Tags", "Main navigation"):
        assert label in nav
    assert not CHINESE.findall(nav), f"Chinese left in the English navigation: {nav!r}"


@pytest.mark.django_db
def test_chinese_stays_the_default_language(world: World) -> None:
    client = Client()
    client.force_login(world.cadre)
    nav = navigation(client.get(reverse("area_list")).content.decode())
    assert "居民区" in nav and "Residential areas" not in nav


@pytest.mark.django_db
def test_english_area_list_translates_the_page_not_the_data(world: World) -> None:
    body = english_client(world.admin).get(reverse("area_list")).content.decode()
    assert "<h1>Residential areas</h1>" in body
    assert "Must-visit households" in body and "Households" in body
    # Names of places are data, not interface text: they stay as registered.
    assert "恒德里" in body and "又一村" in body
