"""Local files the commands write (generated configs, ~/.aws/config): whole, with a backup."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from .errors import ProvisionerError


def read_existing(path: Path) -> str | None:
    """The file's text, or None when there is no file; a clear error when it cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise ProvisionerError(f"cannot read {path}: {exc}") from None


def write_with_backup(path: Path, text: str) -> tuple[bool, Path | None]:
    """Replace `path` with `text` at once, first copying the old file to a timestamped
    backup next to it. Nothing is written when it already holds `text`.
    Returns (changed, backup path or None)."""
    existing = read_existing(path)
    if existing == text:
        return False, None
    # Write through a symlink (dotfiles kept in a repository), not over it.
    target = path.resolve() if path.is_symlink() else path
    backup = None
    try:
        if existing is not None:
            backup = _backup_name(target)
            shutil.copy2(target, backup)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        if existing is not None:
            shutil.copymode(target, tmp)  # ~/.aws/config may be private: keep its mode
        tmp.replace(target)
    except OSError as exc:
        raise ProvisionerError(f"cannot write {path}: {exc}") from None
    return True, backup


def _backup_name(path: Path) -> Path:
    """<name>.<YYYYmmddHHMMSS>.bak, never one that exists: two runs in one second keep both."""
    stamp = time.strftime("%Y%m%d%H%M%S")
    backup = path.with_name(f"{path.name}.{stamp}.bak")
    n = 1
    while backup.exists():
        backup = path.with_name(f"{path.name}.{stamp}.{n}.bak")
        n += 1
    return backup
