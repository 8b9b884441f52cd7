"""Chinese word segmentation with jieba and the community-governance user dictionary (加装电梯, 群租, 飞线充电 …).

jieba is set up lazily, once per process: its dictionary cache goes to our own writable folder (var/cache when
Django is configured, else the system temporary folder), never next to the installed package, and its logging is
silenced. Nothing is downloaded: the default dictionary ships inside the jieba wheel.
"""

import logging
import os
import tempfile
import threading
from pathlib import Path

USERDICT = Path(__file__).with_name("userdict.txt")

_lock = threading.Lock()
_tokenizer = None


def _cache_dir() -> Path:
    try:
        from django.conf import settings

        base = Path(settings.VAR_DIR) / "cache" / "jieba"
    except Exception:  # settings not configured (plain scripts): the text engine works without Django
        base = Path(tempfile.gettempdir()) / f"ningju-jieba-{os.getuid() if hasattr(os, 'getuid') else 'user'}"
    try:
        base.mkdir(parents=True, exist_ok=True)
        probe = base / ".probe"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError:
        # a read-only var/ (container images): fall back to a private temporary folder
        base = Path(tempfile.mkdtemp(prefix="ningju-jieba-"))
    return base


def tokenizer():  # type: ignore[no-untyped-def]
    """The process's jieba tokenizer with the user dictionary loaded (built on first use)."""
    global _tokenizer
    if _tokenizer is not None:
        return _tokenizer
    with _lock:
        if _tokenizer is None:
            import jieba

            jieba.setLogLevel(logging.WARNING)
            logging.getLogger("jieba").setLevel(logging.WARNING)
            made = jieba.Tokenizer()
            made.tmp_dir = str(_cache_dir())
            made.cache_file = "jieba.cache"
            made.initialize()
            made.load_userdict(str(USERDICT))
            _tokenizer = made
    return _tokenizer


_tagger = None


def tagger():  # type: ignore[no-untyped-def]
    """Part-of-speech tagging on the same tokenizer (built on first use; it reads the dictionary's tags)."""
    global _tagger
    if _tagger is None:
        import jieba.posseg

        made = jieba.posseg.POSTokenizer(tokenizer())
        with _lock:
            _tagger = made
    return _tagger


def words(text: str) -> list[str]:
    """The words of a text (jieba precise mode, HMM for unknown words), without whitespace tokens."""
    return [w for w in tokenizer().lcut(text, HMM=True) if w.strip()]
