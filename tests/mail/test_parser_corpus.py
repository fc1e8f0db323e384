"""The golden corpus: every raw mail in ``corpus/`` parses to the JSON beside it.

A mismatch shows a diff of the two JSON texts. When a change of the parser is meant, run
``make mail-corpus`` and read the diff of the .json files before committing them.
"""

import difflib
import json
from pathlib import Path

import pytest

from saruna.mail.parser import parse

CORPUS = Path(__file__).parent / "corpus"
MAILS = sorted(CORPUS.glob("*.eml"))


def _pretty(data: object) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True)


def test_the_corpus_covers_at_least_sixty_mails():
    assert len(MAILS) >= 60
    assert {p.stem for p in CORPUS.glob("*.json")} == {p.stem for p in MAILS}


@pytest.mark.parametrize("path", MAILS, ids=lambda path: path.stem)
def test_mail_parses_to_its_expected_json(path):
    expected = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    # Through JSON, as ``saruna mail parse`` prints it (dates become strings).
    actual = json.loads(_pretty(parse(path.read_bytes()).as_json()))
    if actual != expected:
        diff = difflib.unified_diff(
            _pretty(expected).splitlines(), _pretty(actual).splitlines(),
            f"{path.stem}.json (expected)", f"{path.stem}.eml (parsed)", lineterm="",
        )
        pytest.fail("\n".join(diff), pytrace=False)
