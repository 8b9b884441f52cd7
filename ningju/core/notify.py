"""Tell users about something: an in-app notice always, plus email and a WeCom robot where configured.

`notify()` (one message to several users) and `notify_many()` (many messages at once, for the overdue job) write
`Notification` rows in bulk. The `(user, key)` pair is unique, so a job that runs every 15 minutes, or a step
retried after a network error, never tells anyone the same thing twice. Only the rows that are new go on to the
extra channels, after the surrounding transaction commits (an email about a step that was rolled back would be a
lie), so nobody gets the same email twice either.

Extra channels are pluggable. A channel is any object with two methods::

    class Channel(Protocol):
        def enabled(self) -> bool: ...             # read settings: off by default
        def send(self, notices: Sequence[Notice]) -> None: ...

and is listed in `CHANNELS`. The shipped ones:

* `EmailChannel`: on when `NINGJU_NOTIFY_EMAIL` is true; one email per notice to each recipient who has an email
  address, through Django's mail settings (`EMAIL_*`, `DEFAULT_FROM_EMAIL`).
* `WeComChannel`: on when `NINGJU_WECOM_WEBHOOK` holds a 企业微信 group robot URL; posts the notices as markdown,
  several to a message (a robot accepts about 20 messages a minute and 4096 bytes each).

A channel never raises into the caller: a mail server that is down must not undo a whistle. Failures are logged.
To add one (SMS, a DingTalk robot), write a class like these and append an instance to `CHANNELS`.

A notice that asks for something (accept this whistle, report to this dispatch) is marked read by
`notices_resolve()` once that is done, by whoever did it: the demand service calls it inside the step.
"""

import json
import logging
import urllib.request
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.core.mail import send_mass_mail
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from ningju.core.models import NoticeLevel, Notification, User

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Notice:
    """One message for one user. `key` says what it is about; the same key reaches a user once."""

    user_id: int
    title: str
    key: str
    body: str = ""
    url: str = ""
    level: str = NoticeLevel.INFO


class Channel(Protocol):
    def enabled(self) -> bool: ...

    def send(self, notices: Sequence[Notice]) -> None: ...


class EmailChannel:
    """One plain-text email per notice, to recipients with an email address."""

    def enabled(self) -> bool:
        return bool(settings.NINGJU_NOTIFY_EMAIL)

    def send(self, notices: Sequence[Notice]) -> None:
        emails = dict(
            User.objects.filter(pk__in={n.user_id for n in notices}, is_active=True)
            .exclude(email="")
            .values_list("pk", "email")
        )
        messages = [
            (f"[宁聚] {n.title}", _plain_text(n), settings.DEFAULT_FROM_EMAIL, [emails[n.user_id]])
            for n in notices
            if n.user_id in emails
        ]
        if messages:
            send_mass_mail(messages, fail_silently=False)


class WeComChannel:
    """A 企业微信 group robot: one markdown message per batch of distinct notices (a group reads each once)."""

    MAX_BYTES = 4000  # the robot's limit is 4096 bytes of content

    def enabled(self) -> bool:
        return bool(settings.NINGJU_WECOM_WEBHOOK)

    def send(self, notices: Sequence[Notice]) -> None:
        # Several recipients of the same notice sit in the same group: say it once, naming them.
        names = dict(User.objects.filter(pk__in={n.user_id for n in notices}).values_list("pk", "full_name"))
        by_key: dict[str, tuple[Notice, list[str]]] = {}
        for notice in notices:
            _first, recipients = by_key.setdefault(notice.key, (notice, []))
            recipients.append(names.get(notice.user_id) or "")
        batch: list[str] = []
        for notice, recipients in by_key.values():
            block = _markdown(notice, [name for name in recipients if name])
            if batch and len("\n\n".join([*batch, block]).encode()) > self.MAX_BYTES:
                self._post("\n\n".join(batch))
                batch = []
            batch.append(block[: self.MAX_BYTES // 3])  # 3 bytes per Chinese character: stays under the limit
        if batch:
            self._post("\n\n".join(batch))

    def _post(self, content: str) -> None:
        payload = json.dumps({"msgtype": "markdown", "markdown": {"content": content}}, ensure_ascii=False)
        request = urllib.request.Request(
            settings.NINGJU_WECOM_WEBHOOK,
            data=payload.encode(),
            headers={"Content-Type": "application/json; charset=utf-8"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            response.read()


CHANNELS: list[Channel] = [EmailChannel(), WeComChannel()]


def _plain_text(notice: Notice) -> str:
    return "\n\n".join(part for part in (notice.title, notice.body, notice.url) if part)


def _markdown(notice: Notice, recipients: list[str]) -> str:
    colour = {NoticeLevel.RED: "warning", NoticeLevel.YELLOW: "comment"}.get(NoticeLevel(notice.level), "info")
    lines = [f'<font color="{colour}">**{notice.title}**</font>']
    if notice.body:
        lines.append(notice.body)
    if recipients:
        lines.append(f"> {'、'.join(recipients)}")
    if notice.url:
        lines.append(notice.url)
    return "\n".join(lines)


def notify(
    *,
    users: Iterable[User | int],
    title: str,
    key: str,
    body: str = "",
    url: str = "",
    level: str = NoticeLevel.INFO,
) -> int:
    """Tell each of `users` one thing. Returns how many in-app notices were new (users told before are skipped)."""
    ids = dict.fromkeys(user if isinstance(user, int) else user.pk for user in users)
    return notify_many([Notice(user_id=i, title=title, key=key, body=body, url=url, level=level) for i in ids])


def notify_many(notices: Sequence[Notice]) -> int:
    """Write the notices that are new to their users in bulk; hand those on to the enabled channels after commit.

    Returns how many were new.
    """
    unique = list({(n.user_id, n.key): n for n in notices}.values())
    if not unique:
        return 0
    existing = set(
        Notification.objects.filter(
            user__in={n.user_id for n in unique}, key__in={n.key for n in unique}
        ).values_list("user_id", "key")
    )
    new = [n for n in unique if (n.user_id, n.key) not in existing]
    # ignore_conflicts: a run racing this one may have written the same notice in between; the row stays one.
    Notification.objects.bulk_create(
        [
            Notification(
                user_id=n.user_id, level=n.level, title=n.title[:200], body=n.body, url=n.url[:300], key=n.key
            )
            for n in new
        ],
        ignore_conflicts=True,
    )
    if new:
        transaction.on_commit(lambda: send_to_channels(new), robust=True)
    return len(new)


def send_to_channels(notices: Sequence[Notice], channels: Sequence[Channel] | None = None) -> None:
    """Send through every enabled channel; one that fails is logged and the others still send."""
    for channel in CHANNELS if channels is None else channels:
        try:
            if channel.enabled():
                channel.send(notices)
        except Exception:
            logger.exception("notification channel %s failed", type(channel).__name__)


def notices_resolve(
    *,
    keys: Iterable[str] = (),
    key_prefixes: Iterable[str] = (),
    users: Iterable[int] | None = None,
) -> int:
    """Mark read the unread notices with one of `keys` (or a key starting with one of `key_prefixes`): what they
    asked for is done, so they no longer wait in anyone's inbox. `users` limits it to those recipients.

    Returns how many were marked. Notices already read keep their time.
    """
    match = Q(key__in=list(keys))
    for prefix in key_prefixes:
        if not prefix:
            raise ValueError("an empty prefix would match every notice")
        match |= Q(key__startswith=prefix)
    unread = Notification.objects.filter(match, read_at__isnull=True)
    if users is not None:
        unread = unread.filter(user__in=list(users))
    return unread.update(read_at=timezone.now())
