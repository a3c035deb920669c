"""The commands: their options and help; each calls its function in provisioner/commands
and renders the result."""

from __future__ import annotations

import json
from dataclasses import fields
from typing import Any

import click

from ..commands.bootstrap import BootstrapRequest, flag
from .app import EXIT_CHANGES, EXIT_ERROR, EXIT_OK, State, checked, cli, exit_with, portal_url_rule, say
from .terminal import change_options, config_option, portal_url_option, run_change


# -- commands ----------------------------------------------------------------------------
@cli.command()
@config_option
@click.option("--prune", is_flag=True, help="Also show what apply --prune would delete.")
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 0 when there is nothing to change, 2 when there are changes, 1 on error "
    "(64 on a usage error, so a mistyped flag never reads as changes).",
)
@click.pass_obj
def plan(state: State, config_path: str, prune: bool, detailed_exitcode: bool) -> None:
    """Show what apply would change. Read-only: makes no write call.

    \b
    Example:
      provisioner plan -f examples/identity-center-admin.yaml --detailed-exitcode
    """
    from .. import report
    from ..commands.plan import plan as plan_command

    result = plan_command(state.options, config_path, prune)
    if state.json:
        click.echo(report.document("plan", result.ctx, result.plan, api_calls=result.api_calls))
        if result.plan.errors:
            say(f"the plan has {len(result.plan.errors)} error(s): " + "; ".join(result.plan.errors))
    else:
        click.echo(report.render_plan(result.plan, result.ctx, state.color))
    if result.plan.errors:
        exit_with(EXIT_ERROR)
    if detailed_exitcode and not result.plan.empty:
        exit_with(EXIT_CHANGES)


@cli.command()
@config_option
@click.option("--yes", "-y", is_flag=True, help="Apply without asking (needed when stdin is not a terminal).")
@click.option(
    "--prune",
    is_flag=True,
    help="Also delete what this config owns (its name: tags its sets) and no longer declares (shown in the plan).",
)
@change_options
@portal_url_option
@click.pass_obj
def apply(
    state: State,
    config_path: str,
    yes: bool,
    prune: bool,
    poll_timeout: float | None,
    poll_interval: float | None,
    allow_root: bool,
    portal_url: str | None,
) -> None:
    """Make IAM Identity Center match the config.

    Shows the plan first and asks on a terminal. Deletions go first: with --prune, and
    the assignments whose `until` has passed (no --prune needed); then groups and users
    beside permission sets, then memberships beside one provisioning per changed set
    and the account assignments, polled to completion. A failed request is reported
    with its reason and request id; the rest still runs and the exit code is 1.

    \b
    Example:
      provisioner apply -f examples/identity-center-admin.yaml --yes
    """
    from ..commands.change import ChangeRequest, Mode
    from ..commands.common import load, runner

    config = load(config_path, prune)
    run = runner(state.options, config, poll_timeout, poll_interval)
    run_change(state, run, ChangeRequest("apply", yes, allow_root, portal_url, Mode.PRUNE if prune else Mode.PLAN))


@cli.command()
@config_option
@click.option("--yes", "-y", is_flag=True, help="Delete without asking (needed when stdin is not a terminal).")
@change_options
@click.pass_obj
def destroy(
    state: State,
    config_path: str,
    yes: bool,
    poll_timeout: float | None,
    poll_interval: float | None,
    allow_root: bool,
) -> None:
    """Delete what the config declares, in reverse order.

    Account assignments first (polled until their deletion SUCCEEDED), then permission
    sets, memberships, users and groups. Every assignment of a declared permission set
    goes, also one the config does not declare (AWS refuses to delete a set that keeps
    one; the plan marks it "not in the config"). Users from an external identity
    provider are never deleted. Otherwise only what the config names is touched; safe
    to run again, also after an interrupted run.

    \b
    Example:
      provisioner destroy -f identity-center.yaml
    """
    from .. import report
    from ..commands.change import ChangeRequest, Mode
    from ..commands.common import load, runner

    run = runner(state.options, load(config_path), poll_timeout, poll_interval)
    request = ChangeRequest("destroy", yes, allow_root, mode=Mode.DESTROY)
    run_change(state, run, request, report.NOTHING_TO_DESTROY)


