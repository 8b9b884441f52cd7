"""Writing the audit log: every reveal of personal data, every export and import, every login attempt.

The log is append-only and hash-chained. Each row's `row_hash` is SHA-256 over a canonical serialisation of its
content and the previous row's hash (`prev_hash`), so `ningju audit verify` finds an edited, deleted or inserted
row. Writers take a lock around "read the last hash, insert" so that two of them never fork the chain: an advisory
transaction lock on PostgreSQL; on SQLite the IMMEDIATE transaction mode already lets one writer in at a time.

The user's id is deliberately not hashed: deleting a user sets it to NULL on their rows (the username, which is
hashed, stays), and that must not read as tampering. Rows older than NINGJU_AUDIT_KEEP_DAYS may be purged; the
purge appends a row recording the hash of the last deleted row (the anchor), and verification starts from it.
"""

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, models, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.ipv6 import clean_ipv6_address

from ningju.core.models import AuditAction, AuditEntry

# Any constant: the key of the PostgreSQL advisory lock that serialises writers of the chain.
CHAIN_LOCK_KEY = 0x4E4A_4155  # "NJAU"
RETENTION_FIELD = "audit_retention"
BATCH_SIZE = 2000


def client_ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def _normal_ip(ip: str | None) -> str | None:
    # The database stores IPv6 addresses in their compressed form; the hash must cover what it stores.
    if ip and ":" in ip:
        return clean_ipv6_address(ip)
    return ip or None


