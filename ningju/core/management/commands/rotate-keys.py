"""`ningju rotate-keys`: add a field key, re-encrypt every encrypted column under it, retire the old key."""

import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from ningju.core import crypto, rotation
from ningju.core.audit import audit
from ningju.core.models import AuditAction


class Command(BaseCommand):
    help = (
        "Re-encrypt every encrypted column (history tables included) under the first NINGJU_FIELD_KEY. "
        "--add-key puts a new key first; --retire-old drops the other keys once no value needs them."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        group = parser.add_mutually_exclusive_group()
        group.add_argument(
            "--add-key", action="store_true", help="generate a new field key, put it first, re-encrypt"
        )
        group.add_argument("--retire-old", action="store_true", help="remove every key but the first, if unused")
        group.add_argument(
            "--print-legacy-lookup-key",
            action="store_true",
            help="print the look-up key databases made before NINGJU_LOOKUP_KEY used (from the first field key)",
        )
        parser.add_argument("--batch-size", type=int, default=rotation.BATCH_SIZE)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["print_legacy_lookup_key"]:
            self.stdout.write(crypto.legacy_lookup_key(settings.NINGJU_FIELD_KEYS[0]))
            return
        if options["retire_old"]:
            self.retire_old(options["batch_size"])
            return
        if options["add_key"]:
            key = rotation.new_field_key()
            keys = [key, *settings.NINGJU_FIELD_KEYS]
            if not rotation.keys_from_file():
                # The web processes read the keys from their environment: re-encrypting before they know the new
                # key would leave them unable to read what was rotated.
                self.stdout.write(
                    _(
                        "新密钥已生成。请把环境变量设为 NINGJU_FIELD_KEY=%(keys)s ，重启全部进程，"
                        "然后运行 ningju rotate-keys 重新加密。"
                    )
                    % {"keys": ",".join(keys)}
                )
                return
            rotation.write_key_file(keys)
            rotation.use_keys(keys)
            self.stdout.write(
                _("新密钥已写入 %(path)s 并排在首位（正在运行的服务须重启才能读取新加密的数据）。")
                % {"path": rotation.field_key_file()}
            )
        self.reencrypt(options["batch_size"], added=bool(options["add_key"]))

    def reencrypt(self, batch_size: int, *, added: bool) -> None:
        started = time.monotonic()
        report = rotation.reencrypt_all(batch_size=batch_size, progress=self.stdout.write)
        seconds = time.monotonic() - started
        audit(
            user=None,
            username="ningju rotate-keys",
            action=AuditAction.KEY_ROTATION,
            detail={
                "step": "add_key" if added else "reencrypt",
                "keys": len(settings.NINGJU_FIELD_KEYS),
                "rotated": report.values_rotated,
                "already_current": report.values_current,
                "per_model": report.per_model,
                "seconds": round(seconds, 1),
            },
        )
        self.stdout.write(
            _(
                "重新加密完成：%(rotated)d 个值改用首个密钥，%(current)d 个已是首个密钥，共 %(rows)d 行，用时 %(s).1f 秒。"
            )
            % {
                "rotated": report.values_rotated,
                "current": report.values_current,
                "rows": report.rows_seen,
                "s": seconds,
            }
        )

    def retire_old(self, batch_size: int) -> None:
        keys = list(settings.NINGJU_FIELD_KEYS)
        if len(keys) < 2:
            self.stdout.write(_("只有一个字段密钥，没有可以退役的旧密钥。"))
            return
        for old in keys[1:]:
            needing = rotation.values_needing(old, batch_size=batch_size)
            if needing:
                raise CommandError(
                    _("仍有 %(n)d 个值只能用旧密钥解密，拒绝退役。请先运行 ningju rotate-keys 完成重新加密。")
                    % {"n": needing}
                )
        if rotation.keys_from_file():
            rotation.write_key_file(keys[:1])
            rotation.use_keys(keys[:1])
            self.stdout.write(_("旧密钥已从 %(path)s 删除。") % {"path": rotation.field_key_file()})
        else:
            self.stdout.write(
                _("没有数据再需要旧密钥。请把环境变量设为 NINGJU_FIELD_KEY=%(key)s 并重启全部进程。")
                % {"key": keys[0]}
            )
        audit(
            user=None,
            username="ningju rotate-keys",
            action=AuditAction.KEY_ROTATION,
            detail={"step": "retire_old", "retired": len(keys) - 1},
        )
