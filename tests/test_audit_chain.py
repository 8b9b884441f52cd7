"""The audit log can be trusted: rows are append-only and hash-chained, `ningju audit verify` finds an edited, deleted
or inserted row, old rows are purged only past the legal minimum and the chain stays verifiable."""

import io
import threading
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from ningju.core.audit import audit, audit_purge, audit_seal, audit_verify, entry_hash
from ningju.core.models import AuditAction, AuditEntry
from tests.conftest import World


def write_some(world: World, count: int = 5) -> list[AuditEntry]:
    return [
        audit(
            user=world.admin,
            action=AuditAction.REVEAL,
            target=world.resident,
            field="id_number",
            reason=f"核实身份 {n}",
            detail={"b": n, "a": ["x", n]},
        )
        for n in range(count)
    ]


def raw_sql(sql: str, params: list[object]) -> None:
    """What someone with database access would do: bypass the application."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def verify_output() -> str:
    try:
        call_command("audit", "verify", stdout=(out := __import__("io").StringIO()))
    except CommandError as error:
        return f"BROKEN {error}"
    return out.getvalue()


def test_each_row_is_chained_to_the_one_before(world: World) -> None:
    first, second, third = write_some(world, 3)

    assert first.prev_hash == ""
    assert second.prev_hash == first.row_hash
    assert third.prev_hash == second.row_hash
    stored = AuditEntry.objects.get(pk=second.pk)
    assert stored.row_hash == entry_hash(stored, first.row_hash) == second.row_hash


def test_an_intact_log_verifies(world: World) -> None:
    write_some(world)

    assert audit_verify().intact
    assert "审计链完好：5 条记录" in verify_output()


def test_verify_finds_an_edited_row(world: World) -> None:
    rows = write_some(world)
    raw_sql("UPDATE core_auditentry SET reason = %s WHERE id = %s", ["无", rows[2].pk])

    report = audit_verify()

    assert (report.broken_id, report.problem) == (rows[2].pk, "edited")
    assert f"第 {rows[2].pk} 条" in verify_output()


def test_verify_finds_an_edited_detail(world: World) -> None:
    rows = write_some(world)
    raw_sql("UPDATE core_auditentry SET detail = %s WHERE id = %s", ['{"a": ["x", 1], "b": 99}', rows[1].pk])

    assert audit_verify().broken_id == rows[1].pk


def test_verify_finds_a_deleted_row(world: World) -> None:
    rows = write_some(world)
    raw_sql("DELETE FROM core_auditentry WHERE id = %s", [rows[2].pk])

    report = audit_verify()

    assert (report.broken_id, report.problem) == (rows[3].pk, "link")


def test_verify_finds_a_deleted_first_row(world: World) -> None:
    rows = write_some(world)
    raw_sql("DELETE FROM core_auditentry WHERE id = %s", [rows[0].pk])

    assert (audit_verify().broken_id, audit_verify().problem) == (rows[1].pk, "missing_before")


def test_verify_finds_an_inserted_row_even_with_a_correct_hash_of_its_own(world: World) -> None:
    rows = write_some(world)
    forged = AuditEntry(
        created_at=rows[1].created_at + timedelta(microseconds=1),
        username="admin",
        action=AuditAction.LOGIN,
        prev_hash=rows[1].row_hash,
    )
    forged.row_hash = entry_hash(forged, forged.prev_hash)
    raw_sql(
        "INSERT INTO core_auditentry (id, created_at, username, action, target_type, target_id, field, reason, detail,"
        " prev_hash, row_hash) VALUES (%s, %s, %s, %s, '', '', '', '', '{}', %s, %s)",
        [rows[-1].pk + 100, forged.created_at, "admin", "login", forged.prev_hash, forged.row_hash],
    )
    # Ids give the chain's order; a row slipped in "between" has to take a free id: here after the last one. The next
    # honest row takes the database's next id: after the forged one on SQLite (max + 1), before it on PostgreSQL (its
    # sequence), where it then links to the forged row instead of row 3.
    audit(user=world.admin, action=AuditAction.LOGOUT)
    honest = AuditEntry.objects.filter(action=AuditAction.LOGOUT).latest("id")

    report = audit_verify()

    # The first row, in id order, whose link does not hold: the forged one (it chains to row 2, not to row 3) or,
    # on PostgreSQL, the honest row that the forged one made link wrongly.
    assert report.broken_id == min(rows[-1].pk + 100, honest.pk)
    assert report.problem == "link"


def test_verify_exits_non_zero_on_a_broken_chain(world: World) -> None:
    rows = write_some(world)
    raw_sql("UPDATE core_auditentry SET username = %s WHERE id = %s", ["someone", rows[0].pk])

    with pytest.raises(CommandError, match="内容被修改"):
        call_command("audit", "verify")


def test_rows_cannot_be_edited_or_deleted_through_the_orm(world: World) -> None:
    (entry,) = write_some(world, 1)

    entry.reason = "改过"
    with pytest.raises(PermissionError):
        entry.save()
    with pytest.raises(PermissionError):
        entry.delete()
    with pytest.raises(PermissionError):
        AuditEntry.objects.filter(pk=entry.pk).update(reason="改过")
    with pytest.raises(PermissionError):
        AuditEntry.objects.all().delete()
    assert AuditEntry.objects.get(pk=entry.pk).reason == "核实身份 0"


def test_deleting_a_user_keeps_their_rows_verifiable(world: World) -> None:
    write_some(world, 2)
    audit(user=world.nobody, action=AuditAction.LOGIN)
    world.nobody.delete()

    assert AuditEntry.objects.filter(username=world.nobody.username, user=None).count() == 1
    assert audit_verify().intact


def test_the_admin_cannot_change_audit_rows(world: World, client) -> None:  # type: ignore[no-untyped-def]
    (entry,) = write_some(world, 1)
    world.admin.is_superuser = world.admin.is_staff = True
    world.admin.save(update_fields=["is_superuser", "is_staff"])
    client.force_login(world.admin)

    page = client.get(f"/admin/core/auditentry/{entry.pk}/change/")
    deletion = client.post(f"/admin/core/auditentry/{entry.pk}/delete/", {"post": "yes"})

    assert page.status_code == 200 and b'name="_save"' not in page.content
    assert deletion.status_code == 403
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


def test_rows_from_before_the_chain_are_sealed_once(world: World) -> None:
    now = timezone.now()
    AuditEntry.objects.bulk_create(
        [AuditEntry(username="old", action=AuditAction.LOGIN, created_at=now) for _ in range(3)]
    )
    assert audit_verify().problem == "unsealed"

    call_command("audit", "seal")

    assert audit_verify().intact
    assert audit_verify().checked == 3


def test_the_first_write_after_the_upgrade_seals_older_rows(world: World) -> None:
    AuditEntry.objects.bulk_create([AuditEntry(username="old", action=AuditAction.LOGIN) for _ in range(2)])

    audit(user=world.admin, action=AuditAction.LOGIN)

    assert audit_verify().intact and audit_verify().checked == 3


def test_a_blanked_hash_after_sealed_rows_is_not_resealed(world: World) -> None:
    rows = write_some(world, 3)
    raw_sql("UPDATE core_auditentry SET row_hash = '' WHERE id = %s", [rows[1].pk])

    audit_seal()
    audit(user=world.admin, action=AuditAction.LOGOUT)

    assert AuditEntry.objects.get(pk=rows[1].pk).row_hash == ""
    assert (audit_verify().broken_id, audit_verify().problem) == (rows[1].pk, "unsealed")


# --- retention ------------------------------------------------------------------------------------------------


def test_purge_keeps_the_chain_verifiable_from_its_anchor(world: World) -> None:
    rows = write_some(world, 6)
    long_ago = timezone.now() - timedelta(days=400)
    raw_sql("UPDATE core_auditentry SET created_at = %s WHERE id <= %s", [long_ago, rows[3].pk])
    # Moving the dates is itself tampering: re-seal this test's rows as if they had been written back then.
    raw_sql("UPDATE core_auditentry SET row_hash = '', prev_hash = ''", [])
    audit_seal()
    assert audit_verify().intact

    deleted = audit_purge(keep_days=365)

    assert deleted == 4
    assert AuditEntry.objects.count() == 3  # two kept rows and the record of the purge
    record = AuditEntry.objects.order_by("-pk").first()
    assert record is not None and record.detail["deleted"] == 4
    assert audit_verify().intact


def test_deleting_the_oldest_rows_without_the_purge_is_found(world: World) -> None:
    rows = write_some(world, 4)
    raw_sql("DELETE FROM core_auditentry WHERE id <= %s", [rows[1].pk])

    assert audit_verify().problem == "missing_before"


def test_rows_younger_than_180_days_are_never_purged(world: World) -> None:
    write_some(world, 2)

    with pytest.raises(ValueError):
        audit_purge(keep_days=90)
    assert audit_purge(keep_days=180) == 0
    assert AuditEntry.objects.count() == 2


def test_settings_refuse_a_retention_below_180_days() -> None:
    import subprocess
    import sys

    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='ningju.settings'; django.setup()",
        ],
        env={**__import__("os").environ, "NINGJU_AUDIT_KEEP_DAYS": "90"},
        capture_output=True,
        text=True,
    )

    assert result.returncode != 0
    assert "NINGJU_AUDIT_KEEP_DAYS must be at least 180" in result.stderr


@override_settings(NINGJU_AUDIT_KEEP_DAYS=200)
def test_the_daily_task_purges_with_the_configured_retention(world: World) -> None:
    from ningju.core.tasks import purge_audit_task

    rows = write_some(world, 3)
    raw_sql(
        "UPDATE core_auditentry SET created_at = %s WHERE id = %s",
        [timezone.now() - timedelta(days=201), rows[0].pk],
    )
    raw_sql("UPDATE core_auditentry SET row_hash = '', prev_hash = ''", [])
    audit_seal()

    purge_audit_task.call_local()

    assert not AuditEntry.objects.filter(pk=rows[0].pk).exists()
    assert audit_verify().intact


# --- concurrency ------------------------------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_simultaneous_writers_do_not_fork_the_chain(world: World) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers (IMMEDIATE transactions); the race needs PostgreSQL")
    barrier = threading.Barrier(8)

    def write() -> None:
        try:
            barrier.wait()
            for _ in range(10):
                audit(user=None, action=AuditAction.LOGIN_FAILED, username="guess")
        finally:
            connection.close()

    threads = [threading.Thread(target=write) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    hashes = list(AuditEntry.objects.values_list("prev_hash", flat=True))
    assert len(hashes) == 80 and len(set(hashes)) == 80  # no two rows chained to the same predecessor
    assert audit_verify().intact


# --- the reviewers' page ----------------------------------------------------------------------------------------

AUDIT_PAGE = "/accounts/audit/"


def logged_in(client, user):  # type: ignore[no-untyped-def]
    client.force_login(user)
    return client


def test_street_admin_reviews_the_rows_of_their_streets_staff_only(world: World, client) -> None:  # type: ignore[no-untyped-def]
    audit(user=world.cadre, action=AuditAction.REVEAL, target=world.resident, field="id_number", reason="核实低保")
    audit(user=world.other_street_admin, action=AuditAction.EXPORT, reason="静安寺的导出")
    audit(user=None, action=AuditAction.LOGIN_FAILED, username="guess")

    page = logged_in(client, world.admin).get(AUDIT_PAGE)

    assert page.status_code == 200
    assert "核实低保" in page.content.decode()
    assert "静安寺的导出" not in page.content.decode()
    assert "guess" not in page.content.decode()
    assert "no-store" in page["Cache-Control"]


def test_the_audit_page_filters_by_who_what_and_when(world: World, client) -> None:  # type: ignore[no-untyped-def]
    audit(user=world.cadre, action=AuditAction.REVEAL, reason="干部查看")
    audit(user=world.head, action=AuditAction.EXPORT, reason="书记导出")

    by_who = logged_in(client, world.admin).get(AUDIT_PAGE, {"who": world.head.username}).content.decode()
    by_what = client.get(AUDIT_PAGE, {"action": "reveal"}).content.decode()
    too_late = client.get(AUDIT_PAGE, {"since": "2999-01-01"}).content.decode()

    assert "书记导出" in by_who and "干部查看" not in by_who
    assert "干部查看" in by_what and "书记导出" not in by_what
    assert "干部查看" not in too_late and "书记导出" not in too_late


@pytest.mark.parametrize("role", ["area_head", "cadre", "liaison", "nobody"])
def test_only_street_admins_open_the_audit_page(world: World, client, role: str) -> None:  # type: ignore[no-untyped-def]
    audit(user=world.cadre, action=AuditAction.REVEAL, reason="核实低保")

    page = logged_in(client, world.users()[role]).get(AUDIT_PAGE)

    assert page.status_code == 403
    assert "核实低保" not in page.content.decode()


def test_anonymous_visitors_are_sent_to_sign_in(client) -> None:  # type: ignore[no-untyped-def]
    assert client.get(AUDIT_PAGE).status_code == 302


def test_the_export_is_an_audited_no_store_workbook_of_the_filtered_rows(world: World, client) -> None:  # type: ignore[no-untyped-def]
    from openpyxl import load_workbook

    audit(user=world.cadre, action=AuditAction.REVEAL, reason='=HYPERLINK("http://x")')
    audit(user=world.head, action=AuditAction.EXPORT, reason="书记导出")
    audit(user=world.other_street_admin, action=AuditAction.EXPORT, reason="静安寺的导出")

    response = logged_in(client, world.admin).get(AUDIT_PAGE, {"action": "reveal", "format": "xlsx"})

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 2  # the header and the one revealing row
    assert rows[1][6] == '\'=HYPERLINK("http://x")'  # kept as text, never a live formula
    exported = AuditEntry.objects.get(action=AuditAction.AUDIT_EXPORT)
    assert exported.username == world.admin.username and exported.detail["rows"] == 1
    assert audit_verify().intact


# --- configuration and role changes are audited ----------------------------------------------------------------


def config_changes(field: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=AuditAction.CONFIG_CHANGE, field=field).order_by("pk"))


def test_street_configuration_changes_are_audited_with_what_changed(world: World) -> None:
    from ningju.demands import street_settings
    from ningju.meetings.assessment import INDICATOR_KEYS, score_weights_set
    from ningju.registry.models import Tag
    from ningju.registry.services import tag_save

    tag_save(user=world.admin, tag=Tag(), name="新就业群体")
    street_settings.deadline_limits_update(user=world.admin, limits={"first_contact": 2})
    category = street_settings.category_create(user=world.admin, name="共享单车乱停")
    street_settings.category_update(
        user=world.admin, category=category, name="共享单车乱停放", default_department=None, active=False
    )
    score_weights_set(user=world.admin, weights=dict.fromkeys(INDICATOR_KEYS, 10))

    (tag,) = config_changes("tag")
    assert tag.username == world.admin.username and tag.detail == {"created": True, "name": "新就业群体"}
    (limits,) = config_changes("deadline_limits")
    assert limits.detail == {"first_contact": 2}
    created, updated = config_changes("category")
    assert created.detail["created"] is True
    assert updated.detail["name"] == "共享单车乱停放" and updated.detail["active"] is False
    assert config_changes("score_weights")[0].detail == dict.fromkeys(INDICATOR_KEYS, 10)
    assert audit_verify().intact


def test_visit_rule_changes_are_audited(world: World) -> None:
    from ningju.visits import rule_services
    from ningju.visits.models import Interval, VisitRule
    from ningju.visits.rules import ensure_rules

    ensure_rules(world.street)
    rule = VisitRule.objects.filter(street=world.street, target=VisitRule.Target.TAG).first()
    assert rule is not None
    rule_services.rules_update(
        user=world.admin,
        street=world.street,
        changes={rule.pk: rule_services.RuleChange(Interval.WEEK, True)},
        min_households_per_day=5,
        max_households_per_day=12,
        gps_flag_metres=300,
    )

    (entry,) = config_changes("visit_rules")
    assert entry.detail["rules"] == {str(rule.pk): ["week", True]}
    assert entry.detail["gps_flag_metres"] == 300


def test_a_role_change_in_the_admin_is_audited(world: World, rf) -> None:  # type: ignore[no-untyped-def]
    from django.contrib import admin

    from ningju.core.admin import UserAdmin
    from ningju.core.models import Role, User

    request = rf.post("/admin/core/user/")
    request.user = world.admin
    cadre = User.objects.get(pk=world.cadre.pk)
    cadre.role = Role.AREA_HEAD

    UserAdmin(User, admin.site).save_model(request, cadre, form=None, change=True)
    UserAdmin(User, admin.site).save_model(request, cadre, form=None, change=True)  # nothing changed: no row

    (entry,) = AuditEntry.objects.filter(action=AuditAction.ROLE_CHANGE)
    assert entry.target_id == str(cadre.pk) and entry.username == world.admin.username
    assert entry.detail["role"] == ["cadre", "area_head"]
    assert "area" not in entry.detail
