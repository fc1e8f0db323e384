"""Identifiers shown to clients: short random base-36 strings, as LiveAgent uses."""

import secrets
import string

ALPHABET = string.ascii_lowercase + string.digits
CODE_ALPHABET = string.ascii_uppercase + string.digits


def new_id(length: int = 8) -> str:
    """A random lower-case alphanumeric id such as ``fp80688h`` (36^8 ≈ 2.8e12 values)."""
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def new_code() -> str:
    """A human reference such as ``ABC-DEF-123``."""
    chars = "".join(secrets.choice(CODE_ALPHABET) for _ in range(9))
    return f"{chars[:3]}-{chars[3:6]}-{chars[6:]}"
