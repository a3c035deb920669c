"""AWS's input constraints read from botocore's models, with Java regex semantics."""

from __future__ import annotations

import re
import subprocess
import sys
import unicodedata

import pytest

from provisioner import shapes


@pytest.mark.parametrize(
    ("service", "shape", "value", "accepted"),
    [
        ("sso-admin", "PermissionSetName", "Admin_2+=,.@-", True),
        ("sso-admin", "PermissionSetName", "관리자", False),  # \w is ASCII in Java
        ("sso-admin", "PermissionSetName", "Admin\n", False),  # matched whole, no $ before a newline
        ("sso-admin", "AccountId", "١٢٣٤٥٦٧٨٩٠١٢", False),  # so is \d
        ("sso-admin", "TagValue", "플랫폼 팀", True),  # \p{L} and \p{Z} are Unicode
        ("sso-admin", "TagValue", "", True),
        ("sso-admin", "TagKey", "", False),  # min 1
        ("sso-admin", "TagValue", "a<b", False),
        ("identitystore", "UserName", "김민수", True),
        ("identitystore", "UserName", "kim minsu", False),  # no \p{Z}
        ("identitystore", "SensitiveStringType", "김 민수\u3000", True),
        ("identitystore", "SensitiveStringType", "Kim\u200bMinsu", False),  # Cf is not in the class
        ("identitystore", "SensitiveStringType", "😀", True),  # \p{S}, outside the BMP
        ("sso-admin", "PermissionSetDescription", "Café", True),
        ("sso-admin", "PermissionSetDescription", "카페", False),
        ("sso-admin", "Duration", "PT4H", True),
        ("sso-admin", "Duration", "4 hours", False),
    ],
)
def test_values_are_checked_as_aws_checks_them(service: str, shape: str, value: str, accepted: bool) -> None:
    spec = shapes.string_shape(service, shape)
    assert (spec.fits(value) and spec.matches(value)) is accepted


def test_length_counts_utf16_code_units_as_java_does() -> None:
    spec = shapes.string_shape("sso-admin", "PermissionSetName")
    assert spec.length("😀") == 2 and spec.length("abc") == 3


def test_refused_characters_are_named() -> None:
    spec = shapes.string_shape("sso-admin", "PermissionSetName")
    assert spec.refused_characters("관리 자a") == ["관", "리", " ", "자"]
    assert shapes.string_shape("sso-admin", "Duration").refused_characters("PTxH") == []  # not one class


@pytest.mark.parametrize("service", ["sso-admin", "identitystore", "organizations"])
def test_every_pattern_of_the_models_translates(service: str) -> None:
    model = shapes._model(service)
    patterns = {s["pattern"] for s in model["shapes"].values() if "pattern" in s}
    assert patterns
    for pattern in patterns:
        shapes._compiled(pattern)


@pytest.mark.parametrize("pattern", ["[a-z&&[def]]", "\\Qa\\E", "[\\P{L}]", "\\p{IsLatin}", "\\x{41}"])
def test_constructs_without_a_faithful_translation_are_refused(pattern: str) -> None:
    with pytest.raises(ValueError):
        shapes.java_to_python(pattern)


def test_loading_a_config_module_does_not_import_botocore() -> None:
    code = "import sys, provisioner.config; print('botocore' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


@pytest.mark.parametrize("category", ["L", "Z", "Mn", "P"])
def test_category_classes_agree_with_unicodedata(category: str) -> None:
    pattern = re.compile(f"[{shapes.category_ranges(category)}]")
    for code_point in range(0, sys.maxunicode + 1, 7):
        char = chr(code_point)
        assert bool(pattern.fullmatch(char)) == unicodedata.category(char).startswith(category), hex(code_point)
