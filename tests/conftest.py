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

REGION = "ap-northeast-2"


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
def aws() -> Iterator[realism.State]:
    """moto with the realism layer installed and reset; yields the layer's state."""
    realism.install()
    realism.reset()
    with mock_aws():
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