@cli.command()
@config_option
@click.option("--yes", "-y", is_flag=True, help="Remove without asking (needed when stdin is not a terminal).")
@change_options
@click.pass_obj
def expire(
    state: State,
    config_path: str,
    yes: bool,
    poll_timeout: float | None,
    poll_interval: float | None,
    allow_root: bool,
) -> None:
    """Remove only the assignments whose `until` has passed, for cron or CI.

    Every other change the config would make is left to apply (and counted in a note);
    the plan's errors, which concern those, do not stop the expirations.

    \b
    Example (every 15 minutes, from cron):
      */15 * * * *  provisioner expire -f identity-center.yaml --yes
    """
    from .. import report
    from ..commands.change import ChangeRequest
    from ..commands.common import load, runner

    run = runner(state.options, load(config_path), poll_timeout, poll_interval)
    request = ChangeRequest("expire", yes, allow_root, expire=True)
    run_change(state, run, request, report.NOTHING_TO_EXPIRE)


def bootstrap_options(fn: Any) -> Any:
    """bootstrap's options, made from the fields of BootstrapRequest (declared once there)."""
    for parameter in reversed(fields(BootstrapRequest)):
        meta = parameter.metadata
        # Only a real default is passed: click (8.3 and later) takes default=None as a value
        # given, and would not ask for a required option.
        default: dict[str, Any] = {}
        if parameter.default is not None and not meta["repeatable"]:
            default["default"] = parameter.default
        fn = click.option(
            flag(parameter.name),
            parameter.name,
            required=meta["required"],
            show_default=bool(default),
            multiple=meta["repeatable"],
            metavar=meta["metavar"] or None,
            help=meta["help"],
            **default,
        )(fn)
    return fn


@cli.command()
@bootstrap_options
@click.option(
    "--write-config",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="Also write the equivalent config file, to keep in version control. Written once the "
    "run has applied its plan (or found nothing to do); an existing, different file is refused "
    "unless --force.",
)
@click.option(
    "--force",
    is_flag=True,
    help="With --write-config: replace an existing file that differs, keeping a timestamped backup.",
)
@click.option("--yes", "-y", is_flag=True, help="Apply without asking.")
@change_options
@portal_url_option
@click.pass_obj
def bootstrap(
    state: State,
    write_config: str | None,
    force: bool,
    yes: bool,
    poll_timeout: float | None,
    poll_interval: float | None,
    allow_root: bool,
    portal_url: str | None,
    **parameters: Any,
) -> None:
    """Do the whole console walkthrough in one command, no config file needed.

    Checks IAM Identity Center is enabled, then creates (or adopts) an admin group, a
    user in it, a permission set with the AWS managed policies that administer IAM
    Identity Center, and assigns the set to the group on the account. Safe to run again.

    \b
    Example:
      provisioner --region ap-northeast-2 bootstrap \\
          --user-name admin --email admin@example.com --yes
    """
    from pathlib import Path

    from ..commands.bootstrap import config_of, config_writer
    from ..commands.change import ChangeRequest
    from ..commands.common import runner
    from ..errors import ConfigError

    request = BootstrapRequest(**parameters)
    try:
        config = config_of(request)
    except ConfigError as exc:  # a bad option value: a usage error, named as click names one
        problems = [f"Invalid value for {where!r}: {why}" for where, why in exc.problems]
        raise click.UsageError("\n".join(problems), click.get_current_context()) from None
    run = runner(state.options, config, poll_timeout, poll_interval)
    # The file names the Region this run uses (known before any AWS call).
    document = request.document(region=run.clients.region)
    after_apply = config_writer(Path(write_config), document, force) if write_config else None
    change = ChangeRequest(
        "bootstrap", yes, allow_root, portal_url, sso_user=request.user_name, after_apply=after_apply
    )
    run_change(state, run, change)


@cli.command()
@click.option(
    "-f",
    "--file",
    "config_path",
    default=None,
    type=click.Path(dir_okay=True),
    help="Check this config too: its plan errors and warnings from here, and the permissions its kinds need "
    "(and use its region:).",
)
@click.pass_obj
def doctor(state: State, config_path: str | None) -> None:
    """Check the security posture and that everything is ready, with a fix for each problem.

    \b
    caller                   who is calling; FAIL for root, WARN for long-term access keys
    root MFA / keys          the root user has MFA and no access keys
    IAM Identity Center      an ACTIVE organization instance here (else, where it is)
    organization             management account, delegated administrator, member, or standalone
    delegated administrator  the member account that administers IAM Identity Center (WARN: none)
    config                   (-f) the config plans from here: its errors (FAIL) and warnings
    permissions              the actions a run needs from this account (-f: the config's)

    Exit 1 if any check FAILs.
    """
    from .. import doctor as checks
    from ..commands.doctor import doctor as run_checks

    results = run_checks(state.options, config_path)
    failed = [c.name for c in results if c.status == checks.FAIL]
    if state.json:
        click.echo(json.dumps({"command": "doctor", "checks": [c.to_json() for c in results]}, indent=2))
        if failed:
            say(f"doctor: {len(failed)} check(s) FAILED: {', '.join(failed)}")
    else:
        click.echo(checks.render(results, verbose=state.verbose > 0))
    exit_with(EXIT_ERROR if failed else EXIT_OK)


