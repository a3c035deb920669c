"""Interruption: a cancelled run starts nothing new, polls what is in flight for a short
grace, reports every change as done, failed, not started or unknown, and the next run
converges. The CLI turns Ctrl-C into that cancellation (exit 130)."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Mapping
from typing import Any

import pytest
from botocore.exceptions import ClientError, ConnectionClosedError
from click.testing import CliRunner

from provisioner.aws import Clients
from provisioner.cli import cli
from provisioner.errors import Interrupted
from provisioner.plan import NOT_STARTED, UNKNOWN
from provisioner.report import render_result
from provisioner.retry import Cancellation, FakeClock, PollSettings, Retrier, RetrySettings, run_async
from provisioner.runner import Runner
from tests import realism
from tests.conftest import EXAMPLES, REGION, make_clients, parse, plan_and_apply, run_settings
from tests.test_async import MANY, assignment_count

EXAMPLE = str(EXAMPLES / "identity-center-admin.yaml")


# -- run_async, on the fake clock -----------------------------------------------------------
class FakeService:
    """Requests that stay IN_PROGRESS until `ends_after` seconds of the fake clock."""

    def __init__(self, clock: FakeClock, ends_after: float = 10**9) -> None:
        self.clock = clock
        self.ends_after = ends_after
        self.fired: dict[str, float] = {}

    def fire(self, item: int) -> Mapping[str, Any]:
        request_id = f"r{item}"
        self.fired[request_id] = self.clock.now()
        return {"Status": "IN_PROGRESS", "RequestId": request_id}

    def check(self, request_ids: list[str]) -> dict[str, Mapping[str, Any]]:
        now = self.clock.now()
        return {
            rid: {"Status": "SUCCEEDED", "RequestId": rid}
            for rid in request_ids
            if now - self.fired[rid] >= self.ends_after
        }


def test_cancelled_run_async_fires_nothing_more_and_names_the_requests_in_flight() -> None:
    clock, cancel = FakeClock(), Cancellation()
    service = FakeService(clock)

    def fire(item: int) -> Mapping[str, Any]:
        if item == 4:
            cancel.cancel()  # Ctrl-C while the fifth request is being fired
        return service.fire(item)

    outcomes = run_async(list(range(40)), fire, service.check, 15, clock, PollSettings(), cancel=cancel)
    assert len(service.fired) == 5
    assert [o.status for o in outcomes[:5]] == [UNKNOWN] * 5
    assert [o.request_id for o in outcomes[:5]] == [f"r{i}" for i in range(5)]
    assert all(o.reason == "interrupted while IN_PROGRESS" for o in outcomes[:5])
    assert {o.status for o in outcomes[5:]} == {NOT_STARTED}
    assert 10 <= clock.t <= 10.5  # polled for the grace, no longer


def test_requests_that_end_within_the_grace_are_reported_as_they_ended() -> None:
    clock, cancel = FakeClock(), Cancellation()
    service = FakeService(clock, ends_after=3)

    def fire(item: int) -> Mapping[str, Any]:
        if item == 2:
            cancel.cancel()
        return service.fire(item)

    outcomes = run_async(list(range(20)), fire, service.check, 15, clock, PollSettings(), cancel=cancel)
    assert [o.status for o in outcomes[:3]] == ["SUCCEEDED"] * 3
    assert clock.t < 10  # no need to wait out the grace


# -- the retrier ------------------------------------------------------------------------------
def throttled(operation: str = "CreateGroup") -> ClientError:
    return ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, operation)


@pytest.mark.parametrize(
    ("error", "unknown"),
    [(throttled(), False), (ConnectionClosedError(endpoint_url="https://sso.example"), True)],
    ids=["throttled: it did not happen", "reply dropped: it may have happened"],
)
def test_cancellation_stops_a_retry_loop_at_once(error: Exception, unknown: bool) -> None:
    clock, cancel = FakeClock(), Cancellation()
    retrier = Retrier(RetrySettings(deadline=300), clock, cancel=cancel)
    attempts = []

    def call() -> None:
        attempts.append(clock.now())
        if len(attempts) == 3:
            cancel.cancel()
        raise error

    with pytest.raises(Interrupted) as raised:
        retrier.run("identitystore", call)
    assert len(attempts) == 3 and raised.value.may_have_taken_effect is unknown


# -- the runner, against moto with the realism layer ------------------------------------------
def test_cancelled_apply_starts_no_write_and_the_next_run_converges(clients: Clients, clock: Any) -> None:
    realism.configure(async_seconds=5, clock=clock.now)
    writes_at_cancel = []

    def ctrl_c() -> None:
        writes_at_cancel.append(realism.STATE.writes())
        clients.cancel.cancel()

    # Ctrl-C as the fifth of 36 assignment requests reaches AWS (it still takes effect).
    realism.pause_at("sso-admin:CreateAccountAssignment", 5, action=ctrl_c)
    plan, result, _ = plan_and_apply(clients, parse(MANY))
    assert result.interrupted and not result.ok
    assert realism.STATE.writes() == writes_at_cancel[0] + 1  # the one in flight, no other after it
    counts = result.counts()
    # 6 groups, 3 sets, and the 5 requests in flight polled to SUCCEEDED within the grace.
    assert counts == {"done": 14, "failed": 0, NOT_STARTED: 31, UNKNOWN: 0}
    assert assignment_count() == 5

    realism.configure(async_seconds=5, clock=clock.now)
    again = make_clients(clock)
    plan2, result2, _ = plan_and_apply(again, parse(MANY))
    assert len(plan2.changes) == 31 and result2.ok
    assert Runner(make_clients(clock), parse(MANY), run_settings()).plan().empty


def test_requests_still_in_progress_after_the_grace_are_named_unknown(clients: Clients, clock: Any) -> None:
    realism.configure(async_seconds=10**9, clock=clock.now)  # they never end
    realism.pause_at("sso-admin:CreateAccountAssignment", 2, action=clients.cancel.cancel)
    plan, result, _ = plan_and_apply(clients, parse(MANY))
    unknown = [o for o in result.outcomes if o.status == UNKNOWN]
    assert len(unknown) == 2 and result.counts()[NOT_STARTED] == 34
    lines = [line for line in render_result(result, plan).splitlines() if line.lstrip().startswith("unknown")]
    assert lines == [
        f"  unknown create assignment {o.change.key}: interrupted while IN_PROGRESS [request id {o.request_id}]"
        for o in unknown
    ]
    assert "Interrupted: 9 done, 0 failed, 34 not started, 2 unknown." in render_result(result, plan)


def test_a_change_cut_between_its_calls_is_unknown_not_undone(clients: Clients, clock: Any) -> None:
    # Ctrl-C while the first permission set is created: its policies are not attached.
    realism.pause_at("sso-admin:CreatePermissionSet", 1, action=clients.cancel.cancel)
    plan, result, _ = plan_and_apply(clients, parse(MANY))
    by_key = {o.change.key: o for o in result.outcomes if o.change.resource == "permission_set"}
    assert by_key["Set0"].status == UNKNOWN and "interrupted" in by_key["Set0"].detail
    assert by_key["Set1"].status == NOT_STARTED
    plan2, result2, _ = plan_and_apply(make_clients(clock), parse(MANY))
    assert result2.ok and [c.key for c in plan2.changes if c.resource == "permission_set"] == ["Set0", "Set1", "Set2"]


# -- the CLI, in-process: Ctrl-C is a real SIGINT to this process ------------------------------
def invoke(*args: str) -> Any:
    return CliRunner().invoke(cli, ["--region", REGION, *args], catch_exceptions=False)


def ctrl_c_at(operation: str) -> list[int]:
    """Press Ctrl-C as `operation` first reaches AWS; returns the writes made before it."""
    before: list[int] = []

    def press() -> None:
        before.append(realism.STATE.writes())
        os.kill(os.getpid(), signal.SIGINT)  # the CLI's handler runs on this (the main) thread

    realism.pause_at(operation, 1, action=press)
    return before


BOOTSTRAP = ("bootstrap", "--user-name", "admin", "--email", "admin@example.com", "--yes")


@pytest.mark.parametrize(
    ("command", "operation"),
    [
        (("apply", "-f", EXAMPLE, "--yes"), "identitystore:CreateUser"),
        (BOOTSTRAP, "identitystore:CreateUser"),
        (("destroy", "-f", EXAMPLE, "--yes"), "sso-admin:DeleteAccountAssignment"),
    ],
    ids=["apply", "bootstrap", "destroy"],
)
@pytest.mark.parametrize("output", ["text", "json"])
def test_ctrl_c_during_a_change_reports_what_was_done_and_exits_130(
    aws: realism.State, command: tuple[str, ...], operation: str, output: str
) -> None:
    if command[0] == "destroy":
        assert invoke("apply", "-f", EXAMPLE, "--yes").exit_code == 0
    before = ctrl_c_at(operation)
    # One worker: the changes run in order, so what Ctrl-C cuts off is the same every time.
    result = invoke("--output", output, "--workers", "1", *command)
    assert result.exit_code == 130, result.output
    assert "interrupted: starting nothing new" in result.stderr
    assert "Aborted!" not in result.output and "Traceback" not in result.output
    assert realism.STATE.writes() == before[0] + 1  # the call in flight, nothing after it
    # destroy: the assignment's deletion was in flight; the set, membership, user and group
    # were not started. apply and bootstrap: the group and the user, not the other three.
    done, not_started = (1, 4) if command[0] == "destroy" else (2, 3)
    if output == "json":
        document = json.loads(result.stdout)
        assert document["interrupted"] is True
        statuses = [o["status"] for o in document["result"]["outcomes"]]
        assert statuses.count("done") == done and statuses.count("not started") == not_started
    else:
        assert f"Interrupted: {done} done, 0 failed, {not_started} not started, 0 unknown." in result.stdout
        assert "run `provisioner plan` to see where things stand" in result.stdout


@pytest.mark.parametrize(
    "command",
    [("plan", "-f", EXAMPLE), ("apply", "-f", EXAMPLE, "--yes"), ("destroy", "-f", EXAMPLE, "--yes"), BOOTSTRAP],
    ids=["plan", "apply", "destroy", "bootstrap"],
)
@pytest.mark.parametrize("output", ["text", "json"])
def test_ctrl_c_while_reading_says_nothing_was_changed(
    aws: realism.State, monkeypatch: pytest.MonkeyPatch, command: tuple[str, ...], output: str
) -> None:
    def ctrl_c(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr("provisioner.context.resolve", ctrl_c)
    result = invoke("--output", output, *command)
    assert result.exit_code == 130
    assert result.stderr.strip() == "interrupted: nothing was changed"
    assert "Aborted!" not in result.output and "Traceback" not in result.output
    assert realism.STATE.writes() == 0
    if output == "json":
        assert json.loads(result.stdout)["interrupted"] is True

