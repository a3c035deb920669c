"""sso-config that keeps up with the organization: profile names from a template with the
account names of AWS Organizations, one file per user, and profiles no longer reached removed."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from botocore.configloader import load_config
from click.testing import Result

from provisioner.access import _sections, safe_profile_name
from provisioner.commands.sso_config import user_file_name
from tests import realism
from tests.test_access_report import MANAGEMENT, PROD_NAME, config_file, invoke, organization, teams

# These tests build the organization they need: they start with none.
pytestmark = pytest.mark.standalone

TEMPLATE = "{account_name}-{permission_set}"


@pytest.fixture
def org(aws: realism.State, tmp_path: Path) -> dict[str, Any]:
    """The teams' config (not applied: sso-config reads the config) and the account ids."""
    accounts = organization()
    return {"config": config_file(tmp_path, teams(accounts)), "accounts": accounts, "doc": teams(accounts)}


def sso_config(org: dict[str, Any], *args: str) -> Result:
    return invoke("sso-config", "-f", org["config"], *args)


def loaded(path: Path) -> dict[str, Any]:
    """The file as botocore (so the AWS CLI) reads it."""
    return dict(load_config(str(path)))


# -- profile names from a template ---------------------------------------------------------------
def test_profile_names_come_from_the_template_with_account_names(org: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "config"
    result = sso_config(org, "--user", "cy", "--profile-name", TEMPLATE, "--write", str(path))
    assert result.exit_code == 0, result.output
    profiles = loaded(path)["profiles"]
    prod = org["accounts"][PROD_NAME]
    # "Production | web, *east*": each run of other characters, with its hyphens, is one "-".
    assert profiles["Production-web-east-Developer"]["sso_account_id"] == prod
    assert profiles["Production-web-east-Developer"]["sso_role_name"] == "Developer"
    assert set(profiles) == {
        "Production-web-east-Developer",
        "Production-web-east-ReadOnly",
        "Development-Developer",
        "Development-ReadOnly",
        "Sandbox-ReadOnly",
    }


@pytest.mark.parametrize(
    ("text", "safe"),
    [
        ("Production | web, *east*-Admin", "Production-web-east-Admin"),
        ("  dev  -ReadOnly", "dev-ReadOnly"),
        ("a--b-111122223333", "a--b-111122223333"),  # hyphens of a name stay as they are
        ("Ops,Billing+Cost@corp.example-Admin", "Ops-Billing+Cost@corp.example-Admin"),
        ("팀-Admin", "Admin"),
    ],
)
def test_profile_names_are_made_safe(text: str, safe: str) -> None:
    assert safe_profile_name(text) == safe


def test_an_account_the_organization_does_not_name_keeps_its_id(org: dict[str, Any], tmp_path: Path) -> None:
    doc = org["doc"]
    doc["assignments"].append({"permission_set": "Admin", "users": ["dee"], "accounts": ["111122223333"]})
    config = config_file(tmp_path, doc, "outside.yaml")
    result = invoke("sso-config", "-f", config, "--user", "dee", "--profile-name", TEMPLATE)
    assert result.exit_code == 0, result.output
    assert "[profile 111122223333-Admin]" in result.stdout and "[profile Sandbox-Everything]" in result.stdout
    assert "account 111122223333 has no name in the organization" in result.stderr


def test_account_names_that_cannot_be_read_stop_before_anything_is_written(org: dict[str, Any], tmp_path: Path) -> None:
    doc = org["doc"]
    doc["assignments"] = [a for a in doc["assignments"] if not a.get("all_accounts")]
    config = config_file(tmp_path, doc, "explicit.yaml")
    realism.configure(deny=lambda operation, request: operation in {"ListAccounts", "DescribeAccount"})
    path = tmp_path / "config"
    result = invoke("sso-config", "-f", config, "--user", "bo", "--profile-name", TEMPLATE, "--write", str(path))
    assert result.exit_code == 1 and "account names could not be read from AWS Organizations" in result.stderr
    assert "AccessDeniedException" in result.stderr and not path.exists()
    # Without {account_name}, Organizations is not needed.
    without = invoke("sso-config", "-f", config, "--user", "bo", "--profile-name", "{permission_set}@{account_id}")
    assert without.exit_code == 0 and f"[profile Developer@{org['accounts']['Development']}]" in without.stdout


@pytest.mark.parametrize(
    ("template", "words"),
    [
        ("{account}-{permission_set}", "{account}"),
        ("{account_name!r}", "no format or conversion"),
        ("{permission_set:>10}", "no format or conversion"),
        ("admin", "names no field"),
        ("{permission_set", "not a template"),
    ],
)
def test_a_bad_template_is_a_usage_error_before_any_call(org: dict[str, Any], template: str, words: str) -> None:
    realism.STATE.calls.clear()
    result = sso_config(org, "--profile-name", template)
    assert result.exit_code == 64 and words in result.stderr and "--profile-name" in result.stderr
    assert realism.STATE.calls == {}


def test_two_roles_with_one_profile_name_are_refused(org: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "config"
    result = sso_config(org, "--user", "cy", "--profile-name", "{account_name}", "--write", str(path))
    assert result.exit_code == 1 and not path.exists()
    assert "names 2 roles 'Development'" in result.stderr and "Developer on" in result.stderr
    assert "ReadOnly on" in result.stderr and "add {permission_set}" in result.stderr


# -- --all-users -------------------------------------------------------------------------------
def test_all_users_writes_one_file_per_user(org: dict[str, Any], tmp_path: Path) -> None:
    folder = tmp_path / "profiles"
    result = sso_config(org, "--all-users", "--profile-name", TEMPLATE, "--write", str(folder))
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in folder.iterdir()) == ["ana.config", "bo.config", "cy.config", "dee.config"]
    assert set(loaded(folder / "ana.config")["profiles"]) == {
        "Production-web-east-Admin",
        "Management-IAMAdmin",
        "Management-SSOAdmin",
    }
    assert set(loaded(folder / "dee.config")["profiles"]) == {"Sandbox-Everything"}
    bo, cy = loaded(folder / "bo.config")["profiles"], loaded(folder / "cy.config")["profiles"]
    assert set(bo) == {"Production-web-east-Developer", "Development-Developer"} and set(bo) < set(cy)
    again = sso_config(org, "--all-users", "--profile-name", TEMPLATE, "--write", str(folder))
    assert again.exit_code == 0 and again.stderr.count("already up to date") == 4
    assert not list(folder.glob("*.bak"))


def test_all_users_prints_each_users_config_in_turn(org: dict[str, Any]) -> None:
    result = sso_config(org, "--all-users")
    assert result.exit_code == 0
    blocks = result.stdout.split("# user ")[1:]
    assert [b.split("\n", 1)[0] for b in blocks] == ["ana", "bo", "cy", "dee"]
    assert all(b.count("[sso-session identity-center]") == 1 for b in blocks)


def test_all_users_in_json(org: dict[str, Any], tmp_path: Path) -> None:
    result = invoke(
        "--output", "json", "sso-config", "-f", org["config"], "--all-users", "--write", str(tmp_path / "p")
    )
    document = json.loads(result.stdout)
    assert [u["user"] for u in document["users"]] == ["ana", "bo", "cy", "dee"]
    assert document["users"][0]["written"]["path"] == str(tmp_path / "p" / "ana.config")


def test_all_users_names_the_users_who_reach_nothing(org: dict[str, Any], tmp_path: Path) -> None:
    doc = org["doc"]
    doc["users"].append({"user_name": "eve", "email": "eve@example.com"})
    config = config_file(tmp_path, doc, "eve.yaml")
    folder = tmp_path / "profiles"
    result = invoke("sso-config", "-f", config, "--all-users", "--write", str(folder))
    assert result.exit_code == 0 and "eve reach(es) no account" in result.stderr
    assert not (folder / "eve.config").exists()


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (["--all-users", "--user", "bo"], 64, "exclude each other"),
        (["--all-users", "--write", "{tmp}/file"], 1, "is a file"),
        (["--user", "bo", "--write", "{tmp}"], 1, "is a folder"),
    ],
)
def test_all_users_usage(org: dict[str, Any], tmp_path: Path, args: list[str], code: int, words: str) -> None:
    (tmp_path / "file").write_text("[default]\n")
    realism.STATE.calls.clear()
    result = sso_config(org, *[a.replace("{tmp}", str(tmp_path)) for a in args])
    assert result.exit_code == code and words in result.stderr and realism.STATE.calls == {}


