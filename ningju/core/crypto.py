"""Field encryption (Fernet, from `cryptography`) and the keyed hash used for exact look-up of identifiers."""

import base64
import hashlib
import hmac
import secrets
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

LOOKUP_KEY_BYTES = 32


@cache
def _fernet() -> MultiFernet:
    # MultiFernet encrypts with the first key and decrypts with any: new keys go first, old ones stay until
    # `ningju rotate-keys` has re-encrypted every row.
    return MultiFernet([Fernet(key.encode()) for key in settings.NINGJU_FIELD_KEYS])


@cache
def _primary() -> Fernet:
    return Fernet(settings.NINGJU_FIELD_KEYS[0].encode())


def new_lookup_key() -> str:
    """A fresh look-up key, as NINGJU_LOOKUP_KEY holds it (URL-safe base64 of 32 random bytes)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(LOOKUP_KEY_BYTES)).decode()


def legacy_lookup_key(field_key: str) -> str:
    """The look-up key databases made before NINGJU_LOOKUP_KEY existed used: an HKDF derivation of the first field
    key. Setting NINGJU_LOOKUP_KEY to this value keeps their hashes valid after the field key is rotated."""
    derived = HKDF(
        algorithm=hashes.SHA256(), length=LOOKUP_KEY_BYTES, salt=None, info=b"ningju-lookup-hash"
    ).derive(field_key.encode())
    return base64.urlsafe_b64encode(derived).decode()


@cache
def _hash_key() -> bytes:
    # Its own key, never a field key: adding a Fernet key must not change a single hash, or search by ID/phone and
    # the duplicate-person check would stop finding the people already stored.
    try:
        key = base64.urlsafe_b64decode(settings.NINGJU_LOOKUP_KEY.encode())
    except ValueError as error:
        raise ImproperlyConfigured("NINGJU_LOOKUP_KEY must be URL-safe base64") from error
    if len(key) < LOOKUP_KEY_BYTES:
        raise ImproperlyConfigured(f"NINGJU_LOOKUP_KEY must hold at least {LOOKUP_KEY_BYTES} bytes")
    return key


def encrypt(plain: str) -> str:
    return _fernet().encrypt(plain.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as error:
        raise ValueError("cannot decrypt: wrong NINGJU_FIELD_KEY or damaged value") from error


def under_primary_key(token: str) -> bool:
    """Was this ciphertext made with the first (current) field key? Rotation skips the rows for which it was."""
    try:
        _primary().decrypt(token.encode())
    except InvalidToken:
        return False
    return True


def readable_by(token: str, key: str) -> bool:
    """Can this one key decrypt the ciphertext? Retiring a key first checks that no value still needs it."""
    try:
        Fernet(key.encode()).decrypt(token.encode())
    except InvalidToken:
        return False
    return True


def rotate(token: str) -> str:
    """The same clear text encrypted again under the first key (MultiFernet.rotate keeps the original timestamp)."""
    try:
        return _fernet().rotate(token.encode()).decode()
    except InvalidToken as error:
        raise ValueError("cannot decrypt: wrong NINGJU_FIELD_KEY or damaged value") from error


def lookup_hash(kind: str, normalized: str) -> str:
    """Keyed hash of an identifier: equal identifiers give equal hashes, and nobody without the key can guess."""
    return hmac.new(_hash_key(), f"{kind}:{normalized}".encode(), hashlib.sha256).hexdigest()


def reset_caches() -> None:
    """Forget the keys (tests and `ningju rotate-keys` that change NINGJU_FIELD_KEYS call this)."""
    _fernet.cache_clear()
    _primary.cache_clear()
    _hash_key.cache_clear()
