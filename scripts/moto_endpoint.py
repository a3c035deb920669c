#!/usr/bin/env python3
"""A local AWS endpoint on loopback: moto in-process, with the realism layer of tests/realism.

    python scripts/moto_endpoint.py                       # fidelity only, port chosen free
    python scripts/moto_endpoint.py --port 5055 --async-seconds 2 --tps 20 --quotas
    python scripts/moto_endpoint.py --throttle-rate 0.3 --error-rate 0.05 --seed 7
    python scripts/moto_endpoint.py --member 111122223333 --caller DELEGATED=111122223333
    python scripts/moto_endpoint.py --directory 20000,3000     # a store an identity provider synced

Point the CLI at it with --endpoint-url (or AWS_ENDPOINT_URL) and any fake credentials:

    AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing \\
      provisioner --endpoint-url http://127.0.0.1:5055 --region ap-northeast-2 plan -f CONFIG

It prints `endpoint: URL` once it listens, and stops cleanly on Ctrl-C or SIGTERM. With
--calls-file it writes the calls it served, by operation, as JSON when it stops.

The data lives in one account, 123456789012: the management account, owner of the IAM
Identity Center instance. --member adds member accounts to its organization; --caller makes
the requests signed with an access key id act as one of them (AWS_ACCESS_KEY_ID=DELEGATED
above): GetCallerIdentity answers that account, and AWS refuses it what it refuses a member
account, or IAM Identity Center's delegated administrator once it is registered.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


class Endpoint:
    """moto's ThreadedMotoServer on 127.0.0.1 with the realism layer configured."""

    def __init__(self, port: int = 0, members: tuple[str, ...] = (), **realism_settings: Any) -> None:
        import logging

        from moto.server import ThreadedMotoServer

        from tests import realism
        from tests.realism import delegation

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
        realism.install()
        realism.reset()
        realism.configure(**realism_settings)
        for index, account in enumerate(members):
            delegation.add_member(account, f"member-{index + 1}")
        self.realism = realism
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)

    def start(self) -> str:
        self.server.start()
        host, port = self.server.get_host_and_port()
        self.url = f"http://{host}:{port}"
        return self.url

    def stop(self) -> None:
        self.server.stop()

    def calls(self) -> dict[str, int]:
        return dict(self.realism.STATE.calls)

    def pause_at(self, operation: str, nth: int = 1, after: bool = False) -> Any:
        """Hold the `nth` next call of `operation` until `.release()` (tests/realism.pause_at)."""
        return self.realism.pause_at(operation, nth, after)

    def __enter__(self) -> Endpoint:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: a free one)")
    parser.add_argument(
        "--async-seconds",
        type=float,
        default=0.0,
        help="seconds an asynchronous request stays IN_PROGRESS, however often it is polled (0: it ends at once)",
    )
    parser.add_argument("--tps", type=float, default=None, help="requests/s per service before ThrottlingException")
    parser.add_argument(
        "--quotas",
        action="store_true",
        help="enforce 15 outstanding assignment requests, 3 provisionings, and conflicts while provisioning",
    )
    parser.add_argument("--throttle-rate", type=float, default=0.0)
    parser.add_argument("--error-rate", type=float, default=0.0)
    parser.add_argument("--drop-rate", type=float, default=0.0, help="fraction of calls dropped after taking effect")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every call")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--calls-file", type=Path, default=None)
    parser.add_argument(
        "--member",
        action="append",
        default=[],
        metavar="ACCOUNT",
        help="a member account of the management account's organization (created if there is none); repeatable",
    )
    parser.add_argument(
        "--caller",
        action="append",
        default=[],
        metavar="KEY=ACCOUNT",
        help="requests signed with access key id KEY act as member account ACCOUNT; repeatable",
    )
    parser.add_argument(
        "--directory",
        default=None,
        metavar="USERS,GROUPS",
        help="start with an identity store of that many users and groups synced from an identity provider "
        "(tests/realism/directory.py), in --region",
    )
    parser.add_argument("--region", default="ap-northeast-2", help="the Region of --directory")
    args = parser.parse_args(argv)
    for caller in args.caller:
        if "=" not in caller:
            parser.error(f"--caller {caller}: write it KEY=ACCOUNT")
    return args


def directory_size(text: str) -> tuple[int, int]:
    """USERS,GROUPS -> (users, groups)."""
    users, _, groups = text.partition(",")
    try:
        return int(users), int(groups or 0)
    except ValueError:
        raise SystemExit(f"--directory takes USERS,GROUPS (two whole numbers), not {text!r}") from None


def settings_from(args: argparse.Namespace) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "async_seconds": args.async_seconds,
        "tps": args.tps,
        "throttle_rate": args.throttle_rate,
        "error_rate": args.error_rate,
        "drop_after_rate": args.drop_rate,
        "latency": args.latency,
        "seed": args.seed,
        "callers": dict(caller.split("=", 1) for caller in args.caller),
    }
    if args.quotas:
        settings.update(
            max_outstanding_assignments=15, max_concurrent_provisionings=3, conflict_while_provisioning=True
        )
    return settings


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    size = directory_size(args.directory) if args.directory else None
    endpoint = Endpoint(args.port, tuple(args.member), **settings_from(args))
    if size is not None:
        from tests.realism.directory import populate

        populate(*size, region=args.region)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    url = endpoint.start()
    print(f"endpoint: {url}", flush=True)
    try:
        while not stop.wait(0.2):
            pass
    finally:
        endpoint.stop()
        if args.calls_file:
            args.calls_file.write_text(json.dumps(endpoint.calls(), indent=2, sort_keys=True))
        print("endpoint stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
