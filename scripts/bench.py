#!/usr/bin/env python3
"""Benchmark against the realism endpoint, each scenario against the bound the quotas allow.

    python scripts/bench.py                 # `make bench`, about two minutes
    python scripts/bench.py --only fast --json bench.json

Each suite runs its own endpoint (a separate process: scripts/moto_endpoint.py), which
enforces a token bucket of TPS requests/s per service, 15 outstanding assignment requests,
3 concurrent provisionings, and completes asynchronous work after COMPLETION seconds. The
client runs as the CLI does with `--max-rps TPS` and default polling.

Suites and scenarios:
  fast       AWS ten times faster: 200 requests/s, completions in 0.2 s, on the reference
             organization (scripts/reference_org.py):
               fresh apply     everything created
               no-op plan      nothing to change
               delegated no-op the same, from the member account registered as IAM Identity
                               Center's delegated administrator (it may not list by principal)
               wider plan      the same principals on twice as many accounts (plan only)
               one set edited  one permission set's policies changed: edit and re-provision
  directory  the seed config (examples/identity-center-admin.yaml), no-op plans on a store of
             its own and on one where an identity provider synced 20,000 more users and 3,000
             more groups: bound, twice the reads of the first
  latency    50 ms per call, the reference organization's no-op plan: bound, its calls x 50 ms
             shared by the workers
  aws        AWS's own quotas at real speed, 20 requests/s, completions in 3 s, on an
             organization of 150 assignments: fresh apply and no-op plan

Time bounds: (calls - burst) / TPS per service, ceil(assignments / 15) x completion,
ceil(provisionings / 3) x completion, calls x latency / workers; the largest applies.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import math
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from provisioner import quotas  # noqa: E402
from provisioner.aws import Clients, ClientSettings  # noqa: E402
from provisioner.config import parse  # noqa: E402
from provisioner.retry import PollSettings  # noqa: E402
from provisioner.runner import Runner, RunSettings  # noqa: E402
from tests.realism.orgs import organization  # noqa: E402

REGION = "ap-northeast-2"
WORKERS = 4  # the CLI's default --workers
REFERENCE = organization(groups=30, users=200, permission_sets=20, accounts=50, assignments=1000)
WIDER = organization(groups=30, users=200, permission_sets=20, accounts=100, assignments=2000)  # twice the accounts
SEED = yaml.safe_load((ROOT / "examples" / "identity-center-admin.yaml").read_text())
# The delegated administrator: a member account of the endpoint's organization, and the access
# key id whose requests act as it.
DELEGATED, DELEGATED_KEY = "999988887777", "DELEGATEDADMIN"
# The organization's other members: every account the scenarios assign on (as on AWS, an
# assignment on an account outside the organization fails).
MEMBERS = sorted(
    {a for doc in (REFERENCE, WIDER) for spec in doc["assignments"] for a in spec["accounts"] if a != "current"}
)


@dataclass(frozen=True)
class Endpoint:
    """How a suite's endpoint behaves."""

    tps: float
    completion: float
    latency: float = 0.001
    directory: str | None = None  # USERS,GROUPS synced from an identity provider


def start_endpoint(endpoint: Endpoint) -> tuple[subprocess.Popen[str], str]:
    args = ["--tps", str(endpoint.tps), "--quotas", "--async-seconds", str(endpoint.completion),
            "--latency", str(endpoint.latency), "--region", REGION,
            "--member", DELEGATED, "--caller", f"{DELEGATED_KEY}={DELEGATED}"]  # fmt: skip
    args += [arg for account in MEMBERS for arg in ("--member", account)]
    if endpoint.directory:
        args += ["--directory", endpoint.directory]
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / "moto_endpoint.py"), *args], stdout=subprocess.PIPE, text=True, cwd=ROOT
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("endpoint: "):
        proc.kill()
        raise SystemExit(f"bench: the endpoint did not start: {line!r}")
    url = line.split(" ", 1)[1].strip()
    warm_up(url)
    return proc, url


def warm_up(url: str) -> None:
    """One call to each service, untimed: moto sets a service up at its first request (a
    third of a second), which is the emulator's cost, not a run's."""
    import boto3

    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)
    session.client("sts", endpoint_url=url).get_caller_identity()
    store = session.client("sso-admin", endpoint_url=url).list_instances()["Instances"][0]["IdentityStoreId"]
    session.client("identitystore", endpoint_url=url).list_groups(IdentityStoreId=store, MaxResults=1)
    with contextlib.suppress(Exception):  # no organization: the service is set up all the same
        session.client("organizations", endpoint_url=url).describe_organization()


