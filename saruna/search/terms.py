"""What a user typed, made safe: words and exact identifiers, never query syntax.

Whatever the search box receives (quotes, ``*``, ``-``, parentheses, ``NEAR``, ``AND``,
``:``, ``&``, ``!``) ends up as plain alphanumeric words that each backend quotes or joins
itself, so no input can raise a syntax error in FTS5 or ``to_tsquery``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Bounds on work per query: a pasted paragraph searches its first words.
MAX_QUERY_CHARS = 500
MAX_WORDS = 12
MAX_WORD_CHARS = 64

# Runs of letters and digits: what SQLite's unicode61 tokenizer calls a token ("_" is not).
_WORD = re.compile(r"[^\W_]+")
_CODE = re.compile(r"^[A-Za-z0-9]{3}-[A-Za-z0-9]{3}-[A-Za-z0-9]{3}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
# A chunk with the punctuation of an address or code, searched as a substring (trigram).
_IDENTIFIER = re.compile(r"[@.\-]")


@dataclass(frozen=True)
class Terms:
    words: tuple[str, ...] = ()  # lower-case; each one a prefix, all required
    # Set when the whole query is one address- or code-like chunk (``ABC-DEF-123``,
    # ``cleo@example.com``, ``example.com``), lower-case: it is also matched exactly
    # (codes and addresses) or as a substring (PostgreSQL with pg_trgm).
    identifier: str = ""

    def __bool__(self) -> bool:
        return bool(self.words)

    @property
    def code(self) -> str:
        return self.identifier.upper() if _CODE.match(self.identifier) else ""

    @property
    def email(self) -> str:
        return self.identifier if _EMAIL.match(self.identifier) else ""


def parse(query: str) -> Terms:
    text = unicodedata.normalize("NFC", str(query or "")[:MAX_QUERY_CHARS])
    words = tuple(dict.fromkeys(w.lower()[:MAX_WORD_CHARS] for w in _WORD.findall(text)))
    chunks = text.split()
    identifier = ""
    if len(chunks) == 1:
        chunk = chunks[0].strip("\"'()<>[]{},;").lower()
        if len(chunk) >= 3 and _IDENTIFIER.search(chunk) and _WORD.search(chunk):
            identifier = chunk
    return Terms(words=words[:MAX_WORDS], identifier=identifier)


def words_only(text: str) -> str:
    """``text`` with everything between words turned into one space, so that PostgreSQL's
    parser sees the same words as FTS5 and the query parser (it would keep an address or a
    host name as one token)."""
    return " ".join(_WORD.findall(unicodedata.normalize("NFC", text)))
