#!/usr/bin/env python3
"""`make demo`: the seed's bootstrap against a local moto endpoint, then a plan with no changes.

Starts moto (with the realism layer, so assignments go IN_PROGRESS and are polled) on a free
loopback port, runs the real CLI as a separate process against it, and always stops it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from moto_endpoint import Endpoint  # noqa: E402

REGION = "ap-northeast-2"
CONFIG = ROOT / "examples" / "identity-center-admin.yaml"
WRITES = ("Create", "Attach", "Update", "Put", "Delete", "Provision")
HANDOFF = "Access portal:"  # where bootstrap's sign-in instructions begin: shown once, last


def run(title: str, args: list[str], env: dict[str, str], hold: str = "") -> tuple[int, str]:
    """Run the CLI and show its output, up to `hold` (what the demo shows once, at its end)."""
    print(f"\n=== {title}\n$ provisioner {' '.join(args)}\n", flush=True)
    proc = subprocess.run(
        [sys.executable, "-m", "provisioner", *args], env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    held = proc.stdout.find(hold) if hold else -1
    print(proc.stdout if held < 0 else proc.stdout[:held] + "(how to sign in: at the end)\n", end="", flush=True)
    return proc.returncode, proc.stdout


def main() -> int:
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")} | {
        "AWS_ACCESS_KEY_ID": "ASIADEMO",
        "AWS_SECRET_ACCESS_KEY": "demo",
        "AWS_SESSION_TOKEN": "demo",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }
    bootstrap = ["bootstrap", "--user-name", "admin", "--email", "admin@example.com", "--given-name", "Admin",
                 "--family-name", "User", "--display-name", "Admin User", "--yes"]  # fmt: skip
    with Endpoint(async_seconds=1.0) as endpoint:  # the assignment is IN_PROGRESS for 1 s
        print(f"local AWS endpoint (moto + realism layer): {endpoint.url}")
        common = ["--endpoint-url", endpoint.url, "--region", REGION]
        code, bootstrap_out = run(
            "Bootstrap: the console walkthrough in one command", common + bootstrap, env, hold=HANDOFF
        )
        if code != 0:
            print(f"demo: bootstrap exited {code}", file=sys.stderr)
            return code
        config = str(CONFIG.relative_to(ROOT))
        code, _ = run("Plan again from the config file: nothing to change",
                      common + ["plan", "-f", config, "--detailed-exitcode"], env)  # fmt: skip
        if code != 0:
            print(f"demo: plan exited {code} (expected 0: no changes)", file=sys.stderr)
            return code
        calls = endpoint.calls()
        writes = {op: n for op, n in calls.items() if op.split(":")[1].startswith(WRITES)}
        print(f"\nThe endpoint served {sum(calls.values())} calls; writes: {writes}")
    print("demo: endpoint stopped.")
    # End with what a person does next: sign in at the portal, or with the AWS CLI.
    handoff = bootstrap_out[bootstrap_out.find(HANDOFF) :]
    print(f"\n=== Sign in with temporary credentials\n\n{handoff}", end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
