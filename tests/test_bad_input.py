"""The bad input corpus: every file in tests/configs/invalid exits 1 through the CLI, with a
message naming the file and the field, no traceback, and no AWS request at all."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from provisioner.cli import cli
from tests import realism
from tests.conftest import REGION

CORPUS = Path(__file__).resolve().parent / "configs" / "invalid"
# Files that cannot carry an "# expect:" line of their own.
SPECIAL = {
    "01-empty.yaml": ("", "is empty"),
    "40-not-utf8.yaml": ("", "not UTF-8"),
    "41-a-directory.yaml": ("", "is a directory"),
    "42-dangling-symlink.yaml": ("", "no such file"),
}


def expectation(path: Path) -> tuple[str, str]:
    if path.name in SPECIAL:
        return SPECIAL[path.name]
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# expect:"), f"{path.name} needs an '# expect: FIELD | WORDS' first line"
    field, words = first.removeprefix("# expect:").split("|")
    return field.strip(), words.strip()


def test_the_corpus_is_large_enough() -> None:
    assert len(list(CORPUS.iterdir())) >= 30


@pytest.mark.parametrize("name", sorted(p.name for p in CORPUS.iterdir()))
def test_invalid_config_is_refused_before_any_aws_call(aws: realism.State, name: str) -> None:
    path = CORPUS / name
    field, words = expectation(path)
    result = CliRunner().invoke(cli, ["--region", REGION, "apply", "-f", str(path), "--yes"])
    assert result.exit_code == 1, result.output
    assert f"config error: {path}: {field}" in result.output, result.output
    assert words in result.output, result.output
    assert "Traceback" not in result.output
    assert sum(realism.STATE.calls.values()) == 0
