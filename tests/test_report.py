"""What a person reads in a plan: field diffs that stay readable for large documents."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner

from provisioner.cli import cli
from provisioner.config import canonical_policy
from provisioner.plan import Action, Change, FieldChange, KindName
from provisioner.report import render_change
from tests import realism
from tests.conftest import REGION


def test_tag_changes_show_each_tag_and_the_value_it_had() -> None:
    change = Change(
        KindName.PERMISSION_SET,
        Action.UPDATE,
        "Dev",
        None,
        (FieldChange("tags", {"team": "other", "extra": "x"}, {"team": "product", "env": "prod"}),),
    )
    assert render_change(change)[1:] == [
        "      tags:",
        "          + env=prod",
        "          - extra=x",
        '          team: "other" -> "product"',
    ]


def large_policy(changed: int | None = None) -> dict[str, Any]:
    """About 10 KB of compact JSON, 75 statements (near the 10,240 an inline policy may hold);
    statement `changed` gets another action."""
    statements = [
        {
            "Sid": f"Bucket{i:03d}",
            "Effect": "Allow",
            "Action": "s3:PutObject" if i == changed else "s3:GetObject",
            "Resource": [f"arn:aws:s3:::team-data-{i:03d}", f"arn:aws:s3:::team-data-{i:03d}/*"],
        }
        for i in range(75)
    ]
    return {"Version": "2012-10-17", "Statement": statements}


def config_with(policy: dict[str, Any], path: Path) -> str:
    doc = {"permission_sets": [{"name": "DataReader", "inline_policy": policy}]}
    path.write_text(yaml.safe_dump(doc))
    return str(path)


def invoke(*args: str) -> Any:
    return CliRunner().invoke(cli, ["--region", REGION, *args], catch_exceptions=False)


def test_one_changed_statement_in_a_large_inline_policy_shows_as_a_short_diff(
    aws: realism.State, tmp_path: Path
) -> None:
    assert 9_000 < len(canonical_policy(large_policy()).encode()) <= 10_240
    assert invoke("apply", "-f", config_with(large_policy(), tmp_path / "ic.yaml"), "--yes").exit_code == 0
    result = invoke("plan", "-f", config_with(large_policy(changed=37), tmp_path / "ic.yaml"))
    lines = result.output.splitlines()
    start = lines.index("      inline_policy:")
    diff = [line for line in lines[start + 1 :] if line.startswith("          ")]
    assert [line.strip() for line in diff if line.strip()[:1] in "-+"] == [
        '-      "Action": "s3:GetObject",',
        '+      "Action": "s3:PutObject",',
    ]
    assert any("team-data-037" in line for line in diff)  # the context says which statement
    assert len(diff) <= 12 and "[..." not in result.output
    as_json = CliRunner().invoke(cli, ["--region", REGION, "--output", "json", "plan", "-f", str(tmp_path / "ic.yaml")])
    field = json.loads(as_json.stdout)["plan"]["changes"][0]["fields"]["inline_policy"]
    assert (field["old"], field["new"]) == (large_policy(), large_policy(changed=37))


def test_inline_policy_diff_is_red_and_green_on_a_terminal() -> None:
    change = Change(
        KindName.PERMISSION_SET,
        Action.UPDATE,
        "DataReader",
        None,
        (FieldChange("inline_policy", large_policy(), large_policy(changed=3)),),
    )
    lines = render_change(change, color=True)
    assert '          \x1b[31m-      "Action": "s3:GetObject",\x1b[0m' in lines
    assert '          \x1b[32m+      "Action": "s3:PutObject",\x1b[0m' in lines
