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


def run(title: str, args: list[str], env: dict[str, str]) -> int:
    print(f"\n=== {title}\n$ provisioner {' '.join(args)}\n", flush=True)
    return subprocess.call([sys.executable, "-m", "provisioner", *args], env=env, cwd=ROOT)


def main() -> int:
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")} | {
        "AWS_ACCESS_KEY_ID": "ASIADEMO",
        "AWS_SECRET_ACCESS_KEY": "demo",
        "AWS_SESSION_TOKEN": "demo",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }
    with Endpoint(async_polls=2) as endpoint:
        print(f"local AWS endpoint (moto + realism layer): {endpoint.url}")
        common = ["--endpoint-url", endpoint.url, "--region", REGION]
        code = run(
            "Bootstrap: the console walkthrough in one command",
            common
            + [
                "bootstrap",
                "--user-name",
                "admin",
                "--email",
                "admin@example.com",
                "--given-name",
                "Admin",
                "--family-name",
                "User",
                "--display-name",
                "Admin User",
                "--yes",
            ],
            env,
        )
        if code != 0:
            print(f"demo: bootstrap exited {code}", file=sys.stderr)
            return code
        code = run(
            "Plan again from the config file: nothing to change",
            common + ["plan", "-f", str(CONFIG.relative_to(ROOT)), "--detailed-exitcode"],
            env,
        )
        if code != 0:
            print(f"demo: plan exited {code} (expected 0: no changes)", file=sys.stderr)
            return code
        writes = {
            op: n
            for op, n in endpoint.calls().items()
            if op.split(":")[1].startswith(("Create", "Attach", "Update", "Put", "Delete", "Provision"))
        }
        print(f"\nThe endpoint served {sum(endpoint.calls().values())} calls; writes: {writes}")
    print("\ndemo: done, endpoint stopped.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
