"""What only real AWS does: IN_PROGRESS, FAILED, timeouts, throttling, conflicts, quotas.

The realism layer makes moto behave so; the clock is fake, so nothing sleeps for real.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Mapping
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from click.testing import CliRunner

from provisioner.aws import Clients
from provisioner.cli import cli
from provisioner.errors import AwsAccessError, AwsError
from provisioner.report import render_result
from provisioner.retry import ENDED, Cadence, FakeClock, PollSettings, Retrier, RetrySettings, run_async
from provisioner.runner import Runner, RunSettings
from tests import realism
from tests.conftest import EXAMPLES, REGION, load_example, make_clients, parse, plan_and_apply, run_settings
from tests.test_steps import FULL, prepare_full_accounts

MANY: dict[str, Any] = {
    "groups": [{"name": f"team{i}"} for i in range(6)],
    "permission_sets": [{"name": f"Set{i}", "managed_policies": ["ReadOnlyAccess"]} for i in range(3)],
    "assignments": [
        {"permission_set": f"Set{i}", "groups": [f"team{g}" for g in range(6)], "accounts": ["current", "111122223333"]}
        for i in range(3)
    ],
}  # 36 assignments


def assignment_count() -> int:
    sso = boto3.client("sso-admin", region_name=REGION)
    arn = sso.list_instances()["Instances"][0]["InstanceArn"]
    return sum(
        len(sso.list_account_assignments(InstanceArn=arn, AccountId=acct, PermissionSetArn=ps)["AccountAssignments"])
        for ps in sso.list_permission_sets(InstanceArn=arn)["PermissionSets"]
        for acct in ("123456789012", "111122223333")
    )


def test_in_progress_assignments_are_polled_to_success(clients: Clients, clock: Any) -> None:
    realism.configure(async_seconds=5, clock=clock.now)
    plan, result, _ = plan_and_apply(clients, parse(MANY))
    assert result.ok
    assert assignment_count() == 36
    assert clock.t >= 5 * 3, "three waves of 15, each IN_PROGRESS for 5 s, were waited for"


def rounds(call: str) -> dict[float, int]:
    """Calls of `call` per poll round: the calls at one time of the layer's fake clock."""
    return dict(Counter(realism.STATE.times(call)))


@pytest.mark.parametrize("failing", [0, 18])
def test_a_poll_round_costs_a_couple_of_calls_not_one_per_request(clients: Clients, clock: Any, failing: int) -> None:
    def fail(payload: dict[str, str]) -> str | None:
        return "IAM role quota exceeded" if payload["TargetId"] == "111122223333" else None

    realism.configure(async_seconds=5, clock=clock.now, fail_assignment=fail if failing else None)
    plan, result, _ = plan_and_apply(clients, parse(MANY))
    assert len(result.failed) == failing
    listings = rounds("sso-admin:ListAccountAssignmentCreationStatus")
    # One listing of the requests IN_PROGRESS, and one of those FAILED when some ended: at most
    # two a round, however many requests are in flight; a describe only for each that FAILED.
    assert len(listings) >= 3 and set(listings.values()) <= {1, 2}, listings
    assert realism.STATE.calls["sso-admin:DescribeAccountAssignmentCreationStatus"] == failing
    assert all("IAM role quota exceeded" in o.detail and o.request_id for o in result.failed)


def test_deletions_are_polled_the_same_way(clients: Clients, clock: Any) -> None:
    plan_and_apply(clients, parse(MANY))
    realism.configure(async_seconds=5, clock=clock.now)
    runner = Runner(make_clients(clock), parse(MANY), run_settings())
    assert runner.apply(runner.plan_destroy()).ok
    listings = rounds("sso-admin:ListAccountAssignmentDeletionStatus")
    assert len(listings) >= 3 and set(listings.values()) <= {1, 2}, listings
    assert realism.STATE.calls["sso-admin:DescribeAccountAssignmentDeletionStatus"] == 0