@cli.command("sso-config")
@config_option
@click.option("--user", default=None, help="Only the profiles this user can reach (default: every declared user).")
@click.option(
    "--all-users",
    is_flag=True,
    help="Each declared user's own profiles: with --write FOLDER one file each (FOLDER/USER.config), "
    "else printed in turn.",
)
@click.option("--session-name", default="identity-center", show_default=True, help="Name of the sso-session section.")
@click.option(
    "--profile-name",
    "profile_name",
    default=None,
    metavar="TEMPLATE",
    help="Profile names from {account_name} (from AWS Organizations), {account_id} and {permission_set}, "
    "made safe as profile names. Default: {permission_set}-{account_id}.",
)
@click.option(
    "--portal-url",
    default=None,
    metavar="URL",
    callback=checked(portal_url_rule),
    help="Access portal URL (default as for apply).",
)
@click.option(
    "--write",
    "write_path",
    default=None,
    type=click.Path(dir_okay=True),
    help="Merge into this file (e.g. ~/.aws/config), keeping other sections and a backup, and removing the "
    "profiles it wrote that no user they were written for reaches any more. Refused when the file is not an "
    "AWS config file. With --all-users, a folder.",
)
@click.pass_obj
def sso_config(
    state: State,
    config_path: str,
    user: str | None,
    all_users: bool,
    session_name: str,
    profile_name: str | None,
    portal_url: str | None,
    write_path: str | None,
) -> None:
    """Print the ~/.aws/config text for signing in with the AWS CLI: one sso-session and one
    profile per (permission set x account) a user reaches through groups or directly.

    With --write, the profiles it wrote before for the same session and identity store
    that no user they were written for reaches any more are removed (a backup keeps the
    old file); sections it did not write are never touched.

    \b
    Examples:
      provisioner sso-config -f identity-center.yaml --user admin --write ~/.aws/config
      aws sso login --profile IdentityCenterAdmin-111122223333
      provisioner sso-config -f identity-center.yaml --all-users --profile-name '{account_name}-{permission_set}' \\
          --write profiles/
    """
    from ..commands.sso_config import sso_config as sso_config_command

    result = sso_config_command(
        state.options, config_path, user, session_name, portal_url, write_path, profile_name, all_users
    )
    for warning in result.warnings:
        say(f"warning: {warning}")
    if result.unreached:
        say(f"note: {', '.join(result.unreached)} reach(es) no account: nothing written for them")
    for config in result.configs:
        if written := config.written:
            backup = f" (backup: {written.backup})" if written.backup else ""
            removed = ""
            if written.removed:
                removed = f"; removed {', '.join(written.removed)} (no longer written: not reached, or renamed)"
            done = "created" if written.created else "updated" if written.changed else "already up to date:"
            say(f"{done} {written.path}{backup}{removed}")
            if written.unproven:
                say(
                    f"note: left {', '.join(written.unproven)} in {written.path}: an earlier sso-config wrote "
                    "them and did not record for whom; delete any that nobody uses"
                )
    if state.json:
        document: dict[str, Any] = {"command": "sso-config", "portal_url": result.portal_url}
        if all_users:
            document["users"] = [c.to_json() for c in result.configs]
            document["unreached"] = result.unreached
        else:
            only = result.configs[0]
            document.update(text=only.text, profiles=only.profiles)
            document["written"] = only.written.to_json() if only.written else None
        document["warnings"] = result.warnings
        click.echo(json.dumps(document, indent=2))
    elif not write_path:
        click.echo(result.text, nl=False)


