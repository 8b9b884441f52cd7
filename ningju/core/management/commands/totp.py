"""`ningju totp <username>`: the current code of a demo account's authenticator (local mode only), for the README
and browser tests."""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from ningju.core import mfa


class Command(BaseCommand):
    help = "Print the current TOTP code of a demo account enrolled by `ningju demo` (local mode only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")

    def handle(self, *args: Any, username: str, **options: Any) -> None:
        if settings.PRODUCTION:
            raise CommandError(_("生产环境不提供此命令：验证码只应出现在本人的手机上。"))
        device = TOTPDevice.objects.filter(user__username=username, confirmed=True).first()
        # Only the demo's derived secret: a code for an authenticator someone set up themselves stays on their phone.
        if device is None or device.key != mfa.demo_secret_hex(username):
            raise CommandError(
                _("%(username)s 没有演示用的验证器（请先运行 ningju demo）。") % {"username": username}
            )
        self.stdout.write(mfa.current_code(device))
