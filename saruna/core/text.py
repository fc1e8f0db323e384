"""Text from the open web made storable."""

import re

NUL = "\x00"
# In a str, a surrogate is always a lone one: JSON's escaped pairs decode to one code point.
SURROGATE = re.compile("[\ud800-\udfff]")


def storable(text: str) -> str:
    """``text`` without what no database stores: NUL characters (PostgreSQL refuses them) and
    lone surrogates (no UTF-8 for them; they become U+FFFD). Used for input taken leniently —
    a visitor's page title, a chat line — where refusing the whole would lose the rest."""
    if NUL in text:
        text = text.replace(NUL, "")
    if text.isascii():
        return text
    return SURROGATE.sub("\ufffd", text)
