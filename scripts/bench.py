#!/usr/bin/env python3
"""Benchmark against the realism endpoint, with the AWS quotas scaled so a run is short.

    python scripts/bench.py                 # `make bench`
    python scripts/bench.py --scale 5 --completion 0.5 --json bench.json

The endpoint (a separate process: scripts/moto_endpoint.py) enforces a token bucket of
20 x SCALE requests/s per service, 15 outstanding assignment requests, 3 concurrent
provisionings, and completes asynchronous work after COMPLETION seconds. The client runs
with the same limits (its defaults are the real quotas; here they are scaled alike).

Scenarios, on the reference organization (scripts/reference_org.py):
  fresh apply     everything created
  no-op plan      nothing to change
  wider plan      the same principals on twice as many accounts (plan only: extra reads)
  one set edited  one permission set's policies changed: edit and re-provision

For each: API calls by operation, total, wall time, and the lower bound the quotas allow
((calls - burst) / TPS per service, ceil(assignments / 15) x completion, ceil(provisionings / 3) x
completion), with the ratio wall / bound.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

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


def start_endpoint(tps: float, completion: float, latency: float) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / "moto_endpoint.py"), "--tps", str(tps), "--quotas",
         "--async-seconds", str(completion), "--latency", str(latency)],
        stdout=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("endpoint: "):
        proc.kill()
        raise SystemExit(f"bench: the endpoint did not start: {line!r}")
    return proc, line.split(" ", 1)[1].strip()


def measure(name: str, url: str, doc: dict[str, Any], tps: float, completion: float, apply: bool) -> dict[str, Any]:
    import boto3

    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
    )  # fmt: skip
    settings = ClientSettings(region=REGION, endpoint_url=url, sso_admin_tps=tps, identity_store_tps=tps)
    clients = Clients(session, settings)
    # The CLI's defaults with --max-rps TPS: the poll cadence is learnt, not set.
    poll = PollSettings(min_interval=1.0 / tps)
    runner = Runner(clients, parse(doc, name), RunSettings(poll=poll, workers=4))
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
    assignments = counts.get("sso-admin:CreateAccountAssignment", 0)
    provisionings = counts.get("sso-admin:ProvisionPermissionSet", 0)
    # A token bucket starts full (one second's worth), so the first `tps` calls are free.
    parts = {f"({svc} calls - {tps:g}) / {tps:g} TPS": max(n - tps, 0) / tps
             for svc, n in by_service.items() if svc != "sts"}  # fmt: skip
    if assignments:
        parts[f"ceil({assignments} assignments / 15) x {completion:g}s"] = (
            math.ceil(assignments / quotas.MAX_OUTSTANDING_ASSIGNMENT_REQUESTS) * completion
        )
    if provisionings:
        parts[f"ceil({provisionings} provisionings / 3) x {completion:g}s"] = (
            math.ceil(provisionings / quotas.MAX_CONCURRENT_PROVISIONINGS) * completion
        )
    bound_name, bound = max(parts.items(), key=lambda kv: kv[1])
    writes = sum(n for op, n in counts.items() if clients.log.writes().get(op))
    return {
        "scenario": name,
        "changes": len(plan.changes),
        "calls": counts,
        "total_calls": sum(counts.values()),
        "read_calls": sum(counts.values()) - writes,
        "write_calls": writes,
        "provisionings": provisionings,
        "wall_seconds": round(wall, 2),
        "bound_seconds": round(bound, 2),
        "bound": bound_name,
        "ratio": round(wall / bound, 2) if bound else None,
    }


def table(rows: list[dict[str, Any]]) -> str:
    head = (
        f"{'scenario':<16} {'changes':>7} {'calls':>6} {'reads':>6} {'writes':>6} "
        f"{'wall s':>7} {'bound s':>8} {'ratio':>6}  bound"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{r['scenario']:<16} {r['changes']:>7} {r['total_calls']:>6} {r['read_calls']:>6} {r['write_calls']:>6} "
            f"{r['wall_seconds']:>7.2f} {r['bound_seconds']:>8.2f} {r['ratio'] or 0:>6.2f}  {r['bound']}"
        )
    lines.append("")
    for r in rows:
        ops = ", ".join(f"{op.split(':')[1]} {n}" for op, n in r["calls"].items())
        lines.append(f"{r['scenario']}: {ops}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=5.0, help="multiply the 20 requests/s quotas by this")
    parser.add_argument("--completion", type=float, default=0.5, help="seconds an asynchronous request takes")
    parser.add_argument("--latency", type=float, default=0.001, help="seconds the endpoint adds to each call")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args(argv)
    tps = quotas.SSO_ADMIN_TPS * args.scale
    for key in [k for k in os.environ if k.startswith("AWS_")]:
        del os.environ[key]
    os.environ.update(AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull)

    reference = organization(groups=30, users=200, permission_sets=20, accounts=50, assignments=1000)
    wider = organization(groups=30, users=200, permission_sets=20, accounts=100, assignments=2000)
    edited = copy.deepcopy(reference)
    edited["permission_sets"][0]["managed_policies"] = ["ReadOnlyAccess", "AWSSupportAccess"]

    proc, url = start_endpoint(tps, args.completion, args.latency)
    try:
        rows = [
            measure("fresh apply", url, reference, tps, args.completion, apply=True),
            measure("no-op plan", url, reference, tps, args.completion, apply=False),
            measure("wider plan", url, wider, tps, args.completion, apply=False),
            measure("one set edited", url, edited, tps, args.completion, apply=True),
        ]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    header = (
        f"reference organization: 20 permission sets x 3 policies, 30 groups, 200 users, 200 memberships, "
        f"50 accounts, 1,000 assignments\nquotas scaled x{args.scale:g}: {tps:g} requests/s per service, "
        f"15 outstanding assignments, 3 provisionings, completion {args.completion:g}s, latency {args.latency:g}s\n"
    )
    print(header)
    print(table(rows))
    document = {"scale": args.scale, "tps": tps, "completion": args.completion, "latency": args.latency, "rows": rows}
    if args.json:
        args.json.write_text(json.dumps(document, indent=2))
    print("\n" + json.dumps({r["scenario"]: {k: r[k] for k in ("total_calls", "wall_seconds", "bound_seconds", "ratio")}
                             for r in rows}))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