@pytest.mark.parametrize(
    ("user", "file"),
    [
        ("kim", "kim.config"),
        ("ops/../root", "ops_.._root.config"),
        (".hidden", "_hidden.config"),
        ("김민수", "김민수.config"),
    ],
)
def test_a_user_file_stays_in_the_folder(user: str, file: str) -> None:
    assert user_file_name(user) == file


def test_users_whose_files_would_be_one_are_refused(org: dict[str, Any], tmp_path: Path) -> None:
    doc = org["doc"]
    doc["users"] += [
        {"user_name": "Kim", "email": "kim1@example.com", "groups": ["Admins"]},
        {"user_name": "kim", "email": "kim2@example.com", "groups": ["Admins"]},
    ]
    config = config_file(tmp_path, doc, "kims.yaml")
    folder = tmp_path / "profiles"
    result = invoke("sso-config", "-f", config, "--all-users", "--write", str(folder))
    assert result.exit_code == 1 and "'Kim' and 'kim'" in result.stderr and not folder.exists()


@pytest.mark.parametrize("args", [["--all-users", "--user", "bo"], ["--profile-name", "admin"]])
def test_a_usage_error_is_one_in_json_too(org: dict[str, Any], args: list[str]) -> None:
    realism.STATE.calls.clear()
    result = invoke("--output", "json", "sso-config", "-f", org["config"], *args)
    assert result.exit_code == 64 and json.loads(result.stdout)["error"]["type"] == "usage"
    assert realism.STATE.calls == {}