# -- the poll cadence: learnt from the completion times seen -------------------------------------
class Timed:
    """Requests that end `took(n)` seconds after the n-th is fired, each call taking `rtt` of
    the fake clock; records when it was looked at."""

    def __init__(self, clock: FakeClock, took: Any, rtt: float = 0.0) -> None:
        self.clock, self.took, self.rtt = clock, took, rtt
        self.ends: dict[str, float] = {}
        self.looks: list[float] = []

    def fire(self, item: int) -> Mapping[str, Any]:
        self.clock.t += self.rtt
        self.ends[f"r{item}"] = self.clock.now() + self.took(item)
        return {"Status": "IN_PROGRESS", "RequestId": f"r{item}"}

    def check(self, request_ids: list[str]) -> dict[str, Mapping[str, Any]]:
        self.looks.append(self.clock.now())
        assert len(self.looks) <= 2000, f"looked {len(self.looks)} times in {self.clock.now()}s"
        now = self.clock.now()
        self.clock.t += self.rtt
        return {rid: {"Status": "SUCCEEDED", "RequestId": rid} for rid in request_ids if self.ends[rid] <= now}


@pytest.mark.parametrize("first", [None, 1.0])
def test_until_one_ends_each_wait_is_half_the_time_waited(first: float | None) -> None:
    clock = FakeClock()
    aws = Timed(clock, took=lambda n: 60.0)
    outcomes = run_async([1, 2], aws.fire, aws.check, 15, clock, PollSettings(first_delay=first))
    assert [o.status for o in outcomes] == ["SUCCEEDED"] * 2
    floor = PollSettings().min_interval  # one call's share of the rate: the fire took no time here
    assert aws.looks[0] == pytest.approx(first or floor)
    waits = [later - earlier for earlier, later in zip(aws.looks, aws.looks[1:], strict=False)]
    assert waits == pytest.approx([max(waited / 2, floor) for waited in aws.looks[:-1]])
    assert 60 <= aws.looks[-1] < 90  # seen ended at most half its time late


@pytest.mark.parametrize(
    ("took", "rtt"),
    [(0.2, 0.005), (3.0, 0.1), (60.0, 0.1)],
    ids=["ten times faster than AWS", "AWS", "slow"],
)
@pytest.mark.parametrize("spread", [0.0, 0.3])
def test_the_quota_slots_never_sit_idle_long_on_fast_or_slow_aws(took: float, rtt: float, spread: float) -> None:
    """No constant sets the pace: 300 requests through 15 slots take little more than the
    20 waves the quota allows, and a wave costs a few looks, whatever the completion time."""
    clock, jitter = FakeClock(), random.Random(7)
    aws = Timed(clock, took=lambda n: took * (1 + jitter.uniform(-spread, spread)), rtt=rtt)
    outcomes = run_async(list(range(300)), aws.fire, aws.check, 15, clock, PollSettings(min_interval=0.005))
    assert all(o.ok for o in outcomes)
    waves = 300 / 15
    assert clock.now() <= 1.25 * waves * took * (1 + spread / 2), clock.now() / (waves * took)
    assert len(aws.looks) <= 10 * waves


def test_the_first_look_comes_near_the_median_completion_seen() -> None:
    clock = FakeClock()
    aws = Timed(clock, took=lambda n: 4.0)
    cadence = Cadence(None, 0.05)
    run_async(list(range(60)), aws.fire, aws.check, 15, clock, PollSettings(), cadence=cadence)
    assert cadence.median() == pytest.approx(4.0, rel=0.15)
    # After the first wave, every wave is seen ended within an eighth of its time.
    assert clock.now() <= 4.0 * 1.5 + 3 * 4.0 * 1.125 + 1e-9, clock.now()


def test_requests_that_ended_give_their_slots_before_their_outcome_is_read() -> None:
    clock, events = FakeClock(), []
    aws = Timed(clock, took=lambda n: 2.0)

    def fire(item: int) -> Mapping[str, Any]:
        events.append(f"fire {item}")
        return aws.fire(item)

    def check(request_ids: list[str]) -> dict[str, Mapping[str, Any]]:
        return {rid: {"Status": ENDED, "RequestId": rid} for rid in aws.check(request_ids)}

    def conclude(request_ids: list[str]) -> dict[str, Mapping[str, Any]]:
        events.append(f"conclude {len(request_ids)}")
        failed = {"Status": "FAILED", "FailureReason": "role quota", "RequestId": "r3"}
        return {rid: failed if rid == "r3" else {"Status": "SUCCEEDED", "RequestId": rid} for rid in request_ids}

    outcomes = run_async(list(range(60)), fire, check, 15, clock, PollSettings(), conclude=conclude)
    assert [o.status for o in outcomes].count("SUCCEEDED") == 59 and outcomes[3].reason == "role quota"
    assert events.index("fire 15") < events.index(next(e for e in events if e.startswith("conclude")))
    concluded = [e for e in events if e.startswith("conclude")]
    assert len(concluded) <= 5 and sum(int(e.split()[1]) for e in concluded) == 60  # one per wave at most