def measure(
    name: str, url: str, doc: dict[str, Any], endpoint: Endpoint, apply: bool, key: str = "testing"
) -> dict[str, Any]:
    """Plan (and apply) `doc` as the CLI does with --max-rps TPS, with the credentials of access
    key `key` (the management account's by default); calls, time, and the time bound."""
    import boto3

    session = boto3.session.Session(aws_access_key_id=key, aws_secret_access_key="testing", region_name=REGION)
    tps = endpoint.tps
    settings = ClientSettings(region=REGION, endpoint_url=url, sso_admin_tps=tps, identity_store_tps=tps)
    clients = Clients(session, settings)
    # The CLI's defaults with --max-rps TPS: the poll cadence is learnt, not set.
    runner = Runner(clients, parse(doc, name), RunSettings(poll=PollSettings(min_interval=1.0 / tps), workers=WORKERS))
    start = time.monotonic()
    plan = runner.plan()
    result = runner.apply(plan) if apply and not plan.empty else None
    wall = time.monotonic() - start
    if result is not None and not result.ok:
        raise SystemExit(f"bench: {name}: {len(result.failed)} changes failed: {result.failed[0].detail}")
    counts = dict(sorted(clients.log.counts.items()))
    by_service: dict[str, int] = {}
    for op, n in counts.items():
        by_service[op.split(":")[0]] = by_service.get(op.split(":")[0], 0) + n
    # What the quotas bound is the requests made, not the calls (a throttled call is made again).
    made = [c for c in plan.changes if result is not None]
    assignments = sum(1 for c in made if c.kind.value == "assignment")
    provisionings = sum(1 for c in made if c.kind.value == "provisioning")
    # A token bucket starts full (one second's worth), so the first `tps` calls are free.
    parts = {f"({svc} calls - {tps:g}) / {tps:g} TPS": max(n - tps, 0) / tps
             for svc, n in by_service.items() if svc != "sts"}  # fmt: skip
    total = sum(counts.values())
    if endpoint.latency >= 0.01:
        parts[f"{total} calls x {endpoint.latency * 1000:g} ms / {WORKERS} workers"] = (
            total * endpoint.latency / WORKERS
        )
    if assignments:
        parts[f"ceil({assignments} assignments / 15) x {endpoint.completion:g}s"] = (
            math.ceil(assignments / quotas.MAX_OUTSTANDING_ASSIGNMENT_REQUESTS) * endpoint.completion
        )
    if provisionings:
        parts[f"ceil({provisionings} provisionings / 3) x {endpoint.completion:g}s"] = (
            math.ceil(provisionings / quotas.MAX_CONCURRENT_PROVISIONINGS) * endpoint.completion
        )
    bound_name, bound = max(parts.items(), key=lambda kv: kv[1])
    writes = sum(n for op, n in counts.items() if clients.log.writes().get(op))
    return {
        "scenario": name,
        "changes": len(plan.changes),
        "calls": counts,
        "total_calls": total,
        "read_calls": total - writes,
        "write_calls": writes,
        "wall_seconds": round(wall, 2),
        "bound": f"{bound:.2f}s" if bound else "-",
        "ratio": round(wall / bound, 2) if bound else None,
        # Within the token bucket's first second, the quotas allow it at once: round trips decide.
        "bound_by": bound_name if bound else "none: the calls fit the rate's burst",
    }


def by_reads(row: dict[str, Any], alone: dict[str, Any]) -> dict[str, Any]:
    """A row judged by its reads: at most twice those of the same plan on a store of its own."""
    limit = 2 * alone["read_calls"]
    return row | {
        "bound": f"{limit} reads",
        "ratio": round(row["read_calls"] / limit, 2),
        "bound_by": f"2 x the {alone['read_calls']} reads of {alone['scenario']!r}",
    }


Scenario = Callable[[str, Endpoint], list[dict[str, Any]]]


def fast(url: str, endpoint: Endpoint) -> list[dict[str, Any]]:
    edited = copy.deepcopy(REFERENCE)
    edited["permission_sets"][0]["managed_policies"] = ["ReadOnlyAccess", "AWSSupportAccess"]
    return [
        measure("fresh apply", url, REFERENCE, endpoint, apply=True),
        measure("no-op plan", url, REFERENCE, endpoint, apply=False),
        delegated_noop(url, endpoint),
        measure("wider plan", url, WIDER, endpoint, apply=False),
        measure("one set edited", url, edited, endpoint, apply=True),
    ]


