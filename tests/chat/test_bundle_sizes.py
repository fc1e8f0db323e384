"""What a visitor downloads: the loader on every page (≤ 5 KB gzip) and the chat UI when they
open it (its page, script and style together ≤ 30 KB gzip). Prints the figures."""

import gzip
from pathlib import Path

import pytest

from tests.chat.helpers import make_button
from tests.tenancy import host_client

STATIC = Path(__file__).resolve().parents[2] / "saruna" / "chat" / "static" / "chat" / "widget"
LOADER_BUDGET = 5 * 1024
CHAT_UI_BUDGET = 30 * 1024


def sizes(content: bytes) -> tuple[int, int]:
    return len(content), len(gzip.compress(content, compresslevel=9))


@pytest.mark.django_db
def test_widget_sizes_stay_within_budget(account, capsys):
    client = host_client(account)
    loader = client.get("/widget/loader.js").content
    page = client.get(f"/widget/{make_button(account).public_id}/chat/").content
    parts = {
        "loader.js": sizes(loader),
        "chat page": sizes(page),
        "chat.js": sizes((STATIC / "chat.js").read_bytes()),
        "chat.css": sizes((STATIC / "chat.css").read_bytes()),
    }
    chat_ui = tuple(sum(part[i] for name, part in parts.items() if name != "loader.js")
                    for i in (0, 1))
    with capsys.disabled():
        print()
        for name, (raw, packed) in [*parts.items(), ("chat UI in all", chat_ui)]:
            print(f"  {name:<15} {raw:>7,} bytes, {packed:>6,} gzip")
    assert parts["loader.js"][1] <= LOADER_BUDGET
    assert chat_ui[1] <= CHAT_UI_BUDGET