def test_a_round_is_fired_once_the_round_before_it_has_ended() -> None:
    clock = FakeClock()
    aws = Timed(clock, took=lambda n: 5.0)
    fired: dict[int, float] = {}

    def fire(item: int) -> Mapping[str, Any]:
        fired[item] = clock.now()
        return aws.fire(item)

    outcomes = run_async([0, 1, 2], fire, aws.check, 15, clock, PollSettings(), rounds=[0, 0, 1])
    assert all(o.ok for o in outcomes)
    assert fired[0] == fired[1] == 0 and fired[2] >= 5.0


def test_after_a_timeout_no_later_round_is_fired() -> None:
    clock = FakeClock()
    aws = Timed(clock, took=lambda n: 10_000.0)
    outcomes = run_async([0, 1, 2], aws.fire, aws.check, 15, clock, PollSettings(timeout=60), rounds=[0, 1, 2])
    assert [o.status for o in outcomes] == ["TIMEOUT", "SKIPPED", "SKIPPED"]
    assert list(aws.ends) == ["r0"]
    assert outcomes[1].reason == "not started: earlier requests timed out"


def test_an_apply_polls_its_one_request_at_a_growing_pace(clients: Clients, clock: FakeClock) -> None:
    def takes(seconds: float) -> None:  # every call takes 10 ms of the fake clock
        clock.t += seconds

    realism.configure(async_seconds=30, clock=clock.now, latency=0.01, sleep=takes)
    plan, result, _ = plan_and_apply(clients, load_example())
    assert result.ok
    [created] = realism.STATE.times("sso-admin:CreateAccountAssignment")
    looks = realism.STATE.times("sso-admin:DescribeAccountAssignmentCreationStatus")
    waited = [look - created for look in looks]
    assert waited[0] < 0.1 and 30 <= waited[-1] < 46, waited
    assert len(looks) <= 20  # not one a second: each wait is half the time waited so far


def test_outstanding_requests_stay_within_the_quota(clients: Clients, clock: Any) -> None:
    realism.configure(async_seconds=3, clock=clock.now, max_outstanding_assignments=15)
    plan, result, _ = plan_and_apply(clients, parse(MANY))
    assert result.ok, result.to_json()
    assert clients.log.counts["sso-admin:CreateAccountAssignment"] == 36  # never refused, never repeated
    assert realism.STATE.peak["assignment"] == 15  # and the quota used in full


FIVE_SETS: dict[str, Any] = {
    "groups": [{"name": "team"}],
    "permission_sets": [{"name": f"Set{i}", "managed_policies": ["ReadOnlyAccess"]} for i in range(5)],
    "assignments": [{"permission_set": f"Set{i}", "groups": ["team"], "accounts": ["current"]} for i in range(5)],
}


def test_at_most_three_provisionings_run_at_once(clients: Clients, clock: Any) -> None:
    plan_and_apply(clients, parse(FIVE_SETS))
    realism.configure(async_seconds=10, clock=clock.now, max_concurrent_provisionings=3)
    edited = json.loads(json.dumps(FIVE_SETS))
    for ps in edited["permission_sets"]:
        ps["session_duration"] = "PT2H"
    plan, result, _ = plan_and_apply(make_clients(clock), parse(edited))
    assert result.ok, result.to_json()
    assert realism.STATE.calls["sso-admin:ProvisionPermissionSet"] == 5  # never refused, never repeated
    assert realism.STATE.peak["provisioning"] == 3  # and the quota used in full


# -- side by side: the two lanes, and the workers within a lane --------------------------------
def rendezvous(first: str, second: str) -> list[bool]:
    """Hold the first call of `first` until the `second` call arrives; says whether they met,
    i.e. whether both were in flight at once. Whichever comes first waits up to 5 s for the
    other, so run one after the other they never meet."""
    held = realism.pause_at(first, 1, limit=5)
    met: list[bool] = []

    def meet() -> None:
        met.append(held.reached.wait(5) and held.held())
        held.release()

    realism.pause_at(second, 2 if second == first else 1, action=meet)
    return met