@cli.command()
@click.option(
    "-o",
    "--output-file",
    "output_file",
    default=None,
    type=click.Path(dir_okay=False),
    help="Write the config here (default: stdout): JSON when FILE ends in .json, else YAML.",
)
@click.option(
    "--permission-set",
    "permission_sets",
    multiple=True,
    metavar="NAME",
    help="Only this permission set (repeatable), its assignments, and the groups and users they reach "
    "(with those groups' members). A name the instance does not have is an error.",
)
@click.option(
    "--group",
    "groups",
    multiple=True,
    metavar="NAME",
    help="Only this group (repeatable), its members, the permission sets assigned to it, and those assignments. "
    "A name the identity store does not have is an error.",
)
@click.pass_obj
def export(state: State, output_file: str | None, permission_sets: tuple[str, ...], groups: tuple[str, ...]) -> None:
    """Write the live instance as a config file that `plan` finds clean.

    Policies by short name where they are AWS managed, inline policies as YAML mappings,
    assignments grouped by permission set and principal. Read-only. With --output json the
    config is printed as JSON, or, with -o, written and summarised in JSON (path, counts).

    \b
    Example:
      provisioner export -o identity-center.yaml
      provisioner plan -f identity-center.yaml --detailed-exitcode    # exits 0
    """
    from ..commands.export import export as export_command

    result = export_command(state.options, output_file, permission_sets, groups, as_json=state.json)
    for warning in result.warnings:
        say(f"warning: {warning}")
    if not output_file:
        click.echo(result.text, nl=False)
    elif state.json:
        summary = {"command": "export", "path": output_file, "format": result.format, "counts": result.counts}
        click.echo(json.dumps(summary, indent=2))
    else:
        # Sections are plural (permission_sets): one entry drops the s.
        counted = [
            f"{n} {kind.replace('_', ' ').removesuffix('s' if n == 1 else '')}" for kind, n in result.counts.items()
        ]
        say(f"wrote {output_file}: " + ", ".join(counted))


@cli.command()
@click.option(
    "-f",
    "--file",
    "config_path",
    default=None,
    type=click.Path(dir_okay=False),
    help="Also mark each grant declared in this config or not (and use its region:).",
)
@click.option("--user", "users", multiple=True, metavar="USERNAME", help="Only this user (repeatable).")
@click.option(
    "--account",
    "accounts",
    multiple=True,
    metavar="ID|NAME",
    help="Only this account (repeatable): a 12-digit id, `current`, or its name in the organization.",
)
@click.option(
    "--permission-set", "permission_sets", multiple=True, metavar="NAME", help="Only this permission set (repeatable)."
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["table", "csv", "json", "markdown"]),
    default=None,
    help="table (the default) for people, csv for spreadsheets, json for scripts (as --output json), "
    "markdown for a pull request or a job summary.",
)
@click.pass_obj
def access(
    state: State,
    config_path: str | None,
    users: tuple[str, ...],
    accounts: tuple[str, ...],
    permission_sets: tuple[str, ...],
    output_format: str | None,
) -> None:
    """Who can reach what: every user x account x permission set, and how. Read-only.

    Each grant is one way a user reaches a permission set on an account: assigned to the
    user directly, or to a group the user is in (groups are expanded). Admin-grade sets
    are flagged: AdministratorAccess, IAMFullAccess, the AWSSSO*Administrator policies,
    or an inline policy that allows * on *. With -f, each grant is marked declared in
    the config or not. Account names come from AWS Organizations when it can be read.

    \b
    Examples:
      provisioner access
      provisioner access --user kim --format csv > kim.csv
      provisioner access -f identity-center.yaml --format markdown >> "$GITHUB_STEP_SUMMARY"
    """
    from .. import report
    from ..access import AccessFilters
    from ..commands.access import access as access_command

    if state.json and output_format not in (None, "json"):
        raise click.UsageError(f"--output json prints JSON: drop --format {output_format}, or --output json")
    output_format = "json" if state.json else output_format or "table"
    filters = AccessFilters(users, accounts, permission_sets)
    result = access_command(state.options, filters, config_path)
    if output_format == "json":
        click.echo(report.access_document(result))
    elif output_format == "csv":
        click.echo(report.render_access_csv(result.report), nl=False)
    elif output_format == "markdown":
        click.echo(report.render_access_markdown(result.report, result.ctx))
    else:
        click.echo(report.render_access(result.report, result.ctx, state.color))
    if output_format in ("json", "csv"):
        # Said on stderr too: a report that could not read everything must not pass unnoticed.
        for line in [f"note: {n}" for n in result.report.notes] + [f"warning: {w}" for w in result.report.warnings]:
            say(line)


@cli.command()
def schema() -> None:
    """Print the JSON Schema of the config file (for editors and CI linters)."""
    from .. import config

    click.echo(json.dumps(config.json_schema(), indent=2))


def main() -> None:
    cli(prog_name="provisioner")