def test_write_reads_and_parses_the_file_once(
    org: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import botocore.configloader

    from provisioner import files

    path = tmp_path / "config"
    path.write_text("[default]\nregion = eu-west-1\n")
    read, parse = files.read_existing, botocore.configloader.raw_config_parse
    seen: list[str] = []
    monkeypatch.setattr(files, "read_existing", lambda p: seen.append(f"read {p}") or read(p))
    monkeypatch.setattr(
        botocore.configloader, "raw_config_parse", lambda p, *a: seen.append(f"parse {p}") or parse(p, *a)
    )
    assert sso_config(org, "--user", "cy", "--write", str(path)).exit_code == 0
    # Checked and read once before any AWS call; read again only by the write, for its backup.
    assert [s for s in seen if s.endswith(str(path))] == [f"parse {path}", f"read {path}", f"read {path}"]
    assert "[profile Developer-" in path.read_text() and "[default]" in path.read_text()


# -- profiles no longer reached are removed ------------------------------------------------------
def test_profiles_no_longer_reached_are_removed_and_the_old_file_kept(org: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "config"
    assert sso_config(org, "--user", "cy", "--write", str(path)).exit_code == 0
    mine = "\n# my own\n[profile ReadOnly-999988887777]\nsso_session = identity-center\nregion = eu-west-1\n"
    path.write_text(path.read_text() + mine)
    written = path.read_text()
    # cy leaves the auditors: the ReadOnly profiles go, the Developer ones stay.
    doc = org["doc"]
    doc["users"] = [{**u, "groups": ["Developers"]} if u["user_name"] == "cy" else u for u in doc["users"]]
    config = config_file(tmp_path, doc, "later.yaml")
    result = invoke("sso-config", "-f", config, "--user", "cy", "--write", str(path))
    assert result.exit_code == 0, result.output
    assert "removed ReadOnly-" in result.stderr and "(no longer written: not reached, or renamed)" in result.stderr
    profiles = loaded(path)["profiles"]
    assert not [p for p in profiles if p.startswith("ReadOnly-") and p != "ReadOnly-999988887777"]
    assert {p for p in profiles if p.startswith("Developer-")} == {
        f"Developer-{org['accounts']['Development']}",
        f"Developer-{org['accounts'][PROD_NAME]}",
    }
    assert profiles["ReadOnly-999988887777"]["region"] == "eu-west-1"  # not ours: kept
    assert [b.read_text() for b in tmp_path.glob("config.*.bak")] == [written]
    again = invoke("sso-config", "-f", config, "--user", "cy", "--write", str(path))
    assert "already up to date" in again.stderr and len(list(tmp_path.glob("config.*.bak"))) == 1


def test_profiles_of_another_session_are_left_alone(org: dict[str, Any], tmp_path: Path) -> None:
    """Another session in the same file may be another person's sign-in: nothing of it goes."""
    path = tmp_path / "config"
    assert sso_config(org, "--user", "ana", "--session-name", "ana", "--write", str(path)).exit_code == 0
    ana = loaded(path)["profiles"]
    result = sso_config(org, "--user", "dee", "--session-name", "dee", "--write", str(path))
    assert result.exit_code == 0 and "removed" not in result.stderr
    profiles = loaded(path)["profiles"]
    assert set(ana) < set(profiles) and f"Everything-{org['accounts']['Sandbox']}" in profiles


def test_removed_profiles_are_in_the_json_document(org: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "config"
    assert sso_config(org, "--user", "ana", "--write", str(path)).exit_code == 0
    doc = org["doc"]
    doc["assignments"] = [a for a in doc["assignments"] if a["permission_set"] != "IAMAdmin"]
    config = config_file(tmp_path, doc, "later.yaml")
    result = invoke("--output", "json", "sso-config", "-f", config, "--user", "ana", "--write", str(path))
    assert json.loads(result.stdout)["written"]["removed"] == [f"IAMAdmin-{MANAGEMENT}"]


# -- several users in one file -------------------------------------------------------------------
def moved(org: dict[str, Any], tmp_path: Path, groups: dict[str, list[str]]) -> str:
    """The teams' config with these users in these groups instead: a config file of its own."""
    doc = org["doc"]
    doc["users"] = [{**u, "groups": groups[u["user_name"]]} if u["user_name"] in groups else u for u in doc["users"]]
    return config_file(tmp_path, doc, "-".join(sorted(groups)) + "-moved.yaml")


def test_a_second_user_keeps_the_first_users_profiles(org: dict[str, Any], tmp_path: Path) -> None:
    """cy reaches ReadOnly everywhere, bo does not: writing bo's profiles leaves cy's alone."""
    path = tmp_path / "config"
    assert sso_config(org, "--user", "cy", "--write", str(path)).exit_code == 0
    cy = set(loaded(path)["profiles"])
    result = sso_config(org, "--user", "bo", "--write", str(path))
    assert result.exit_code == 0, result.output
    assert "removed" not in result.stderr
    assert set(loaded(path)["profiles"]) == cy  # bo's two Developer profiles are cy's too


def test_a_profile_goes_once_no_user_it_was_written_for_reaches_it(org: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "config"
    developer = {f"Developer-{org['accounts'][name]}" for name in ("Development", PROD_NAME)}
    for user in ("cy", "bo"):
        assert sso_config(org, "--user", user, "--write", str(path)).exit_code == 0
    # cy leaves the developers: bo still reaches the Developer profiles, so they stay.
    cy_left = moved(org, tmp_path, {"cy": ["Auditors"]})
    result = invoke("sso-config", "-f", cy_left, "--user", "cy", "--write", str(path))
    assert result.exit_code == 0 and "removed" not in result.stderr, result.output
    assert developer <= set(loaded(path)["profiles"])
    # Then bo moves to the auditors: nobody they were written for reaches them any more.
    both_left = moved(org, tmp_path, {"cy": ["Auditors"], "bo": ["Auditors"]})
    result = invoke("sso-config", "-f", both_left, "--user", "bo", "--write", str(path))
    assert result.exit_code == 0, result.output
    assert f"removed {', '.join(sorted(developer))} (no longer written: not reached, or renamed)" in result.stderr
    assert not developer & set(loaded(path)["profiles"])


def test_every_user_together_removes_what_none_of_them_reaches(org: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "config"
    everything = f"Everything-{org['accounts']['Sandbox']}"
    assert sso_config(org, "--user", "dee", "--write", str(path)).exit_code == 0
    assert sso_config(org, "--write", str(path)).exit_code == 0  # every declared user's profiles together
    doc = org["doc"]
    doc["assignments"] = [a for a in doc["assignments"] if a["permission_set"] != "Everything"]
    result = invoke("sso-config", "-f", config_file(tmp_path, doc, "no-everything.yaml"), "--write", str(path))
    assert result.exit_code == 0, result.output
    assert f"removed {everything} (no longer written: not reached, or renamed)" in result.stderr
    assert everything not in loaded(path)["profiles"]


def test_the_profiles_of_a_user_the_config_does_not_declare_stay(org: dict[str, Any], tmp_path: Path) -> None:
    """Written for dee, who is not in this config (another team's, say): not this run's to remove."""
    path = tmp_path / "config"
    assert sso_config(org, "--user", "dee", "--write", str(path)).exit_code == 0
    doc = org["doc"]
    doc["assignments"] = [a for a in doc["assignments"] if a["permission_set"] != "Everything"]
    doc["users"] = [u for u in doc["users"] if u["user_name"] != "dee"]
    result = invoke("sso-config", "-f", config_file(tmp_path, doc, "no-dee.yaml"), "--write", str(path))
    assert result.exit_code == 0 and "removed" not in result.stderr, result.output
    assert f"Everything-{org['accounts']['Sandbox']}" in loaded(path)["profiles"]


def test_profiles_marked_without_their_users_are_never_removed(org: dict[str, Any], tmp_path: Path) -> None:
    """Sections an earlier sso-config wrote carry only the identity store: whose they are is
    unknown, so they stay (and stderr says so)."""
    path = tmp_path / "config"
    assert sso_config(org, "--user", "cy", "--write", str(path)).exit_code == 0
    old = re.sub(r"; users \[[^\]]*\];", ";", path.read_text())
    assert "users [" not in old
    path.write_text(old)
    result = sso_config(org, "--user", "bo", "--write", str(path))
    assert result.exit_code == 0, result.output
    assert "removed" not in result.stderr
    readonly = sorted(p for p in loaded(path)["profiles"] if p.startswith("ReadOnly-"))
    assert len(readonly) == 3 and f"left {', '.join(readonly)}" in result.stderr
    assert "did not record for whom" in result.stderr


# -- the file --write merges into ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "words"),
    [
        (
            "# the team's config\nregion: ap-northeast-2\nusers:\n  - user_name: kim\n",
            "line 2: 'region: ap-northeast-2' comes before any [section] header",
        ),
        ("[profile broken\nregion = us-east-1\n", "line 1: '[profile broken' is not a section header"),
        ("[default]\nregion = us-east-1\n\n[profile broken\nregion = eu-west-1\n", "line 4: '[profile broken'"),
        ("[profile a]\nregion = us-east-1\n[profile a]\n", "line 3: [profile a] is there twice"),
        ("[profile a]\nregion = us-east-1\nregion = eu-west-1\n", "line 3: region is set twice"),
    ],
)
def test_a_file_that_is_not_an_aws_config_file_is_refused(
    org: dict[str, Any], tmp_path: Path, text: str, words: str
) -> None:
    """A copy of the YAML config given by mistake, or a broken header (which botocore, so
    `plan`, refuses too): nothing is merged into it, before any AWS call."""
    path = tmp_path / "oops.yaml"
    path.write_text(text)
    realism.STATE.calls.clear()
    result = sso_config(org, "--user", "bo", "--write", str(path))
    assert result.exit_code == 1, result.output
    assert f"{path} is not an AWS config file" in result.stderr and words in result.stderr, result.stderr
    assert path.read_text() == text and list(tmp_path.glob("oops.yaml.*")) == []
    assert realism.STATE.calls == {}


def test_a_file_in_the_all_users_folder_that_is_not_an_aws_config_file_is_refused(
    org: dict[str, Any], tmp_path: Path
) -> None:
    folder = tmp_path / "profiles"
    folder.mkdir()
    (folder / "cy.config").write_text("[profile broken\n")
    result = sso_config(org, "--all-users", "--write", str(folder))
    assert result.exit_code == 1 and f"{folder / 'cy.config'} is not an AWS config file" in result.stderr
    assert sorted(p.name for p in folder.iterdir()) == ["cy.config"]  # nobody's file written


def test_a_new_file_is_created_and_says_so(org: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "config"
    first = sso_config(org, "--user", "bo", "--write", str(path))
    assert first.exit_code == 0 and f"created {path}" in first.stderr and "updated" not in first.stderr
    doc = org["doc"]
    doc["users"] = [{**u, "groups": ["Developers", "Auditors"]} if u["user_name"] == "bo" else u for u in doc["users"]]
    later = invoke("sso-config", "-f", config_file(tmp_path, doc, "later.yaml"), "--user", "bo", "--write", str(path))
    assert later.exit_code == 0 and f"updated {path} (backup: " in later.stderr


def test_removing_a_profile_leaves_one_blank_line_between_sections(org: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "config"
    assert sso_config(org, "--user", "bo", "--write", str(path)).exit_code == 0
    written = path.read_text()
    path.write_text(written + "\n# mine\n[profile mine]\nregion = eu-west-1\n")
    doc = org["doc"]
    doc["assignments"] = [
        {**a, "accounts": [org["accounts"][PROD_NAME]]} if a["permission_set"] == "Developer" else a
        for a in doc["assignments"]
    ]
    result = invoke("sso-config", "-f", config_file(tmp_path, doc, "later.yaml"), "--user", "bo", "--write", str(path))
    assert result.exit_code == 0 and "removed Developer-" in result.stderr, result.output
    text = path.read_text()
    assert "\n\n\n" not in text and not text.endswith("\n\n")
    assert text.count("\n\n") == 2  # after the session, and after the one profile left (before mine)
    assert "\n\n# mine\n[profile mine]\n" in text


def test_a_setting_continued_on_an_indented_line_is_not_a_section() -> None:
    """configparser reads a line indented under a setting as part of its value, so does the merge."""
    text = "[profile mine]\ns3 =\n  [profile Developer-1]\n  addressing_style = path\n"
    assert [header for header, _ in _sections(text)] == [None, "profile mine"]
