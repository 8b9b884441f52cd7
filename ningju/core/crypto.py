"""Field encryption (Fernet, from `cryptography`) and the keyed hash used for exact look-up of identifiers."""

import hashlib
import hmac
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings


@cache
def _fernet() -> MultiFernet:
    # MultiFernet encrypts with the first key and decrypts with any: new keys go first, old ones stay until
    # `ningju rotate-keys` has re-encrypted every row.
    return MultiFernet([Fernet(key.encode()) for key in settings.NINGJU_FIELD_KEYS])


@cache
def _hash_key() -> bytes:
    # A separate key for hashing, derived from the first field key, so the two uses never share a key.
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"ningju-lookup-hash").derive(
        settings.NINGJU_FIELD_KEYS[0].encode()
    )


def encrypt(plain: str) -> str:
    return _fernet().encrypt(plain.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as error:
        raise ValueError("cannot decrypt: wrong NINGJU_FIELD_KEY or damaged value") from error


def lookup_hash(kind: str, normalized: str) -> str:
    """Keyed hash of an identifier: equal identifiers give equal hashes, and nobody without the key can guess."""
    return hmac.new(_hash_key(), f"{kind}:{normalized}".encode(), hashlib.sha256).hexdigest()


def reset_caches() -> None:
    """Forget the keys (tests that change NINGJU_FIELD_KEYS call this)."""
    _fernet.cache_clear()
    _hash_key.cache_clear()
