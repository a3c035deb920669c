"""Who may import whom (docs/architecture.md): read from the source, without importing it."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "provisioner"


def imports(path: Path) -> set[str]:
    """The modules a file imports, absolute (provisioner.x.y), including lazy imports."""
    module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")
            if node.level:
                base = base[: len(base) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            found.add(name)
            found |= {f"{name}.{alias.name}" for alias in node.names}
    return found


def modules(under: str = "") -> list[Path]:
    return sorted((PACKAGE / under).rglob("*.py"))


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_only_the_cli_imports_click(path: Path) -> None:
    if path.is_relative_to(PACKAGE / "cli"):
        return
    assert "click" not in imports(path)


@pytest.mark.parametrize("path", modules("kinds"), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_kinds_never_import_the_runner_the_commands_or_the_cli(path: Path) -> None:
    forbidden = ("provisioner.runner", "provisioner.commands", "provisioner.cli", "provisioner.export")
    assert not [m for m in imports(path) if m.startswith(forbidden)]


@pytest.mark.parametrize("name", ["runner.py", "export.py", "doctor.py"])
def test_the_generic_modules_import_no_kind(name: str) -> None:
    """They iterate over the registry: importing a kind's own module would be per-kind code."""
    registry = {"KINDS", "dependency_order", "declared_actions", "base"}
    kind_modules = [
        m for m in imports(PACKAGE / name) if m.startswith("provisioner.kinds.") and m.split(".")[2] not in registry
    ]
    assert not kind_modules


@pytest.mark.parametrize("name", ["runner.py", "export.py", "doctor.py"])
def test_the_generic_modules_name_no_kind_member(name: str) -> None:
    """No KindName.GROUP and the like: a kind's settings are declared on the kind."""
    source = (PACKAGE / name).read_text()
    assert not [member for member in ("KindName." + k for k in KIND_MEMBERS) if member in source]


KIND_MEMBERS = ("GROUP", "USER", "MEMBERSHIP", "PERMISSION_SET", "PROVISIONING", "ASSIGNMENT")


def test_the_config_imports_only_what_validating_needs() -> None:
    """config.py sits below the AWS layer: loading a config needs no client, retry or context."""
    allowed = ("provisioner.errors", "provisioner.quotas", "provisioner.shapes")
    ours = [m for m in imports(PACKAGE / "config.py") if m.startswith("provisioner.")]
    assert [m for m in ours if not m.startswith(allowed)] == []


# What a fresh interpreter holds after one entry point: the AWS SDK and the retry machinery
# stay unloaded until a command makes a call (`--help` and config errors come at once).
AWS_MODULES = ("boto3", "botocore", "tenacity", "provisioner.aws", "provisioner.retry", "provisioner.context")
HELP = "from provisioner.cli import main\nsys.argv[1:] = ['--help']\ntry:\n    main()\nexcept SystemExit:\n    pass"


@pytest.mark.parametrize("entry", ["import provisioner.config", HELP], ids=["import provisioner.config", "--help"])
def test_config_and_help_load_no_aws_module(entry: str) -> None:
    code = f"import sys\n{entry}\nprint(' '.join(sys.modules), file=sys.stderr)"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stderr.split()
    assert [m for m in loaded if m.startswith(AWS_MODULES)] == []
