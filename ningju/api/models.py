"""API tokens: one per device, stored hashed (django-rest-knox), with the name the user gave the device."""

from typing import Any

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from knox.models import AbstractAuthToken, get_digest_token
from knox.settings import CONSTANTS, knox_settings


class DeviceTokenManager(models.Manager["DeviceToken"]):
    def issue(self, *, user: Any, name: str = "") -> tuple["DeviceToken", str]:
        """A new token for `user` (knox's way: a random token, only its hash stored, expiring after TOKEN_TTL):
        the stored row and the token itself, which exists nowhere else and is shown once."""
        digest, token = get_digest_token()
        row = self.create(
            user=user,
            name=name,
            digest=digest,
            token_key=token[: CONSTANTS.TOKEN_KEY_LENGTH],
            expiry=timezone.now() + knox_settings.TOKEN_TTL,
        )
        return row, token


class DeviceToken(AbstractAuthToken):
    """One signed-in device (a phone, a script) of a user. Only the token's hash is stored: the token itself is
    shown once, in the answer to the login, and is never on a page.

    knox's own table keys the token by its digest; here a plain id is the key, so that the devices page can name a
    token to revoke without putting its digest (or the token's first characters, `token_key`) in the HTML."""

    objects = DeviceTokenManager()

    id = models.BigAutoField(primary_key=True)
    digest = models.CharField(max_length=CONSTANTS.DIGEST_LENGTH, unique=True)
    name = models.CharField(_("设备名称"), max_length=64, blank=True)
    last_used = models.DateTimeField(_("最近使用"), null=True, blank=True)

    class Meta:
        verbose_name = _("设备令牌")
        verbose_name_plural = _("设备令牌")
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"{self.user} · {self.name or self.pk}"
