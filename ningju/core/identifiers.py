"""National ID numbers (GB 11643) and phone numbers: validation, normalisation and masking."""

import re
from datetime import date

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK_CHARS = "10X98765432"
ID_PATTERN = re.compile(r"^\d{17}[\dX]$")
MOBILE_PATTERN = re.compile(r"^1[3-9]\d{9}$")
LANDLINE_PATTERN = re.compile(r"^(0\d{2,3})?\d{7,8}$")
OLDEST_PLAUSIBLE_AGE = 130


def id_check_char(first17: str) -> str:
    """The GB 11643 check character for the first 17 digits of an ID number."""
    total = sum(int(digit) * weight for digit, weight in zip(first17, ID_WEIGHTS, strict=True))
    return ID_CHECK_CHARS[total % 11]


def normalize_id_number(raw: str) -> str:
    return re.sub(r"\s+", "", raw or "").upper()


def validate_id_number(raw: str) -> str:
    """Return the normalised ID number, or raise ValidationError saying in Chinese what is wrong with it."""
    value = normalize_id_number(raw)
    if len(value) != 18:
        raise ValidationError(_("身份证号应为18位，实际为%(n)d位") % {"n": len(value)}, code="id_length")
    if not ID_PATTERN.match(value):
        raise ValidationError(_("身份证号前17位须为数字，末位为数字或X"), code="id_chars")
    born = id_birth_date(value)
    if born is None:
        raise ValidationError(_("身份证号中的出生日期不存在"), code="id_birth_date")
    today = timezone.localdate()
    if born > today or born.year < today.year - OLDEST_PLAUSIBLE_AGE:
        raise ValidationError(_("身份证号中的出生日期不合理：%(date)s") % {"date": born}, code="id_birth_date")
    if id_check_char(value[:17]) != value[17]:
        raise ValidationError(_("身份证号校验位错误"), code="id_check_digit")
    return value


def id_birth_date(value: str) -> date | None:
    try:
        return date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return None


def id_gender(value: str) -> str:
    """'M' or 'F' from the 17th digit (odd for men)."""
    return "M" if int(value[16]) % 2 else "F"


def normalize_phone(raw: str) -> str:
    value = re.sub(r"[\s\-()（）]", "", raw or "")
    if value.startswith("+86"):
        value = value[3:]
    elif value.startswith("0086"):
        value = value[4:]
    return value


def validate_phone(raw: str) -> str:
    value = normalize_phone(raw)
    if MOBILE_PATTERN.match(value) or LANDLINE_PATTERN.match(value):
        return value
    raise ValidationError(_("手机号格式不正确：应为11位手机号或座机号"), code="phone")


def mask_id_number(value: str) -> str:
    if len(value) < 10:
        return "*" * len(value)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def mask_phone(value: str) -> str:
    if len(value) == 11:
        return value[:3] + "****" + value[-4:]
    if len(value) <= 4:
        return "*" * len(value)
    return value[:2] + "*" * (len(value) - 4) + value[-2:]


# A number inside a contact line, clear or already masked ("138****5678").
_NUMBER_IN_TEXT = re.compile(r"\+?\d[\d\-* ]{5,}\d")


def normalize_contact(raw: str) -> str:
    return " ".join((raw or "").split())


def mask_contact(value: str) -> str:
    """A contact line ("张三 13812345678"): the name stays, every number in it is masked ("张三 138****5678")."""
    return _NUMBER_IN_TEXT.sub(lambda match: mask_phone(normalize_phone(match.group())), value)


def contact_name(value: object) -> str:
    """The name(s) of a contact line without its numbers ("张三 138****5678" → "张三"), for meeting records."""
    return " ".join(_NUMBER_IN_TEXT.sub(" ", str(value or "")).split())


MASKERS = {"id_number": mask_id_number, "phone": mask_phone, "contact": mask_contact}
NORMALIZERS = {"id_number": normalize_id_number, "phone": normalize_phone, "contact": normalize_contact}
