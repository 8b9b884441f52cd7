"""An encrypted model field whose value renders masked, with a keyed-hash twin for exact look-up.

`Resident.phone` holds a `SensitiveValue`: `str()` of it is the masked form, so a template or an export cannot show
the number by accident; `.reveal()` is the one way to the clear text, and the services that call it write the audit
row. Assigning a plain string encrypts it on save and sets the `<name>_hash` field at once.
"""

from typing import Any

from django import forms
from django.db import models
from django.utils.translation import gettext_lazy as _

from ningju.core import crypto
from ningju.core.identifiers import MASKERS, NORMALIZERS


class SensitiveValue:
    __slots__ = ("_plain", "_token", "kind")

    def __init__(self, kind: str, *, plain: str | None = None, token: str | None = None) -> None:
        self.kind = kind
        self._plain = plain
        self._token = token

    def reveal(self) -> str:
        if self._plain is None:
            self._plain = crypto.decrypt(self._token or "")
        return self._plain

    @property
    def from_database(self) -> bool:
        """True for a value read back from storage and not yet decrypted."""
        return self._token is not None and self._plain is None

    @property
    def masked(self) -> str:
        return MASKERS[self.kind](self.reveal())

    def token(self) -> str:
        if self._token is None:
            self._token = crypto.encrypt(self.reveal())
        return self._token

    def __str__(self) -> str:
        return self.masked

    def __repr__(self) -> str:
        return f"<SensitiveValue {self.kind} {self.masked}>"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, SensitiveValue):
            return self.kind == other.kind and self.reveal() == other.reveal()
        return False

    def __hash__(self) -> int:
        return hash((self.kind, self.reveal()))

    def __bool__(self) -> bool:
        return bool(self._token) or bool(self._plain)


class _SensitiveDescriptor:
    def __init__(self, field: "EncryptedField") -> None:
        self.field = field

    def __get__(self, instance: Any, owner: type) -> Any:
        if instance is None:
            return self
        return instance.__dict__.get(self.field.attname)

    def __set__(self, instance: Any, value: Any) -> None:
        value = self.field.to_python(value)
        instance.__dict__[self.field.attname] = value
        # A value just read from the database already has its hash stored beside it: hashing it again would
        # decrypt every identifier of every row loaded. Only a newly assigned value gets its hash here.
        if self.field.hash_field and (value is None or not value.from_database):
            instance.__dict__[self.field.hash_field] = self.field.hash_of(value)


class EncryptedFormField(forms.CharField):
    """The form side of an `EncryptedField`: the stored value is never put into the page (neither clear nor
    masked: a masked value sent back would overwrite the number with stars); an empty box keeps what is stored."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["required"] = False
        kwargs.setdefault("help_text", _("出于保护不显示原值；留空则保持不变，填写则替换。"))
        super().__init__(*args, **kwargs)

    def prepare_value(self, value: Any) -> Any:
        return "" if isinstance(value, SensitiveValue) else value

    def has_changed(self, initial: Any, data: Any) -> bool:
        return bool(data)


class EncryptedField(models.TextField):
    """Stores Fernet ciphertext; reads back a `SensitiveValue`. Empty values are stored as ''."""

    def __init__(self, *args: Any, kind: str = "", hash_field: str = "", **kwargs: Any) -> None:
        if kind not in MASKERS:
            raise ValueError(f"EncryptedField kind must be one of {sorted(MASKERS)}")
        self.kind = kind
        self.hash_field = hash_field
        kwargs.setdefault("blank", True)
        kwargs.setdefault("default", "")
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        kwargs["kind"] = self.kind
        if self.hash_field:
            kwargs["hash_field"] = self.hash_field
        if kwargs.get("default") == "":
            del kwargs["default"]
        kwargs.pop("blank", None)
        return name, path, args, kwargs

    def contribute_to_class(self, cls: Any, name: str, private_only: bool = False) -> None:
        super().contribute_to_class(cls, name, private_only)
        setattr(cls, self.attname, _SensitiveDescriptor(self))

    def formfield(self, **kwargs: Any) -> Any:
        return super().formfield(**{"form_class": EncryptedFormField, "widget": forms.TextInput, **kwargs})

    def save_form_data(self, instance: models.Model, data: Any) -> None:
        if data:  # empty keeps the stored value (see EncryptedFormField)
            super().save_form_data(instance, data)

    def hash_of(self, value: SensitiveValue | None) -> str:
        return crypto.lookup_hash(self.kind, value.reveal()) if value else ""

    def to_python(self, value: Any) -> SensitiveValue | None:
        if value is None or value == "" or isinstance(value, SensitiveValue):
            return value or None
        return SensitiveValue(self.kind, plain=NORMALIZERS[self.kind](str(value)))

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> SensitiveValue | None:
        return SensitiveValue(self.kind, token=value) if value else None

    def get_prep_value(self, value: Any) -> str:
        value = self.to_python(value)
        return value.token() if value else ""

    def value_to_string(self, obj: Any) -> str:
        # Serialisation (dumpdata, history) keeps the ciphertext, never the clear text.
        value = self.to_python(self.value_from_object(obj))
        return value.token() if value else ""


class LookupHashField(models.CharField):
    """The keyed hash of an `EncryptedField` on the same model, recomputed from it on every save (bulk_create
    included), so it can never disagree with the value it stands for."""

    def __init__(self, *args: Any, source: str = "", **kwargs: Any) -> None:
        self.source = source
        kwargs.setdefault("max_length", 64)
        kwargs.setdefault("blank", True)
        kwargs.setdefault("editable", False)
        kwargs.setdefault("default", "")
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        kwargs["source"] = self.source
        return name, path, args, kwargs

    def pre_save(self, model_instance: models.Model, add: bool) -> str:
        source = model_instance._meta.get_field(self.source)
        assert isinstance(source, EncryptedField)
        value = source.hash_of(getattr(model_instance, self.source))
        setattr(model_instance, self.attname, value)
        return value
