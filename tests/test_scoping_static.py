"""A test that cannot forget (issue 9): no view or API module fetches a record by id past the scoping layer.

Every `Model.objects.get(...)`, `<queryset>.filter(pk=...)` or `get_object_or_404(...)` in a page or API module
must take its queryset from `ningju.core.scoping` (`scoping.visible(user, ...)`, `scoping.get_for_user(...)`,
`scoping.fetch_for_write(...)`): written inside one of those calls, or on a queryset that one of them returned.
A lookup that is safe without it is listed in ALLOWED with the reason.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "ningju"

SCOPING_CALLS = {"visible", "get_for_user", "fetch_for_write", "get_or_404"}
LOOKUPS = {"get", "filter"}
BY_ID = {"pk", "id", "pk__in", "id__in"}

# (module relative to the repository, the source line's text, stripped) -> why the lookup needs no scoping.
ALLOWED: dict[tuple[str, str], str] = {
    ("ningju/visits/views/manage.py", "return Street.objects.get(pk=street_id)"): (
        "the user's own street: street_id comes from scoping.user_street_id(request.user), never from the request"
    ),
    (
        "ningju/api/tokens.py",
        'stored = User.objects.filter(pk=instance.pk).values("password", *SCOPE_FIELDS).first()',
    ): (
        "a pre_save receiver reading the stored row of the user being saved, to see whether their tokens must be "
        "revoked; no request is involved and nothing is shown"
    ),
}


def modules() -> list[Path]:
    found: set[Path] = set()
    for pattern in ("*/views.py", "*/views_*.py", "*/views/*.py", "*/api.py", "api/*.py"):
        found.update(PACKAGE.glob(pattern))
    return sorted(found)


def _root_of(node: ast.expr) -> ast.expr:
    """The start of a method chain: `A.objects.select_related(...).filter(...)` -> `A.objects` ... -> `A`."""
    while True:
        if isinstance(node, ast.Call):
            node = node.func
        elif isinstance(node, ast.Attribute):
            if node.attr == "objects" or node.attr == "_default_manager":
                return node
            node = node.value
        else:
            return node


def _is_scoping_call(node: ast.AST) -> bool:
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    return name in SCOPING_CALLS


def _unscoped_source(node: ast.expr) -> bool:
    """Does this chain start at a model manager (or a `*_queryset()` selector) rather than at a scoped queryset?"""
    root = _root_of(node)
    if isinstance(root, ast.Attribute) and root.attr in ("objects", "_default_manager"):
        return True
    # A selector that returns an unscoped queryset on purpose is named `<thing>_queryset()`.
    chain = node
    while isinstance(chain, ast.Call | ast.Attribute):
        if isinstance(chain, ast.Call):
            func = chain.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            if name.endswith("_queryset") or name == "_queryset":
                return True
            chain = func
        else:
            chain = chain.value
    return False


def violations(path: Path, relative: str = "") -> list[str]:
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source)
    parents: dict[ast.AST, ast.AST] = {}
    for parent in ast.walk(tree):
        for child in ast.iter_child_nodes(parent):
            parents[child] = parent
    lines = source.splitlines()
    relative = relative or str(path.relative_to(ROOT))
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        bad = False
        if isinstance(func, ast.Name) and func.id == "get_object_or_404":
            first = node.args[0] if node.args else None
            bad = not (first is not None and _is_scoping_call(first))
        elif isinstance(func, ast.Attribute) and func.attr in LOOKUPS:
            keywords = {keyword.arg for keyword in node.keywords}
            by_id = bool(keywords & BY_ID)
            is_get = func.attr == "get"
            bad = (is_get or by_id) and _unscoped_source(func.value)
        if not bad:
            continue
        ancestor = parents.get(node)
        while ancestor is not None and not _is_scoping_call(ancestor):
            ancestor = parents.get(ancestor)
        if ancestor is not None:
            continue  # written inside scoping.visible(...) / get_for_user(...)
        text = lines[node.lineno - 1].strip()
        if (relative, text) in ALLOWED:
            continue
        found.append(f"{relative}:{node.lineno}: {text}")
    return found


def test_the_scan_covers_the_page_and_api_modules() -> None:
    names = {str(path.relative_to(ROOT)) for path in modules()}
    assert "ningju/demands/api.py" in names
    assert "ningju/meetings/views/events.py" in names
    assert "ningju/api/views.py" in names
    assert "ningju/core/views.py" in names


def test_the_scan_finds_an_unscoped_lookup(tmp_path: Path) -> None:
    """The check itself can fail: each forbidden form is caught, each scoped form passes."""
    sample = tmp_path / "views.py"
    sample.write_text(
        "def a(request, pk):\n"
        "    Household.objects.get(pk=pk)\n"
        "    Household.objects.select_related('building').filter(pk=pk).first()\n"
        "    get_object_or_404(Household, pk=pk)\n"
        "    demand_queryset().get(pk=pk)\n"
        "    scoping.get_for_user(request.user, Household.objects.all(), pk=pk)\n"
        "    scoping.visible(request.user, Household.objects.filter(pk=pk)).exists()\n"
        "    get_object_or_404(scoping.visible(request.user, Household.objects.all()), pk=pk)\n",
        encoding="utf-8",
    )
    found = violations(sample, relative="sample/views.py")
    assert sorted(int(line.split(":")[1]) for line in found) == [2, 3, 4, 5]


@pytest.mark.parametrize("path", modules(), ids=lambda path: str(path.relative_to(PACKAGE)))
def test_no_lookup_by_id_bypasses_the_scoping_layer(path: Path) -> None:
    assert violations(path) == []


def test_every_allowed_lookup_still_exists() -> None:
    """An exception outlives its reason silently otherwise."""
    for (relative, text), reason in ALLOWED.items():
        assert reason
        assert text in (ROOT / relative).read_text(encoding="utf-8"), f"{relative}: {text}"
