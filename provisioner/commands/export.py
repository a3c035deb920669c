"""`export`: the live instance as a config file that `plan` finds clean. Read-only."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from .common import Options, clients


@dataclass(frozen=True)
class ExportResult:
    text: str  # the config, as YAML or JSON
    format: str  # yaml or json
    counts: dict[str, int]
    path: str | None = None  # where it was written, if anywhere
    warnings: list[str] = field(default_factory=list)


def export(
    options: Options,
    output_file: str | None,
    permission_sets: tuple[str, ...],
    groups: tuple[str, ...],
    as_json: bool = False,
) -> ExportResult:
    """JSON when the file ends in .json (or, without a file, when `as_json`), else YAML."""
    from .. import config as config_module
    from .. import context
    from .. import export as exporter

    api = clients(options)
    ctx = context.resolve(api)
    with context.naming_the_caller(ctx):
        exported = exporter.export(api, ctx, options.now(), permission_sets, groups)
    json_format = output_file.lower().endswith(".json") if output_file else as_json
    if json_format:
        text = json.dumps(exported.document, indent=2, ensure_ascii=False) + "\n"
    else:
        text = f"# Exported by `provisioner export` from {ctx.instance_arn}\n" + config_module.dump(
            exported.document, sort_keys=False, width=120, allow_unicode=True
        )
    if output_file:
        Path(output_file).write_text(text, encoding="utf-8")
    return ExportResult(text, "json" if json_format else "yaml", exported.counts(), output_file, exported.warnings)
