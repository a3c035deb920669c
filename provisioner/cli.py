"""The command line: parse, build the clients, call the runner, render, map errors to exit codes.

This is the only module that imports click. boto3 is imported lazily so `--help` is instant.
"""

from __future__ import annotations

import json
import sys
import traceback
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from .errors import ConfigError, ProvisionerError

if TYPE_CHECKING:
    from .aws import Clients
    from .config import Config
    from .plan import ApplyResult, Plan
    from .runner import Runner

EXIT_OK, EXIT_ERROR, EXIT_CHANGES = 0, 1, 2

SEED_POLICIES = (
    "AWSSSOMasterAccountAdministrator",
    "AWSSSOMemberAccountAdministrator",
    "AWSSSODirectoryAdministrator",
)


@dataclass
class Options:
    profile: str | None
    region: str | None
    endpoint_url: str | None
    output: str
    verbose: int
    debug: bool
    max_rps: float = 20.0
    workers: int = 4

    @property
    def json(self) -> bool:
        return self.output == "json"


def _err(message: str) -> None:
    click.echo(message, err=True)


class ProvisionerGroup(click.Group):
    """Turns every error into one message and an exit code, in one place."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except Exception as exc:  # the one place errors become messages
            opts = ctx.find_object(Options)
            debug = bool(opts and opts.debug)
            if debug:
                traceback.print_exc()
            if isinstance(exc, ProvisionerError):
                message = str(exc) if isinstance(exc, ConfigError) else f"error: {exc}"
                code = exc.exit_code
            else:
                message = f"internal error: {type(exc).__name__}: {exc}" + (
                    "" if debug else " (run with --debug for the traceback)"
                )
                code = EXIT_ERROR
            _err(message)
            if opts and opts.json:
                click.echo(json.dumps({"error": {"type": type(exc).__name__, "message": str(exc)}}, indent=2))
            ctx.exit(code)


@click.group(cls=ProvisionerGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--profile", envvar="AWS_PROFILE", help="AWS profile to use (prefer an IAM Identity Center profile).")
@click.option(
    "--region", help="Region of IAM Identity Center. Default: config `region:`, then AWS_REGION, then the profile."
)
@click.option("--endpoint-url", help="Send every AWS call here (a local moto endpoint, for example).")
@click.option(
    "--output",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text for people; json prints one document on stdout for scripts.",
)
@click.option("-v", "--verbose", count=True, help="Show retries and progress details on stderr.")
@click.option("--debug", is_flag=True, help="Show tracebacks.")
@click.option(
    "--max-rps",
    type=click.FloatRange(min=0.1),
    default=20.0,
    show_default=True,
    help="Requests per second per service, shared by all threads (the AWS quota).",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1, max=32),
    default=4,
    show_default=True,
    help="Threads that make independent calls at once (within --max-rps).",
)
@click.version_option(package_name="provisioner")
@click.pass_context
def cli(
    ctx: click.Context,
    profile: str | None,
    region: str | None,
    endpoint_url: str | None,
    output: str,
    verbose: int,
    debug: bool,
    max_rps: float,
    workers: int,
) -> None:
    """Bootstrap AWS IAM Identity Center and keep it in the shape a config file declares.

    \b
    First run on a new account (no config file needed):
      provisioner bootstrap --user-name alice --email alice@example.com
    Then keep it declared:
      provisioner plan  -f identity-center.yaml      # what would change, read-only
      provisioner apply -f identity-center.yaml      # make it so (asks first)

    Every run is idempotent: a second apply of the same config changes nothing. Nothing
    is deleted unless you ask: `apply --prune` removes what provisioner created and the
    config dropped; `destroy` removes what the config declares.

    \b
    Exit codes: 0 success, 1 error (config, AWS, or a failed request),
                2 changes pending (plan --detailed-exitcode).
    """
    ctx.obj = Options(profile, region, endpoint_url, output, verbose, debug, max_rps, workers)


# -- shared plumbing ---------------------------------------------------------------------
def _clients(opts: Options, config_region: str | None = None) -> Clients:
    from .aws import Clients, ClientSettings

    def on_retry(what: str, exc: BaseException, delay: float) -> None:
        if opts.verbose:
            _err(f"retry: {what}: {type(exc).__name__}: {exc} (waiting {delay:.1f}s)")

    settings = ClientSettings(
        region=opts.region or config_region,
        profile=opts.profile,
        endpoint_url=opts.endpoint_url,
        sso_admin_tps=opts.max_rps,
        identity_store_tps=opts.max_rps,
    )
    return Clients.from_settings(settings, on_retry=on_retry)


def _runner(
    opts: Options, config: Config, poll_timeout: float | None = None, poll_interval: float | None = None
) -> Runner:
    from .retry import PollSettings
    from .runner import Runner, RunSettings

    poll = PollSettings()
    if poll_timeout:
        poll = replace(poll, timeout=poll_timeout)
    if poll_interval:
        poll = replace(poll, first_delay=poll_interval)
    settings = RunSettings(poll=poll, workers=opts.workers)
    color = sys.stderr.isatty() and not opts.json

    def progress(phase: str, done: int, total: int) -> None:
        if color:
            click.echo(f"\r  {phase}: {done}/{total} finished", nl=done == total, err=True)
        elif opts.verbose:
            _err(f"{phase}: {done}/{total} finished")

    return Runner(_clients(opts, config.region), config, settings, progress=progress)


def _load(path: str, prune: bool = False) -> Config:
    from . import config

    loaded = config.load(path)
    if prune:
        config.check_prunable(loaded, path)
    return loaded


def _calls(runner: Runner) -> dict[str, int]:
    """API calls this run made, by service:Operation (retries included)."""
    return dict(sorted(runner.clients.log.counts.items()))


def _color(opts: Options) -> bool:
    return not opts.json and sys.stdout.isatty()


def _show_plan(opts: Options, runner: Runner, plan: Plan) -> None:
    from . import report

    if not opts.json:
        click.echo(report.render_plan(plan, runner.ctx, _color(opts)))


def _apply(
    opts: Options,
    runner: Runner,
    yes: bool,
    command: str,
    allow_root: bool,
    portal: str | None,
    sso_user: str | None = None,
    destroy: bool = False,
    prune: bool = False,
) -> NoReturn:
    """Plan, show, confirm, apply, report, hand off; exit 0 when all succeeded, else 1."""
    from . import report

    plan = runner.plan_destroy(allow_root=allow_root) if destroy else runner.plan(allow_root=allow_root, prune=prune)
    _show_plan(opts, runner, plan)
    ctx = click.get_current_context()
    if plan.errors:
        # Nothing partial: a plan with errors is not applied at all.
        _err(f"refusing to apply: the plan has {len(plan.errors)} error(s); nothing was changed.")
        if opts.json:
            click.echo(report.document(command, runner.ctx, plan, None, applied=False, api_calls=_calls(runner)))
        ctx.exit(EXIT_ERROR)
    if not plan.empty and not yes:
        if not sys.stdin.isatty():
            _err(
                "refusing to change anything without confirmation: stdin is not a terminal. "
                "Review the plan, then run again with --yes."
            )
            if opts.json:
                click.echo(report.document(command, runner.ctx, plan, None, applied=False, api_calls=_calls(runner)))
            ctx.exit(EXIT_ERROR)
        deletions = plan.counts()["delete"]
        warning = f", including {deletions} deletion(s)" if deletions else ""
        if not click.confirm(f"Apply these {len(plan.changes)} changes{warning}?", err=True):
            _err("Nothing changed.")
            ctx.exit(EXIT_ERROR)
    result = runner.apply(plan) if not plan.empty else None
    handoff = {"text": ""} if destroy else _handoff(runner, result, portal, sso_user)
    if opts.json:
        click.echo(
            report.document(
                command, runner.ctx, plan, result, applied=result is not None, api_calls=_calls(runner), handoff=handoff
            )
        )
    else:
        if result is not None:
            click.echo("")
            click.echo(report.render_result(result, plan, _color(opts)))
        if handoff["text"]:
            click.echo("")
            click.echo(handoff["text"])
    ctx.exit(EXIT_OK if result is None or result.ok else EXIT_ERROR)


def _handoff(runner: Runner, result: ApplyResult | None, portal: str | None, sso_user: str | None) -> dict[str, Any]:
    """The access portal, the users this run created (they need a first sign-in email), and,
    for bootstrap, the AWS CLI profiles of its user."""
    from . import access
    from .plan import Action
    from .steps.base import ADOPTED

    assert runner.ctx is not None
    url = access.portal_url(runner.ctx.identity_store_id, portal or runner.config.portal_url)
    created = [
        (o.change.data.user_name, o.change.data.email)
        for o in (result.outcomes if result else [])
        if o.ok and o.change.resource == "user" and o.change.action is Action.CREATE and o.detail != ADOPTED
    ]
    text = access.handoff_text(url, created)
    out: dict[str, Any] = {"portal_url": url, "new_users": [name for name, _ in created]}
    if sso_user is not None:
        profiles = access.profiles_for(runner.config, runner.ctx.account_id, sso_user)
        sso = access.render_sso_config("identity-center", url, runner.ctx.region, profiles, runner.ctx.region)
        out["aws_config"] = sso
        text += (
            f"\n\nAWS CLI profiles for {sso_user} (add to ~/.aws/config, or run "
            "`provisioner sso-config -f CONFIG --write ~/.aws/config`):\n\n"
            + sso
            + f"\nThen: aws sso login --profile {profiles[0].name}"
            if profiles
            else ""
        )
    out["text"] = text
    return out


config_option = click.option(
    "-f",
    "--file",
    "config_path",
    required=True,
    type=click.Path(dir_okay=True),
    help="Config file (YAML or JSON). See examples/identity-center-admin.yaml.",
)


def change_options(fn: Any) -> Any:
    """Options of the commands that change AWS: polling bounds, root refusal, portal URL."""
    options = [
        click.option(
            "--portal-url",
            default=None,
            metavar="URL",
            help="Access portal URL to print (default: config portal_url, else "
            "https://<identity store id>.awsapps.com/start).",
        ),
        click.option(
            "--allow-root",
            is_flag=True,
            help="Allow running as the root user (refused otherwise; use it once at most).",
        ),
        click.option(
            "--poll-interval",
            type=click.FloatRange(min=0.01),
            default=None,
            metavar="SECONDS",
            help="First wait before polling asynchronous requests; it grows to 5s (default 1).",
        ),
        click.option(
            "--poll-timeout",
            type=click.FloatRange(min=1),
            default=None,
            metavar="SECONDS",
            help="Give up waiting for an asynchronous request after this long (default 900).",
        ),
    ]
    for option in options:
        fn = option(fn)
    return fn


# -- commands ----------------------------------------------------------------------------
@cli.command()
@config_option
@click.option("--prune", is_flag=True, help="Also show what apply --prune would delete.")
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 0 when there is nothing to change, 2 when there are changes, 1 on error.",
)
@click.pass_obj
def plan(opts: Options, config_path: str, prune: bool, detailed_exitcode: bool) -> None:
    """Show what apply would change. Read-only: makes no write call.

    \b
    Example:
      provisioner plan -f examples/identity-center-admin.yaml --detailed-exitcode
    """
    from . import report

    config = _load(config_path, prune)
    runner = _runner(opts, config)
    the_plan = runner.plan(prune=prune)
    if opts.json:
        click.echo(report.document("plan", runner.ctx, the_plan, api_calls=_calls(runner)))
    else:
        _show_plan(opts, runner, the_plan)
    if the_plan.errors:
        click.get_current_context().exit(EXIT_ERROR)
    if detailed_exitcode and not the_plan.empty:
        click.get_current_context().exit(EXIT_CHANGES)


@cli.command()
@config_option
@click.option("--yes", "-y", is_flag=True, help="Apply without asking (needed when stdin is not a terminal).")
@click.option(
    "--prune",
    is_flag=True,
    help="Also delete what this config owns (its name: tags its sets) and no longer declares (shown in the plan).",
)
@change_options
@click.pass_obj
def apply(
    opts: Options,
    config_path: str,
    yes: bool,
    prune: bool,
    poll_timeout: float | None,
    poll_interval: float | None,
    allow_root: bool,
    portal_url: str | None,
) -> None:
    """Make IAM Identity Center match the config.

    Shows the plan first and asks on a terminal. Deletions (--prune only) go first;
    then groups and users beside permission sets, then memberships beside one
    provisioning per changed set and the account assignments, polled to completion.
    A failed request is reported with its reason and request id; the rest still runs
    and the exit code is 1.

    \b
    Example:
      provisioner apply -f examples/identity-center-admin.yaml --yes
    """
    config = _load(config_path, prune)
    runner = _runner(opts, config, poll_timeout, poll_interval)
    _apply(opts, runner, yes, "apply", allow_root, portal_url, prune=prune)


@cli.command()
@config_option
@click.option("--yes", "-y", is_flag=True, help="Delete without asking (needed when stdin is not a terminal).")
@change_options
@click.pass_obj
def destroy(
    opts: Options,
    config_path: str,
    yes: bool,
    poll_timeout: float | None,
    poll_interval: float | None,
    allow_root: bool,
    portal_url: str | None,
) -> None:
    """Delete what the config declares, in reverse order.

    Account assignments first (polled until their deletion SUCCEEDED), then permission
    sets, memberships, users and groups. Users from an external identity provider are
    never deleted. Only what the config names is touched; safe to run again, also after
    an interrupted run.

    \b
    Example:
      provisioner destroy -f identity-center.yaml
    """
    config = _load(config_path)
    runner = _runner(opts, config, poll_timeout, poll_interval)
    _apply(opts, runner, yes, "destroy", allow_root, portal_url, destroy=True)


# Flag name for each config field bootstrap fills, so errors name what the user typed.
BOOTSTRAP_FLAGS = {
    "users[0].user_name": "--user-name",
    "users[0].email": "--email",
    "users[0].given_name": "--given-name",
    "users[0].family_name": "--family-name",
    "users[0].display_name": "--display-name",
    "groups[0].name": "--group",
    "permission_sets[0].name": "--permission-set",
    "permission_sets[0].session_duration": "--session-duration",
    "permission_sets[0].managed_policies": "--policy",
    "assignments[0].accounts": "--account",
}


def bootstrap_document(
    user_name: str,
    email: str,
    given_name: str | None,
    family_name: str | None,
    display_name: str | None,
    group: str,
    permission_set: str,
    policies: tuple[str, ...],
    session_duration: str,
    accounts: tuple[str, ...],
) -> dict[str, Any]:
    """The seed scenario as a config document: one admin group, user, set, assignment."""
    user: dict[str, Any] = {"user_name": user_name, "email": email}
    for key, value in (("display_name", display_name), ("given_name", given_name), ("family_name", family_name)):
        if value is not None:
            user[key] = value
    user["groups"] = [group]
    return {
        "groups": [{"name": group, "description": "Administer IAM Identity Center"}],
        "users": [user],
        "permission_sets": [
            {
                "name": permission_set,
                "description": "Manage IAM Identity Center",
                "session_duration": session_duration,
                "managed_policies": list(policies),
            }
        ],
        "assignments": [{"permission_set": permission_set, "groups": [group], "accounts": list(accounts)}],
    }


@cli.command()
@click.option("--user-name", required=True, help="UserName of the first administrator (no spaces).")
@click.option("--email", required=True, help="Their email address (where the sign-in email goes).")
@click.option("--given-name", help="Given name (default: the user name).")
@click.option("--family-name", help="Family name (default: the user name).")
@click.option("--display-name", help="Display name (default: 'GIVEN FAMILY').")
@click.option("--group", default="IdentityCenterAdmins", show_default=True, help="Admin group to create.")
@click.option("--permission-set", default="IdentityCenterAdmin", show_default=True, help="Permission set to create.")
@click.option(
    "--policy",
    "policies",
    multiple=True,
    metavar="NAME_OR_ARN",
    help="AWS managed policy for the set; repeatable. Default: the three that administer "
    "IAM Identity Center (" + ", ".join(SEED_POLICIES) + ").",
)
@click.option("--session-duration", default="PT4H", show_default=True, help="ISO-8601, PT1H..PT12H.")
@click.option(
    "--account",
    "accounts",
    multiple=True,
    metavar="ID",
    help="Account to assign the set on; repeatable. Default: current (the caller's account).",
)
@click.option(
    "--write-config",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="Also write the equivalent config file, to keep in version control.",
)
@click.option("--yes", "-y", is_flag=True, help="Apply without asking.")
@change_options
@click.pass_obj
def bootstrap(
    opts: Options,
    user_name: str,
    email: str,
    given_name: str | None,
    family_name: str | None,
    display_name: str | None,
    group: str,
    permission_set: str,
    policies: tuple[str, ...],
    session_duration: str,
    accounts: tuple[str, ...],
    write_config: str | None,
    yes: bool,
    poll_timeout: float | None,
    poll_interval: float | None,
    allow_root: bool,
    portal_url: str | None,
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
    from . import config as config_module

    document = bootstrap_document(
        user_name,
        email,
        given_name,
        family_name,
        display_name,
        group,
        permission_set,
        policies or SEED_POLICIES,
        session_duration,
        accounts or ("current",),
    )
    try:
        config = config_module.parse(document, "bootstrap options")
    except ConfigError as exc:
        raise ConfigError(
            "bootstrap options",
            [
                (next((flag for path, flag in BOOTSTRAP_FLAGS.items() if where.startswith(path)), where), reason)
                for where, reason in exc.problems
            ],
        ) from None
    if write_config:
        import yaml

        Path(write_config).write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
        _err(f"wrote {write_config}: run `provisioner plan -f {write_config}` any time to check for drift")
    runner = _runner(opts, config, poll_timeout, poll_interval)
    _apply(opts, runner, yes, "bootstrap", allow_root, portal_url, sso_user=user_name)


@cli.command()
@click.option(
    "-f",
    "--file",
    "config_path",
    default=None,
    type=click.Path(dir_okay=True),
    help="Also check the permissions an apply of this config needs.",
)
@click.pass_obj
def doctor(opts: Options, config_path: str | None) -> None:
    """Check the security posture and that everything is ready, with a fix for each problem.

    \b
    caller                who is calling; FAIL for root, WARN for long-term access keys
    root MFA / keys       the root user has MFA and no access keys
    IAM Identity Center   an ACTIVE organization instance here (else, where it is)
    organization          management account, member, or standalone
    permissions           the actions an apply needs (with -f, for that config)

    Exit 1 if any check FAILs.
    """
    from . import doctor as checks

    config = _load(config_path) if config_path else None
    clients = _clients(opts, config.region if config else None)
    results = checks.run(clients, config)
    if opts.json:
        click.echo(json.dumps({"command": "doctor", "checks": [c.to_json() for c in results]}, indent=2))
    else:
        click.echo(checks.render(results))
    click.get_current_context().exit(EXIT_ERROR if any(c.status == checks.FAIL for c in results) else EXIT_OK)


@cli.command("sso-config")
@config_option
@click.option("--user", default=None, help="Only the profiles this user can reach (default: every declared user).")
@click.option("--session-name", default="identity-center", show_default=True, help="Name of the sso-session section.")
@click.option("--portal-url", default=None, metavar="URL", help="Access portal URL (default as for apply).")
@click.option(
    "--write",
    "write_path",
    default=None,
    type=click.Path(dir_okay=False),
    help="Merge into this file (e.g. ~/.aws/config), keeping other sections and a backup.",
)
@click.pass_obj
def sso_config(
    opts: Options, config_path: str, user: str | None, session_name: str, portal_url: str | None, write_path: str | None
) -> None:
    """Print the ~/.aws/config text for signing in with the AWS CLI: one sso-session and one
    profile per (permission set x account) a user reaches through groups or directly.

    \b
    Example:
      provisioner sso-config -f identity-center.yaml --user admin --write ~/.aws/config
      aws sso login --profile IdentityCenterAdmin-111122223333
    """
    from . import access, targets
    from .steps import instance

    config = _load(config_path)
    if user is not None and user not in {u.user_name for u in config.users}:
        raise ConfigError(config_path, [("users", f"no user {user!r} is declared; --user must name one")])
    clients = _clients(opts, config.region)
    ctx = instance.resolve(clients)
    url = access.portal_url(ctx.identity_store_id, portal_url or config.portal_url)
    profiles = access.profiles_for(config, ctx.account_id, user, targets.resolve_all(clients, config, ctx.account_id))
    text = access.render_sso_config(session_name, url, ctx.region, profiles, ctx.region)
    written: dict[str, Any] = {}
    if write_path:
        path = Path(write_path).expanduser()
        changed, backup = access.write_merged(path, text)
        written = {"path": str(path), "changed": changed, "backup": str(backup) if backup else None}
        _err(f"{'updated' if changed else 'already up to date:'} {path}" + (f" (backup: {backup})" if backup else ""))
    if opts.json:
        click.echo(
            json.dumps(
                {
                    "command": "sso-config",
                    "portal_url": url,
                    "text": text,
                    "profiles": [p.name for p in profiles],
                    "written": written or None,
                },
                indent=2,
            )
        )
    elif not write_path:
        click.echo(text, nl=False)


@cli.command()
@click.option(
    "-o",
    "--output-file",
    "output_file",
    default=None,
    type=click.Path(dir_okay=False),
    help="Write the config here (default: stdout).",
)
@click.option(
    "--permission-set",
    "permission_sets",
    multiple=True,
    metavar="NAME",
    help="Only this permission set (repeatable) and its assignments.",
)
@click.option(
    "--group",
    "groups",
    multiple=True,
    metavar="NAME",
    help="Only this group (repeatable), its members, the permission sets assigned to it, and those assignments.",
)
@click.pass_obj
def export(opts: Options, output_file: str | None, permission_sets: tuple[str, ...], groups: tuple[str, ...]) -> None:
    """Write the live instance as a config file that `plan` finds clean.

    Policies by short name where they are AWS managed, inline policies as YAML mappings,
    assignments grouped by permission set and principal. Read-only.

    \b
    Example:
      provisioner export -o identity-center.yaml
      provisioner plan -f identity-center.yaml --detailed-exitcode    # exits 0
    """
    import yaml

    from . import config as config_module
    from . import export as exporter
    from .steps import instance

    clients = _clients(opts)
    ctx = instance.resolve(clients)
    skipped: list[str] = []
    document = exporter.export(clients, ctx, permission_sets, groups, skipped)
    for warning in skipped:
        _err(f"warning: {warning}")
    config_module.parse(document, "exported config")  # what we write must load
    text = f"# Exported by `provisioner export` from {ctx.instance_arn}\n" + yaml.safe_dump(
        document, sort_keys=False, width=120, allow_unicode=True
    )
    if output_file:
        Path(output_file).write_text(text, encoding="utf-8")
        _err(
            f"wrote {output_file}: {len(document['groups'])} groups, {len(document['users'])} users, "
            f"{len(document['permission_sets'])} permission sets, {len(document['assignments'])} assignments"
        )
    else:
        click.echo(text, nl=False)


@cli.command()
def schema() -> None:
    """Print the JSON Schema of the config file (for editors and CI linters)."""
    from . import config

    click.echo(json.dumps(config.json_schema(), indent=2))


def main() -> None:
    cli(prog_name="provisioner")
