"""Fixtures: moto with the realism layer, clients on a fake clock, and call counting."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from provisioner import config as config_module
from provisioner.aws import Clients, ClientSettings
from provisioner.retry import FakeClock, PollSettings, RetrySettings
from provisioner.runner import Runner, RunSettings
from tests import realism
from tests.realism.organizations import default_organization

REGION = "ap-northeast-2"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "standalone: start in a standalone account with no organization (the test creates its own, "
        "or tests the no-organization paths)",
    )


def _share_botocore_loader() -> None:
    """One botocore data loader for the whole test process.

    Every boto3 Session builds its own loader and parses the same service models and
    endpoints JSON again (tens of milliseconds per client); the tests build thousands.
    """
    import botocore.loaders
    import botocore.session

    shared = botocore.loaders.create_loader()
    botocore.session.create_loader = lambda search_path_string=None: shared  # type: ignore[assignment]


_share_botocore_loader()
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture(autouse=True)
def _aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and no shared config, so nothing can reach a real account."""
    for key in list(os.environ):
        if key.startswith("AWS_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "ASIATESTING")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")


@pytest.fixture
def aws(request: pytest.FixtureRequest) -> Iterator[realism.State]:
    """moto with the realism layer installed and reset; yields the layer's state. The caller's
    account manages an organization with the members tests assign on (organizations.MEMBERS),
    unless the test is marked `standalone`: then it starts with no organization."""
    realism.install()
    realism.reset()
    with mock_aws():
        if request.node.get_closest_marker("standalone") is None:
            default_organization()
        yield realism.STATE
    realism.reset()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def clients(aws: realism.State, clock: FakeClock) -> Clients:
    return make_clients(clock)


def make_clients(clock: FakeClock) -> Clients:
    session = boto3.session.Session(region_name=REGION)
    settings = ClientSettings(region=REGION, retry=RetrySettings(deadline=600, conflict_deadline=120))
    return Clients(session, settings, clock)


def run_settings(**kwargs: Any) -> RunSettings:
    return RunSettings(poll=PollSettings(**kwargs), workers=1)


def plan_and_apply(clients: Clients, config: config_module.Config, **poll: Any) -> tuple[Any, Any, Runner]:
    runner = Runner(clients, config, run_settings(**poll))
    plan = runner.plan()
    result = runner.apply(plan)
    return plan, result, runner


def load_example(name: str = "identity-center-admin.yaml") -> config_module.Config:
    return config_module.load(EXAMPLES / name)


def parse(doc: dict[str, Any]) -> config_module.Config:
    return config_module.parse(doc, "test.yaml")


def cli_env() -> dict[str, str]:
    """The environment for the CLI run as a process: fake credentials, no real profile."""
    return {k: v for k, v in os.environ.items() if not k.startswith("AWS_")} | {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }


def cli_command(endpoint_url: str, *args: str) -> list[str]:
    return [sys.executable, "-m", "provisioner", "--endpoint-url", endpoint_url, "--region", REGION, *args]


# -- every operation the suite makes is declared (doctor's list of needed actions) -----------
SEEN_ACTIONS: set[str] = set()


@pytest.fixture(autouse=True, scope="session")
def _every_operation_is_recorded() -> Iterator[None]:
    """Every call any Clients makes in the suite, as an IAM action (checked at the end)."""
    from provisioner.aws import CallLog, iam_action

    original = CallLog.record

    def record(self: CallLog, service: str, operation: str) -> None:
        SEEN_ACTIONS.add(iam_action(service, operation))
        original(self, service, operation)

    CallLog.record = record  # type: ignore[method-assign]
    yield
    CallLog.record = original  # type: ignore[method-assign]


def known_actions() -> frozenset[str]:
    """What the kinds, the context, doctor and the access report declare they call."""
    from provisioner import access, context, doctor
    from provisioner.kinds import declared_actions

    return context.ACTIONS | declared_actions() | doctor.ACTIONS | access.REPORT_ACTIONS


# Called by tests themselves through Clients, to see how an operation moto lacks is answered.
CALLED_BY_TESTS = frozenset({"sso:ListApplications"})


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run when the product called an operation no kind declares: doctor would not
    ask for its permission, and a caller granted exactly that list would fail."""
    if undeclared := SEEN_ACTIONS - known_actions() - CALLED_BY_TESTS:
        print(f"\nundeclared AWS operations (declare them on their kind): {', '.join(sorted(undeclared))}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
