"""English and Latvian ship complete; the profile's language wins, then the browser's."""

import gettext
import json
from pathlib import Path

from django.conf import settings

from tests.factories import make_user
from tests.tenancy import host_client

CATALOG = Path(settings.BASE_DIR) / "locale" / "lv" / "LC_MESSAGES"


def po_string(quoted: str) -> str:
    """A .po file's quoted string. Its escapes (\\n, \\t, \\", \\\\) are JSON's; json, not
    ast.literal_eval, which once raised a SystemError under parallel test workers."""
    return json.loads(quoted)


def po_entries(path: Path) -> list[dict]:
    """The entries of a .po file: msgid, msgstr(s) and flags (enough for these checks)."""
    entries, current, field = [], None, None
    for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        if not line.strip():
            if current is not None:
                entries.append(current)
            current, field = None, None
            continue
        current = current or {"flags": "", "msgctxt": "", "msgid": "", "msgstr": []}
        if line.startswith("msgctxt "):
            field = "msgctxt"
            current["msgctxt"] = po_string(line[8:])
        elif line.startswith("#,"):
            current["flags"] += line
        elif line.startswith("#"):
            continue
        elif line.startswith("msgid_plural"):
            field = "plural"
        elif line.startswith("msgid "):
            field = "msgid"
            current["msgid"] = po_string(line[6:])
        elif line.startswith("msgstr"):
            field = "msgstr"
            current["msgstr"].append(po_string(line.split(" ", 1)[1]))
        elif line.startswith('"') and field == "msgid":
            current["msgid"] += po_string(line)
        elif line.startswith('"') and field == "msgstr":
            current["msgstr"][-1] += po_string(line)
    return [e for e in entries if e["msgid"]]


def test_latvian_catalog_is_complete_and_compiled():
    entries = po_entries(CATALOG / "django.po")
    assert len(entries) > 400
    untranslated = [e["msgid"] for e in entries if not all(e["msgstr"])]
    fuzzy = [e["msgid"] for e in entries if "fuzzy" in e["flags"]]
    assert untranslated == [] and fuzzy == []
    with open(CATALOG / "django.mo", "rb") as compiled:
        catalog = gettext.GNUTranslations(compiled)._catalog  # type: ignore[attr-defined]
    compiled_ids = {key if isinstance(key, str) else key[0] for key in catalog}
    # gettext keys an entry with a context as "context\x04msgid".
    missing = {
        f"{e['msgctxt']}\x04{e['msgid']}" if e["msgctxt"] else e["msgid"] for e in entries
    } - compiled_ids
    assert missing == set(), "django.mo is stale: run `make messages`"


def test_the_browser_language_picks_latvian(public_client):
    page = public_client.get("/", HTTP_ACCEPT_LANGUAGE="lv,en;q=0.5").content.decode()
    assert "Sākt bezmaksas izmēģinājumu" in page and 'lang="lv"' in page
    assert "Start free trial" in public_client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()


def test_the_profile_language_wins_over_the_browser(account):
    latvian = make_user(account, "liga@acme.test", language="lv")
    page = host_client(account, latvian).get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Izrakstīties" in page  # "Log out"
    english = make_user(account, "john@acme.test", language="en")
    page = host_client(account, english).get("/", HTTP_ACCEPT_LANGUAGE="lv").content.decode()
    assert "Log out" in page