def _canonical_time(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def entry_hash(entry: AuditEntry, prev_hash: str) -> str:
    """The hash of `entry` chained to `prev_hash`: SHA-256 over its content as canonical JSON (sorted keys)."""
    content = {
        "created_at": _canonical_time(entry.created_at),
        "username": entry.username,
        "action": entry.action,
        "target_type": entry.target_type,
        "target_id": entry.target_id,
        "field": entry.field,
        "reason": entry.reason,
        "detail": entry.detail,
        "ip": _normal_ip(entry.ip_address),
        "prev_hash": prev_hash,
    }
    text = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _lock_chain() -> None:
    """Inside a transaction: wait until no other writer is appending to the chain."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK_KEY])
    # SQLite: the transaction is BEGIN IMMEDIATE (settings), which already holds the database's one write lock.


def _set_hashes(pk: int, prev_hash: str, row_hash: str) -> None:
    # The one sanctioned write to an existing row: sealing it right after its insert, under the chain lock.
    models.QuerySet.update(AuditEntry.objects.filter(pk=pk), prev_hash=prev_hash, row_hash=row_hash)


def _last_hash() -> str:
    last = AuditEntry.objects.order_by("-pk").values_list("row_hash", flat=True).first()
    if last == "":
        return audit_seal()
    return last or ""


def audit(
    *,
    user: Any,
    action: AuditAction,
    target: models.Model | None = None,
    target_type: str = "",
    target_id: str = "",
    field: str = "",
    reason: str = "",
    detail: dict[str, Any] | None = None,
    request: HttpRequest | None = None,
    username: str = "",
) -> AuditEntry:
    if target is not None:
        target_type = target._meta.label_lower
        target_id = str(target.pk)
    authenticated = getattr(user, "is_authenticated", False)
    entry = AuditEntry(
        user=user if authenticated else None,
        username=username or (user.get_username() if authenticated else ""),
        action=action,
        target_type=target_type,
        target_id=target_id,
        field=field,
        reason=reason[:200],
        # As it reads back from the database (tuples become lists), so that the hash matches on verification.
        detail=json.loads(json.dumps(detail or {})),
        ip_address=_normal_ip(client_ip(request)),
    )
    with transaction.atomic():
        _lock_chain()
        prev_hash = _last_hash()
        entry.save()  # sets created_at
        entry.prev_hash = prev_hash
        entry.row_hash = entry_hash(entry, prev_hash)
        _set_hashes(entry.pk, entry.prev_hash, entry.row_hash)
    return entry


def _batches(queryset: "models.QuerySet[AuditEntry]") -> Iterator[AuditEntry]:
    """Rows in id order, fetched `BATCH_SIZE` at a time (keyset pagination: constant memory, no OFFSET)."""
    after = 0
    while True:
        batch = list(queryset.filter(pk__gt=after).order_by("pk")[:BATCH_SIZE])
        if not batch:
            return
        yield from batch
        after = batch[-1].pk


def audit_seal() -> str:
    """Seal the rows written before the chain existed (empty hashes), oldest first; returns the last hash.

    Only a leading run of unsealed rows is sealed: an empty hash after a sealed row is a blanked row, and stays
    broken for `verify` to report. `audit()` calls this itself when it finds the last row unsealed, so the chain
    is complete after the first write since the upgrade; `ningju audit seal` does it ahead of time."""
    with transaction.atomic():
        _lock_chain()
        first_sealed = AuditEntry.objects.exclude(row_hash="").order_by("pk").values_list("pk", flat=True).first()
        unsealed = AuditEntry.objects.filter(row_hash="")
        if first_sealed is not None:
            unsealed = unsealed.filter(pk__lt=first_sealed)
        prev_hash = ""
        for entry in _batches(unsealed):
            row_hash = entry_hash(entry, prev_hash)
            _set_hashes(entry.pk, prev_hash, row_hash)
            prev_hash = row_hash
        if first_sealed is not None and prev_hash:
            raise ValueError("audit rows without a hash follow sealed rows; run `ningju audit verify`")
        if not prev_hash:
            last = AuditEntry.objects.order_by("-pk").values_list("row_hash", flat=True).first()
            return last or ""
        return prev_hash


@dataclass(frozen=True)
class ChainReport:
    checked: int
    broken_id: int | None = None
    problem: str = ""
    head: str = ""

    @property
    def intact(self) -> bool:
        return self.broken_id is None


def retention_anchor() -> str:
    """The hash of the last row deleted by the retention purge ("" when nothing was ever purged)."""
    record = (
        AuditEntry.objects.filter(action=AuditAction.CONFIG_CHANGE, field=RETENTION_FIELD)
        .order_by("-pk")
        .values_list("detail", flat=True)
        .first()
    )
    return str(record.get("anchor", "")) if isinstance(record, dict) else ""


def audit_verify() -> ChainReport:
    """Walk the whole chain in id order and report the first row that does not fit: its content was edited (its
    hash no longer matches), or a row before it was deleted or inserted (its `prev_hash` is not the hash of the row
    before it), or it was never sealed."""
    expected_prev = retention_anchor()
    checked = 0
    for entry in _batches(AuditEntry.objects.all()):
        if not entry.row_hash:
            return ChainReport(checked, entry.pk, "unsealed", expected_prev)
        if entry.prev_hash != expected_prev:
            problem = "missing_before" if checked == 0 else "link"
            return ChainReport(checked, entry.pk, problem, expected_prev)
        if entry_hash(entry, entry.prev_hash) != entry.row_hash:
            return ChainReport(checked, entry.pk, "edited", expected_prev)
        expected_prev = entry.row_hash
        checked += 1
    return ChainReport(checked, None, "", expected_prev)


def audit_head() -> str:
    """The hash of the newest row: recorded outside the database (a backup manifest), it also proves the tail."""
    return AuditEntry.objects.order_by("-pk").values_list("row_hash", flat=True).first() or ""


def audit_purge(*, now: datetime | None = None, keep_days: int | None = None) -> int:
    """Delete the rows older than the retention period (NINGJU_AUDIT_KEEP_DAYS, at least 180 days) and record the
    anchor the remaining chain starts from, in a new audit row. Returns how many rows were deleted."""
    keep_days = settings.NINGJU_AUDIT_KEEP_DAYS if keep_days is None else keep_days
    if keep_days < 180:
        raise ValueError("audit rows are kept at least 180 days (Cybersecurity Law art. 21)")
    cutoff = (now or timezone.now()) - timedelta(days=keep_days)
    with transaction.atomic():
        _lock_chain()
        # Never the newest row: the purge record must chain to a row that stays, so that it is verifiable.
        newest = AuditEntry.objects.order_by("-pk").values_list("pk", flat=True).first()
        if newest is None:
            return 0
        through = (
            AuditEntry.objects.filter(created_at__lt=cutoff)
            .exclude(pk=newest)
            .order_by("-pk")
            .values_list("pk", flat=True)
            .first()
        )
        if through is None:
            return 0
        anchor = AuditEntry.objects.filter(pk=through).values_list("row_hash", flat=True).get()
        doomed = AuditEntry.objects.filter(pk__lte=through)
        deleted = doomed.count()
        doomed._raw_delete(doomed.db)
        audit(
            user=None,
            action=AuditAction.CONFIG_CHANGE,
            target_type=AuditEntry._meta.label_lower,
            field=RETENTION_FIELD,
            reason=f"kept {keep_days} days",
            detail={"anchor": anchor, "deleted": deleted, "through_id": through},
        )
    return deleted
