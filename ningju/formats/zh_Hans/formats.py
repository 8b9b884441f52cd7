"""Chinese formats: the same as Django's, except that the first input format (the one a form widget renders a
value in) is ISO 8601. Django's zh_Hans starts with "%Y/%m/%d", which an <input type="date"> rejects: the field
would look empty. Parsing still accepts every format Django's Chinese locale accepts."""

from django.conf.locale.zh_Hans import formats as django_formats

DATE_INPUT_FORMATS = ["%Y-%m-%d", *(f for f in django_formats.DATE_INPUT_FORMATS if f != "%Y-%m-%d")]
DATETIME_INPUT_FORMATS = [
    "%Y-%m-%d %H:%M",
    *(f for f in django_formats.DATETIME_INPUT_FORMATS if f != "%Y-%m-%d %H:%M"),
]
