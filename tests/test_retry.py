"""What is retried and how fast calls go: only transient errors, after the wait AWS asks for,
by our retrier alone (botocore's retries off), under one rate limit per service shared by
every thread. Judged by what the realism layer received, on a fake clock."""

from __future__ import annotations

import threading
from typing import Any

import boto3
import pytest

from provisioner.aws import Clients, ClientSettings
from provisioner.errors import ProvisionerError
from provisioner.retry import FakeClock, RetrySettings
from tests import realism
from tests.conftest import REGION


def clients_with(clock: FakeClock, **settings: Any) -> Clients:
    session = boto3.session.Session(region_name=REGION)
    return Clients(session, ClientSettings(region=REGION, **settings), clock)


def list_instances(clients: Clients) -> Any:
    return clients.sso_admin.call(lambda c: c.list_instances())


def list_groups(clients: Clients, store: str | None = None) -> Any:
    store = store or list_instances(clients)["Instances"][0]["IdentityStoreId"]
    return clients.identitystore.call(lambda c: c.list_groups(IdentityStoreId=store))


# -- only what is transient ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "code",
    [
        "AccessDeniedException",
        "ExpiredTokenException",
        "UnrecognizedClientException",
        "ValidationException",
        "ResourceNotFoundException",
        "ServiceQuotaExceededException",
        "ConflictException",
    ],
)
def test_an_error_retrying_cannot_fix_is_raised_after_one_call(clients: Clients, clock: FakeClock, code: str) -> None:
    realism.configure(refuse={"ListInstances": (code, "refused")})
    with pytest.raises(ProvisionerError, match=code):
        list_instances(clients)
    assert realism.STATE.calls["sso-admin:ListInstances"] == 1 and clock.slept == []


def test_a_taken_name_is_not_retried(clients: Clients, clock: FakeClock) -> None:
    store = list_instances(clients)["Instances"][0]["IdentityStoreId"]
    create = lambda: clients.identitystore.call(lambda c: c.create_group(IdentityStoreId=store, DisplayName="Ops"))  # noqa: E731
    create()
    with pytest.raises(ProvisionerError, match="ConflictException"):
        create()
    assert realism.STATE.calls["identitystore:CreateGroup"] == 2 and clock.slept == []


@pytest.mark.parametrize(
    "fault",
    [
        {"throttle_operations": {"ListGroups": 1.0}},
        {"error_rate": 1.0},
        {"drop_before_rate": 1.0},
        {"concurrent_modification": {"ListGroups": 10**6}},
    ],
    ids=["throttled", "internal error", "dropped connection", "concurrent modification"],
)
def test_a_transient_error_is_retried_until_the_budget_is_spent(
    aws: realism.State, clock: FakeClock, fault: Any
) -> None:
    clients = clients_with(clock, retry=RetrySettings(deadline=60))
    # The endpoint has answered: a dropped connection is a drop, not a wrong URL.
    store = list_instances(clients)["Instances"][0]["IdentityStoreId"]
    realism.configure(**fault)
    with pytest.raises(ProvisionerError):
        list_groups(clients, store)
    assert realism.STATE.calls["identitystore:ListGroups"] > 5
    assert 60 <= clock.t < 60 + RetrySettings().max_delay


def test_a_concurrent_modification_is_retried_until_it_succeeds(clients: Clients, clock: FakeClock) -> None:
    realism.configure(concurrent_modification={"ListGroups": 2})
    assert list_groups(clients)["Groups"] == []
    assert realism.STATE.calls["identitystore:ListGroups"] == 3


# -- the wait AWS asks for ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "fault",
    [{"concurrent_modification": {"ListGroups": 2}}, {"throttle_operations": {"ListGroups": 1.0}}],
    ids=["concurrent modification", "throttled"],
)
def test_retry_after_seconds_is_waited_before_each_retry(clients: Clients, clock: FakeClock, fault: Any) -> None:
    list_instances(clients)
    realism.configure(retry_after_seconds=7, clock=clock.now, **fault)
    if "throttle_operations" in fault:
        # Throttled twice, then let through.
        realism.pause_at(
            "identitystore:ListGroups", 3, action=lambda: realism.STATE.settings.throttle_operations.clear()
        )
    list_groups(clients)
    times = realism.STATE.times("identitystore:ListGroups")
    assert len(times) == 3
    assert all(later - earlier >= 7 for earlier, later in zip(times, times[1:], strict=False)), times


# -- botocore's own retries are off -------------------------------------------------------------
@pytest.mark.parametrize(
    "fault",
    [{"throttle_operations": {"ListInstances": 1.0}}, {"error_rate": 1.0}],
    ids=["throttled", "internal error"],
)
def test_botocore_never_retries_behind_our_back(aws: realism.State, clock: FakeClock, fault: Any) -> None:
    realism.configure(**fault)
    clients = clients_with(clock, retry=RetrySettings(deadline=0))  # our retrier gives up at once
    with pytest.raises(ProvisionerError):
        list_instances(clients)
    assert realism.STATE.calls["sso-admin:ListInstances"] == 1
    assert clients.log.counts["sso-admin:ListInstances"] == 1


# -- one rate limit per service, shared by all threads -------------------------------------------
@pytest.mark.parametrize("service", ["sso-admin", "identitystore"])
def test_calls_beyond_the_rate_limit_wait_their_turn(aws: realism.State, clock: FakeClock, service: str) -> None:
    store = boto3.client("sso-admin", region_name=REGION).list_instances()["Instances"][0]["IdentityStoreId"]
    clients = clients_with(clock)  # the default: AWS's quota, 20 requests/s
    for _ in range(60):
        if service == "sso-admin":
            list_instances(clients)
        else:
            list_groups(clients, store)
    # A burst of 20, then 20 a second: the 60th call goes out 2 s after the first.
    assert clock.t == pytest.approx(2.0, abs=0.01)


def test_the_rate_limit_is_shared_by_every_thread(aws: realism.State, clock: FakeClock) -> None:
    realism.configure(clock=clock.now)
    clients = clients_with(clock, sso_admin_tps=20)

    def calls() -> None:
        for _ in range(15):
            list_instances(clients)

    threads = [threading.Thread(target=calls) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    # The fake clock adds up the sleeps of threads that would wait side by side, so this is a
    # lower bound: 60 calls at 20 a second after a burst of 20 take at least 2 s.
    times = sorted(realism.STATE.times("sso-admin:ListInstances"))
    assert len(times) == 60 and times[-1] - times[0] >= 2.0 - 0.1


def test_each_service_has_its_own_rate_limit(aws: realism.State, clock: FakeClock) -> None:
    clients = clients_with(clock)
    for _ in range(20):
        list_groups(clients)  # 20 calls of each service: a burst of each
    assert clock.t == 0.0
