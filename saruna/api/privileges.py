"""The privilege vocabulary of API keys (API §21): LiveAgent's OAuth scope names, written
``object.privilege``. A key holds a set of them; every operation names the ones it needs."""

from __future__ import annotations

from collections.abc import Iterable

# object → the privileges LiveAgent defines for it (§21's table).
VOCABULARY: dict[str, tuple[str, ...]] = {
    "ticket": ("read", "read_all", "create", "answer", "operate", "change_state", "close", "mass"),
    "contact": ("read", "create", "edit", "delete"),
    "user": ("read", "write"),
    "agent": ("read", "manage", "own"),
    "agent_status": ("read", "own", "manage"),
    "tag": ("read", "manage"),
    "canned_message": ("read", "manage"),
    "predefined_answer": ("read", "manage"),
    "chats": ("read",),
    "sla": ("read",),
    "file": ("add",),
    "filter": ("read", "write"),
    "page_visit": ("read", "write"),
    "api": ("read", "read_own", "write", "write_own", "delete"),
    "subscription": ("read", "write", "own"),
    "time_report": ("read",),
    "eventlogs": ("read",),
    "plugin_settings": ("read",),
    "button": ("read",),
    "contact_phone": ("read",),
    "invoice": ("read",),
    "settings": ("read", "write"),
    "custom_button": ("read", "write"),
    "viber_account": ("read", "write"),
    "reindex": ("read", "write"),
    "hosted_account": ("read", "write"),
    "call": ("read", "write"),
    "phone": ("read", "write", "own"),
    "device": ("own", "manage"),
    "sso": ("read", "read_own", "write", "write_own"),
    "sip_configuration": ("manage",),
    "hosting": ("login",),
    # Ours (API extension E.2): managing outgoing webhooks.
    "webhook": ("read", "write"),
    # Ours: conversions a back end reports (docs/api.md, Conversions).
    "conversion": ("read", "write"),
}

ALL: frozenset[str] = frozenset(f"{o}.{p}" for o, ps in VOCABULARY.items() for p in ps)
# What a read-only key holds: every privilege that only reads.
_READING = frozenset({"read", "read_all", "read_own", "own"})
READ_ONLY: frozenset[str] = frozenset(
    f"{o}.{p}" for o, ps in VOCABULARY.items() for p in ps if p in _READING
)


def unknown(scopes: Iterable[str]) -> list[str]:
    """The scopes that are not in the vocabulary, in the order given."""
    return [s for s in scopes if s not in ALL]


def as_wire(scopes: Iterable[str]) -> list[dict[str, object]]:
    """``{"ticket.read", "ticket.create"}`` → ``[{"object": "ticket", "privileges": [...]}]``
    (the ``ApiPrivilege`` shape of §21), objects and privileges in vocabulary order."""
    held = set(scopes)
    return [
        {"object": obj, "privileges": [p for p in privileges if f"{obj}.{p}" in held]}
        for obj, privileges in VOCABULARY.items()
        if any(f"{obj}.{p}" in held for p in privileges)
    ]


def from_wire(items: Iterable[dict[str, object]]) -> set[str]:
    """The inverse of :func:`as_wire`; unknown scopes are kept so the caller can refuse them."""
    scopes: set[str] = set()
    for item in items:
        for privilege in item.get("privileges") or []:  # type: ignore[attr-defined]
            scopes.add(f"{item.get('object')}.{privilege}")
    return scopes
