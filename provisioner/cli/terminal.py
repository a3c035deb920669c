"""The CLI's side of a command that changes AWS: showing the plan, asking, Ctrl-C, and
rendering what happened, with its exit code."""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, NoReturn

import click

from .. import quotas
from .app import (
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_OK,
    State,
    checked,
    exit_with,
    interrupted_document,
    portal_url_rule,
    say,
)

if TYPE_CHECKING:
    from ..commands.change import ChangeRequest, Decision
    from ..plan import Plan
    from ..runner import Runner


def _write_now(stream: Any, text: str) -> None:
    """Write from a signal handler: straight to the file descriptor, never re-entering the
    buffered stream that the interrupted code may be writing (a test's stream has none)."""
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):
        stream.write(text)
        stream.flush()
        return
    os.write(fd, text.encode())


class TerminalHooks:
    """How a command that changes AWS shows its plan, asks, and takes Ctrl-C."""

    def __init__(self, state: State, when_empty: str | None = None) -> None:
        self.state, self.when_empty = state, when_empty

    def planned(self, runner: Runner, plan: Plan) -> None:
        from .. import report

        if not self.state.json:
            click.echo(report.render_plan(plan, runner.ctx, self.state.color, self.when_empty or report.NO_CHANGES))

    def confirm(self, runner: Runner, plan: Plan) -> Decision:
        from .. import report
        from ..commands.change import Decision

        if not sys.stdin.isatty():
            return Decision.NO_TERMINAL
        deletions = plan.counts()["delete"]
        warning = f", including {deletions} deletion(s)" if deletions else ""
        if self.state.json:  # stdout is for the document: show the plan being confirmed here
            say(report.render_plan(plan, runner.ctx))
        try:
            confirmed = click.confirm(f"Apply these {len(plan.changes)} changes{warning}?", err=True)
        except click.exceptions.Abort:
            raise KeyboardInterrupt from None  # Ctrl-C at the question: nothing was changed
        return Decision.GO if confirmed else Decision.DECLINED

    @contextmanager
    def changing(self, runner: Runner) -> Iterator[None]:
        """While a command changes AWS, the first Ctrl-C cancels the run: nothing new starts,
        the requests in flight are polled a few seconds more, and the summary follows. A
        second Ctrl-C exits at once. A progress line the run left open is ended, saying why."""
        cancel = runner.clients.cancel
        try:
            if threading.current_thread() is not threading.main_thread():  # signals reach the main thread only
                yield
            else:
                with self._ctrl_c_cancels(runner):
                    yield
        finally:
            if self.state.progress_line is not None:
                self.state.progress_line.close("interrupted" if cancel.cancelled else "stopped")

    @contextmanager
    def _ctrl_c_cancels(self, runner: Runner) -> Iterator[None]:
        cancel, grace = runner.clients.cancel, runner.settings.poll.interrupt_grace
        json_mode = self.state.json

        def on_sigint(signum: int, frame: object) -> None:
            if not cancel.cancelled:
                cancel.cancel()
                _write_now(
                    sys.stderr,
                    f"\ninterrupted: starting nothing new; waiting up to {grace:g}s for the requests in flight "
                    "(Ctrl-C again to quit at once)\n",
                )
                return
            message = (
                "interrupted again: quitting now. Requests in flight may still finish: "
                "run `provisioner plan` to see where things stand."
            )
            _write_now(sys.stderr, message + "\n")
            if json_mode:
                _write_now(sys.stdout, interrupted_document(message) + "\n")
            os._exit(EXIT_INTERRUPTED)  # at once: not even the worker threads are waited for

        previous = signal.signal(signal.SIGINT, on_sigint)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)


def run_change(state: State, runner: Runner, request: ChangeRequest, when_empty: str | None = None) -> NoReturn:
    """Plan, show, confirm, apply, report, hand off; the exit code says how it went."""
    from .. import report
    from ..commands.change import change

    result = change(runner, request, TerminalHooks(state, when_empty))
    if result.refused:
        say(result.refused)
    if state.json:
        if result.result is not None and result.result.stopped:
            say(f"error: {result.result.stopped}")
        elif result.result is not None and not result.result.ok and not result.interrupted:
            failed = result.result.failed
            say(f"{len(failed)} change(s) failed: see result in the document")
        click.echo(report.change_document(result))
    elif result.result is not None:
        click.echo("")
        verb = {"destroy": "Destroy", "expire": "Expire"}.get(request.command, "Apply")
        click.echo(report.render_result(result.result, result.plan, state.color, verb))
    if written := result.extra.get("config_file"):  # after the results it follows from
        kept = f" (backup: {written['backup']})" if written["backup"] else ""
        done = f"wrote {written['path']}{kept}" if written["changed"] else f"{written['path']} is already this config"
        say(f"{done}: run `provisioner plan -f {written['path']}` any time to check for drift")
    if result.handoff is not None and not state.json:
        click.echo("")
        click.echo(result.handoff.text)
    exit_with(EXIT_INTERRUPTED if result.interrupted else EXIT_OK if result.ok else EXIT_ERROR)


config_option = click.option(
    "-f",
    "--file",
    "config_path",
    required=True,
    type=click.Path(dir_okay=True),
    help="Config file (YAML or JSON). See examples/identity-center-admin.yaml.",
)


portal_url_option = click.option(
    "--portal-url",
    default=None,
    metavar="URL",
    callback=checked(portal_url_rule),
    help="Access portal URL to print (default: config portal_url, else https://<identity store id>.awsapps.com/start).",
)


def change_options(fn: Any) -> Any:
    """Options of the commands that change AWS: polling bounds, root refusal."""
    options = [
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
            help="First wait before looking at asynchronous requests, until one has been seen to end "
            "(default: as long as the call that made it took); then the waits follow the completion times seen.",
        ),
        click.option(
            "--poll-timeout",
            type=click.FloatRange(min=1),
            default=None,
            metavar="SECONDS",
            help=(
                "Give up waiting for an asynchronous request after this long "
                f"(default {quotas.POLL_TIMEOUT_SECONDS:g})."
            ),
        ),
    ]
    for option in options:
        fn = option(fn)
    return fn