def test_identity_store_and_sso_admin_work_run_side_by_side(aws: realism.State, clock: Any) -> None:
    met = rendezvous("identitystore:CreateGroup", "sso-admin:CreatePermissionSet")
    runner = Runner(make_clients(clock), load_example(), RunSettings(workers=4))
    assert runner.apply(runner.plan()).ok
    assert met == [True]


@pytest.mark.parametrize("operation", ["identitystore:CreateGroup", "sso-admin:CreateAccountAssignment"])
def test_workers_make_independent_calls_side_by_side(aws: realism.State, clock: Any, operation: str) -> None:
    met = rendezvous(operation, operation)
    runner = Runner(make_clients(clock), parse(MANY), RunSettings(workers=4))
    assert runner.apply(runner.plan()).ok
    assert met == [True]


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("identitystore:ListGroups", "sso-admin:ListPermissionSets"),  # kinds of either service
        ("sso-admin:DescribePermissionSet", "sso-admin:DescribePermissionSet"),  # the sets, side by side
        ("sso-admin:ListTagsForResource", "sso-admin:ListTagsForResource"),
        ("sso-admin:ListAccountsForProvisionedPermissionSet", "sso-admin:ListAccountsForProvisionedPermissionSet"),
        ("identitystore:ListGroupMemberships", "identitystore:ListGroupMemberships"),  # the groups
    ],
)
def test_plan_reads_run_side_by_side(aws: realism.State, clock: Any, first: str, second: str) -> None:
    config = parse(MANY | {"users": [{"user_name": "kim", "email": "k@example.com", "groups": ["team0", "team1"]}]})
    plan_and_apply(make_clients(clock), config)
    met = rendezvous(first, second)
    plan = Runner(make_clients(clock), config, RunSettings(workers=4)).plan()
    assert plan.empty and met == [True]


def test_failed_assignment_reports_reason_and_request_id_and_the_rest_finishes(clients: Clients, clock: Any) -> None:
    def fail(payload: dict[str, str]) -> str | None:
        return "IAM role quota exceeded in 111122223333" if payload["TargetId"] == "111122223333" else None

    realism.configure(async_seconds=3, clock=clock.now, fail_assignment=fail)
    plan, result, _ = plan_and_apply(clients, parse(MANY))
    assert not result.ok
    assert len(result.failed) == 18
    assert all("IAM role quota exceeded" in o.detail and o.request_id for o in result.failed)
    assert assignment_count() == 18


def test_polling_stops_at_the_timeout_and_names_what_is_pending_once(clients: Clients, clock: Any) -> None:
    realism.configure(async_seconds=10**9, clock=clock.now)
    plan, result, _ = plan_and_apply(clients, load_example(), timeout=60)
    failed = result.failed
    assert len(failed) == 1 and failed[0].change.resource == "assignment"
    assert 60 <= clock.t < 120
    # Each fact once: the outcome line names the change and the request id itself.
    (line,) = [line for line in render_result(result, plan).splitlines() if "FAILED" in line]
    assert "TIMEOUT: still IN_PROGRESS after 60s" in line
    assert line.count("IdentityCenterAdmins") == 1
    assert line.count(str(failed[0].request_id)) == 1


def test_provisioning_in_progress_is_polled(clients: Clients, clock: Any) -> None:
    prepare_full_accounts()
    plan_and_apply(clients, parse(FULL))
    realism.configure(async_seconds=3, clock=clock.now)
    changed = json.loads(json.dumps(FULL))
    changed["permission_sets"][0]["session_duration"] = "PT2H"
    second = make_clients(clock)
    plan, result, _ = plan_and_apply(second, parse(changed))
    assert result.ok
    assert second.log.counts["sso-admin:DescribePermissionSetProvisioningStatus"] >= 2


def test_failed_provisioning_is_reported(clients: Clients, clock: Any) -> None:
    prepare_full_accounts()
    plan_and_apply(clients, parse(FULL))
    realism.configure(async_seconds=2, clock=clock.now, fail_provisioning=lambda arn: "policy AllowBilling missing")
    changed = json.loads(json.dumps(FULL))
    changed["permission_sets"][0]["session_duration"] = "PT2H"
    plan, result, _ = plan_and_apply(make_clients(clock), parse(changed))
    assert [o.change.resource for o in result.failed] == ["provisioning"]
    assert "policy AllowBilling missing" in result.failed[0].detail


