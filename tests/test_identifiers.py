"""ID numbers (GB 11643) and phone numbers: validation with Chinese messages, and masking."""

from datetime import date

import pytest
from django.core.exceptions import ValidationError

from ningju.core.identifiers import (
    id_birth_date,
    id_check_char,
    id_gender,
    mask_id_number,
    mask_phone,
    validate_id_number,
    validate_phone,
)


def test_check_character_follows_gb_11643() -> None:
    # The standard's published example: 11010519491231002X
    assert id_check_char("11010519491231002") == "X"
    assert validate_id_number("11010519491231002x") == "11010519491231002X"


def test_valid_id_number_gives_birth_date_and_gender() -> None:
    value = validate_id_number(" 310106194503071228 ")
    assert id_birth_date(value) == date(1945, 3, 7)
    assert id_gender(value) == "F"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("31010619450307122", "应为18位"),
        ("3101061945030712289", "应为18位"),
        ("31010619450307122A", "末位为数字或X"),
        ("310106194513071226", "出生日期不存在"),
        ("310106230001011234", "出生日期"),
        ("310106185001011234", "出生日期不合理"),
        ("310106194503071229", "校验位错误"),
    ],
)
def test_invalid_id_numbers_are_refused_with_reason(value: str, message: str) -> None:
    with pytest.raises(ValidationError) as error:
        validate_id_number(value)
    assert message in " ".join(error.value.messages)


@pytest.mark.parametrize(
    "value", ["138 1234 5678", "+86 13812345678", "138-1234-5678", "62581234", "021-62581234"]
)
def test_phone_numbers_in_common_shapes_are_accepted(value: str) -> None:
    assert validate_phone(value).isdigit()


@pytest.mark.parametrize("value", ["1381234567", "23812345678", "abc", "12345"])
def test_bad_phone_numbers_are_refused(value: str) -> None:
    with pytest.raises(ValidationError, match="手机号格式不正确"):
        validate_phone(value)


def test_masks_match_the_house_style() -> None:
    assert mask_phone("13812345678") == "138****5678"
    assert mask_id_number("310106194503071234") == "310106********1234"
    assert mask_phone("62581234") == "62****34"
