"""The meetings app (会议与行动清单、三驾马车、社区营造、培训、考核评议)."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MeetingsConfig(AppConfig):
    name = "ningju.meetings"
    label = "meetings"
    verbose_name = _("会议与考核")