def delegated_noop(url: str, endpoint: Endpoint) -> dict[str, Any]:
    """The no-op plan from the delegated administrator, registered first by the management account."""
    import boto3

    organizations = boto3.client(
        "organizations", endpoint_url=url, region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="x"
    )
    organizations.register_delegated_administrator(AccountId=DELEGATED, ServicePrincipal="sso.amazonaws.com")
    return measure("delegated no-op", url, REFERENCE, endpoint, apply=False, key=DELEGATED_KEY)


def seed_alone(url: str, endpoint: Endpoint) -> list[dict[str, Any]]:
    measure("seed apply", url, SEED, endpoint, apply=True)
    return [measure("seed no-op", url, SEED, endpoint, apply=False)]


def seed_crowded(url: str, endpoint: Endpoint) -> list[dict[str, Any]]:
    measure("seed apply", url, SEED, endpoint, apply=True)
    return [measure("seed, 20k users", url, SEED, endpoint, apply=False)]


def latency(url: str, endpoint: Endpoint) -> list[dict[str, Any]]:
    measure("reference apply", url, REFERENCE, endpoint, apply=True)  # set up, not timed
    return [measure("no-op, 50 ms", url, REFERENCE, endpoint, apply=False)]


def real_speed(url: str, endpoint: Endpoint) -> list[dict[str, Any]]:
    medium = organization(groups=10, users=50, permission_sets=5, accounts=15, assignments=150)
    return [
        measure("aws: fresh apply", url, medium, endpoint, apply=True),
        measure("aws: no-op plan", url, medium, endpoint, apply=False),
    ]


SUITES: dict[str, list[tuple[Endpoint, Scenario]]] = {
    "fast": [(Endpoint(200, 0.2), fast)],
    "directory": [(Endpoint(200, 0.2), seed_alone), (Endpoint(200, 0.2, directory="20000,3000"), seed_crowded)],
    "latency": [(Endpoint(200, 0.2, latency=0.05), latency)],
    "aws": [(Endpoint(20, 3.0), real_speed)],
}


def table(rows: list[dict[str, Any]]) -> str:
    head = (
        f"{'scenario':<17} {'changes':>7} {'calls':>6} {'reads':>6} {'writes':>6} "
        f"{'wall s':>7} {'bound':>10} {'ratio':>6}  bound by"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        ratio = "-" if r["ratio"] is None else f"{r['ratio']:.2f}"
        lines.append(
            f"{r['scenario']:<17} {r['changes']:>7} {r['total_calls']:>6} {r['read_calls']:>6} {r['write_calls']:>6} "
            f"{r['wall_seconds']:>7.2f} {r['bound']:>10} {ratio:>6}  {r['bound_by']}"
        )
    lines.append("")
    for r in rows:
        ops = ", ".join(f"{op.split(':')[1]} {n}" for op, n in r["calls"].items())
        lines.append(f"{r['scenario']}: {ops}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=list(SUITES), action="append", help="run only these suites")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args(argv)
    for key in [k for k in os.environ if k.startswith("AWS_")]:
        del os.environ[key]
    os.environ.update(AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull)
    rows: list[dict[str, Any]] = []
    for suite in args.only or list(SUITES):
        for endpoint, scenario in SUITES[suite]:
            proc, url = start_endpoint(endpoint)
            try:
                rows += scenario(url, endpoint)
            finally:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=60)
    alone = next((r for r in rows if r["scenario"] == "seed no-op"), None)
    rows = [by_reads(r, alone) if alone and r["scenario"] == "seed, 20k users" else r for r in rows]
    print(
        "reference organization: 20 permission sets x 3 policies, 30 groups, 200 users, 200 memberships, "
        "50 accounts, 1,000 assignments\n"
        "endpoints: 15 outstanding assignments, 3 provisionings; 200 requests/s and completions in 0.2s "
        "(ten times AWS) unless the scenario says otherwise; 1 ms per call unless 50 ms\n"
    )
    print(table(rows))
    if args.json:
        args.json.write_text(json.dumps({"rows": rows}, indent=2))
    print("\n" + json.dumps({r["scenario"]: {k: r[k] for k in ("total_calls", "wall_seconds", "bound", "ratio")}
                             for r in rows}))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