def test_a_failed_provisioning_is_made_again_by_the_next_run(clients: Clients, clock: Any) -> None:
    prepare_full_accounts()
    plan_and_apply(clients, parse(FULL))
    changed = json.loads(json.dumps(FULL))
    changed["permission_sets"][0]["session_duration"] = "PT2H"
    realism.configure(async_seconds=2, clock=clock.now, fail_provisioning=lambda arn: "policy AllowBilling missing")
    plan_and_apply(make_clients(clock), parse(changed))
    realism.configure(async_seconds=2, clock=clock.now)
    again = make_clients(clock)
    plan, result, _ = plan_and_apply(again, parse(changed))
    # The set is stale where the provisioning failed: AWS still lists it so, and it is provisioned again.
    assert [c.resource for c in plan.changes] == ["provisioning"] and result.ok
    assert again.log.writes() == {"sso-admin:ProvisionPermissionSet": 1}
    assert Runner(make_clients(clock), parse(changed), run_settings()).plan().empty


def test_throttling_and_server_errors_are_retried(clients: Clients, clock: Any) -> None:
    realism.configure(throttle_rate=0.3, error_rate=0.05, seed=3)
    plan, result, _ = plan_and_apply(clients, parse(MANY))
    assert result.ok, result.to_json()
    assert assignment_count() == 36
    realism.configure()
    second = make_clients(clock)
    plan2, _, _ = plan_and_apply(second, parse(MANY))
    assert plan2.empty and second.log.writes() == {}


def test_dropped_connections_after_a_write_create_no_duplicates(clients: Clients, clock: Any) -> None:
    prepare_full_accounts()
    realism.configure(drop_after_rate=0.2, seed=5)
    plan, result, _ = plan_and_apply(clients, parse(FULL))
    assert result.ok, result.to_json()
    realism.configure()
    ids = boto3.client("identitystore", region_name=REGION)
    store = boto3.client("sso-admin", region_name=REGION).list_instances()["Instances"][0]["IdentityStoreId"]
    assert len(ids.list_users(IdentityStoreId=store)["Users"]) == 1
    assert len(ids.list_groups(IdentityStoreId=store)["Groups"]) == 1
    plan2, _, _ = plan_and_apply(make_clients(clock), parse(FULL))
    assert plan2.empty


def test_transient_conflict_is_retried_with_backoff(clients: Clients, clock: Any) -> None:
    prepare_full_accounts()
    plan_and_apply(clients, parse(FULL))
    # A provisioning that stays in flight for a while makes writes to the set conflict.
    realism.configure(async_seconds=30, clock=clock.now, conflict_while_provisioning=True)
    sso = boto3.client("sso-admin", region_name=REGION)
    arn = sso.list_instances()["Instances"][0]["InstanceArn"]
    ps = sso.list_permission_sets(InstanceArn=arn)["PermissionSets"][0]
    sso.provision_permission_set(InstanceArn=arn, PermissionSetArn=ps, TargetType="ALL_PROVISIONED_ACCOUNTS")
    changed = json.loads(json.dumps(FULL))
    changed["permission_sets"][0]["session_duration"] = "PT2H"
    second = make_clients(clock)
    plan, result, _ = plan_and_apply(second, parse(changed))
    assert result.ok, result.to_json()
    assert realism.STATE.calls["sso-admin:UpdatePermissionSet"] > 1  # refused, then retried
    assert sum(clock.slept) >= 30


def test_a_second_runner_sees_what_the_first_did(clients: Clients, clock: Any) -> None:
    realism.configure(async_seconds=2, clock=clock.now)
    plan_and_apply(clients, parse(MANY))
    plan = Runner(make_clients(clock), parse(MANY), run_settings()).plan()
    assert plan.empty


# -- throttling never loses a run ---------------------------------------------------------
def throttled(operation: str) -> ClientError:
    return ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, operation)


def test_status_reads_throttled_hard_never_lose_the_run(clients: Clients, clock: Any) -> None:
    status_reads = ("DescribeAccountAssignmentCreationStatus", "ListAccountAssignmentCreationStatus")
    realism.configure(async_seconds=3, clock=clock.now, throttle_operations=dict.fromkeys(status_reads, 0.9), seed=7)
    plan, result, _ = plan_and_apply(clients, parse(MANY))
    assert result.ok, [o.detail for o in result.failed][:3]
    assert assignment_count() == 36


def test_a_failed_status_read_is_looked_at_again_next_round() -> None:
    clock = FakeClock()
    looks: list[float] = []

    def check(request_ids: list[str]) -> dict[str, Mapping[str, Any]]:
        looks.append(clock.now())
        if len(looks) <= 3:  # the retry budget of each look spent on throttling
            raise AwsError("ThrottlingException", "Rate exceeded", "ListAccountAssignmentCreationStatus")
        return {rid: {"Status": "SUCCEEDED", "RequestId": rid} for rid in request_ids}

    fire = lambda item: {"Status": "IN_PROGRESS", "RequestId": f"r{item}"}  # noqa: E731
    outcomes = run_async(list(range(5)), fire, check, 15, clock, PollSettings())
    assert [o.status for o in outcomes] == ["SUCCEEDED"] * 5 and len(looks) == 4


def test_a_timeout_says_why_the_status_could_not_be_read() -> None:
    def check(request_ids: list[str]) -> dict[str, Mapping[str, Any]]:
        raise AwsError("ThrottlingException", "Rate exceeded", "ListAccountAssignmentCreationStatus")

    fire = lambda item: {"Status": "IN_PROGRESS", "RequestId": f"r{item}"}  # noqa: E731
    [outcome] = run_async([1], fire, check, 15, FakeClock(), PollSettings(timeout=60))
    assert outcome.status == "TIMEOUT" and "still IN_PROGRESS after 60s" in outcome.reason
    assert "ListAccountAssignmentCreationStatus: ThrottlingException: Rate exceeded" in outcome.reason


def test_a_timeout_after_a_status_read_that_worked_blames_no_error() -> None:
    looks: list[int] = []

    def check(request_ids: list[str]) -> dict[str, Mapping[str, Any]]:
        looks.append(1)
        if len(looks) == 1:
            raise AwsError("ThrottlingException", "Rate exceeded", "ListAccountAssignmentCreationStatus")
        return {}

    fire = lambda item: {"Status": "IN_PROGRESS", "RequestId": f"r{item}"}  # noqa: E731
    [outcome] = run_async([1], fire, check, 15, FakeClock(), PollSettings(timeout=60))
    assert outcome.status == "TIMEOUT" and "Throttling" not in outcome.reason


def test_denied_status_read_still_stops_the_run() -> None:
    def check(request_ids: list[str]) -> dict[str, Mapping[str, Any]]:
        raise AwsAccessError("AccessDeniedException", "no", "ListAccountAssignmentCreationStatus")

    fire = lambda item: {"Status": "IN_PROGRESS", "RequestId": f"r{item}"}  # noqa: E731
    with pytest.raises(AwsAccessError):
        run_async([1], fire, check, 15, FakeClock(), PollSettings())


def test_throttling_is_retried_for_a_time_budget_not_a_count() -> None:
    clock = FakeClock()
    retrier = Retrier(RetrySettings(deadline=300), clock, rng=random.Random(1))
    attempts = []

    def call() -> str:
        attempts.append(clock.now())
        if len(attempts) <= 25:
            raise throttled("DescribeAccountAssignmentCreationStatus")
        return "SUCCEEDED"

    assert retrier.run("sso-admin", call) == "SUCCEEDED"


def test_retrying_stops_when_the_budget_is_spent() -> None:
    clock = FakeClock()
    settings = RetrySettings(deadline=60)
    retrier = Retrier(settings, clock, rng=random.Random(1))

    def call() -> None:
        raise throttled("CreateUser")

    with pytest.raises(ClientError):
        retrier.run("identitystore", call)
    assert 60 <= clock.t < 60 + settings.max_delay


def test_retry_budget_bounds_how_long_a_call_is_retried(aws: realism.State) -> None:
    realism.configure(throttle_operations={"ListInstances": 1.0})
    example = str(EXAMPLES / "identity-center-admin.yaml")
    result = CliRunner().invoke(cli, ["--region", REGION, "--retry-budget", "0", "plan", "-f", example])
    assert result.exit_code == 1
    assert "error: ListInstances: ThrottlingException" in result.stderr
    assert realism.STATE.calls["sso-admin:ListInstances"] == 1
