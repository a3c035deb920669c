#!/usr/bin/env python3
"""A local AWS endpoint on loopback: moto in-process, with the realism layer of tests/realism.

    python scripts/moto_endpoint.py                       # fidelity only, port chosen free
    python scripts/moto_endpoint.py --port 5055 --async-seconds 2 --tps 20 --quotas
    python scripts/moto_endpoint.py --throttle-rate 0.3 --error-rate 0.05 --seed 7
    python scripts/moto_endpoint.py --member 111122223333 --caller DELEGATED=111122223333
    python scripts/moto_endpoint.py --directory 20000,3000     # a store an identity provider synced
    python scripts/moto_endpoint.py --root-without-mfa         # doctor's root MFA check FAILs
    python scripts/moto_endpoint.py --policy 123456789012:/finance/CostReportsReader
    python scripts/moto_endpoint.py --standalone               # no organization: an account instance

Point the CLI at it with --endpoint-url (or AWS_ENDPOINT_URL) and any fake credentials:

    AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing \\
      provisioner --endpoint-url http://127.0.0.1:5055 --region ap-northeast-2 plan -f CONFIG

It prints `endpoint: URL` once it listens, and stops cleanly on Ctrl-C or SIGTERM. A port it
cannot listen on (another program has it) is an error naming the port, exit 1. With
--calls-file it writes the calls it served, by operation, as JSON when it stops.

The data lives in one account, 123456789012: the management account of an organization
(members: tests/realism/organizations.py MEMBERS), owner of the IAM Identity Center instance
(--standalone: no organization, so the instance is an account instance). Its root user has
MFA and no access keys, as a well-kept account's (--root-without-mfa takes the MFA away).
--member adds more member accounts to its organization; --caller makes the requests signed
with an access key id act as one of them (AWS_ACCESS_KEY_ID=DELEGATED above):
GetCallerIdentity answers that account, and AWS refuses it what it refuses a member account,
or IAM Identity Center's delegated administrator once it is registered. --policy creates a
customer managed policy in an account's IAM, as an operator prepares the accounts a
permission set that references it is assigned on: without it, the assignment there FAILs, as
on AWS.
"""

from __future__ import annotations

import argparse
import errno
import json
import math
import signal
import socket
import sys
import threading
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


HOST = "127.0.0.1"


class PortUnavailable(Exception):
    """The endpoint cannot listen on the port it was given."""

    def __init__(self, port: int, error: OSError) -> None:
        if error.errno == errno.EADDRINUSE:
            problem = "is in use by another program (an endpoint started earlier?): stop it, or"
        elif error.errno == errno.EACCES:
            problem = "may not be used by this user (ports below 1024 need privileges):"
        else:
            problem = f"cannot be listened on ({error.strerror}):"
        super().__init__(f"port {port} on {HOST} {problem} choose another port with --port (--port 0 takes a free one)")


def listen(port: int) -> socket.socket:
    """A socket listening on HOST:port, or PortUnavailable.

    Bound here, in the caller's thread: moto's ThreadedMotoServer binds in its server thread,
    where werkzeug answers a taken port with sys.exit, which ends only that thread and leaves
    the caller waiting for a server that never comes (nor for SIGINT or SIGTERM)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # As werkzeug does: a port a stopped endpoint left in TIME_WAIT is free to take again.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((HOST, port))
        sock.listen(socket.SOMAXCONN)
    except OSError as error:
        sock.close()
        raise PortUnavailable(port, error) from None
    return sock


class Endpoint:
    """moto's server (as its ThreadedMotoServer runs it) on 127.0.0.1, with the realism layer
    configured."""

    def __init__(
        self,
        port: int = 0,
        members: tuple[str, ...] = (),
        policies: tuple[str, ...] = (),
        standalone: bool = False,
        **realism_settings: Any,
    ) -> None:
        """`policies`: customer managed policies to create, each "ACCOUNT:/path/Name"."""
        import logging

        from tests import realism
        from tests.realism import delegation, organizations
        from tests.realism.iam_policies import create_customer_policy

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
        realism.install()
        realism.reset()
        realism.configure(**realism_settings)
        if not standalone:
            organizations.default_organization()
        for index, account in enumerate(members):
            delegation.add_member(account, f"member-{index + 1}")
        for policy in policies:
            account, _, path_and_name = policy.partition(":")
            create_customer_policy(account, path_and_name)
        self.realism = realism
        self.port = port
        self.server: Any = None
        self.thread: threading.Thread | None = None

    def start(self) -> str:
        """Listen, serve on a thread of its own, and return the URL; PortUnavailable if the port
        cannot be had."""
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
        from werkzeug.serving import make_server

        listener = listen(self.port)
        try:
            app = DomainDispatcherApplication(create_backend_app)
            self.server = make_server(
                HOST, self.port, app, threaded=True, request_handler=MotoRequestHandler, fd=listener.fileno()
            )
        finally:
            listener.close()  # the server listens on its own duplicate of the socket
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        host, port = self.server.server_address[:2]
        self.url = f"http://{host}:{port}"
        return self.url

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
        if self.thread is not None:
            self.thread.join()

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
    parser.add_argument("--port", type=port_number, default=0, help="port on 127.0.0.1 (0: a free one)")
    parser.add_argument(
        "--async-seconds",
        type=seconds,
        default=0.0,
        help="seconds an asynchronous request stays IN_PROGRESS, however often it is polled (0: it ends at once)",
    )
    parser.add_argument("--tps", type=positive, default=None, help="requests/s per service before ThrottlingException")
    parser.add_argument(
        "--quotas",
        action="store_true",
        help="enforce 15 outstanding assignment requests, 3 provisionings, and conflicts while provisioning",
    )
    parser.add_argument("--throttle-rate", type=fraction, default=0.0, help="fraction of calls throttled")
    parser.add_argument("--error-rate", type=fraction, default=0.0, help="fraction of calls answered with a 500")
    parser.add_argument("--drop-rate", type=fraction, default=0.0, help="fraction of calls dropped after taking effect")
    parser.add_argument("--latency", type=seconds, default=0.0, help="seconds added to every call")
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
        "--policy",
        action="append",
        default=[],
        metavar="ACCOUNT:/PATH/NAME",
        help="a customer managed policy to create in that account's IAM (a permission set that references "
        "one is assigned there only once it exists); repeatable",
    )
    parser.add_argument(
        "--standalone",
        action="store_true",
        help="no organization: the account is standalone and its instance an account instance "
        "(default: the account manages an organization with the members tests/realism/organizations.py names)",
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
    parser.add_argument(
        "--root-without-mfa",
        action="store_true",
        help="the account's root user has no MFA device, so doctor's root MFA check FAILs "
        "(default: it has one, as in a well-kept account)",
    )
    args = parser.parse_args(argv)
    if args.standalone and args.member:
        parser.error("--member adds accounts to the organization, and --standalone has none: give one or the other")
    for caller in args.caller:
        if "=" not in caller:
            parser.error(f"--caller {caller}: write it KEY=ACCOUNT")
    for policy in args.policy:
        if problem := policy_problem(policy):
            parser.error(f"--policy {policy}: {problem}")
    return args


def policy_problem(text: str) -> str | None:
    """What is wrong with a --policy value (ACCOUNT:/PATH/NAME), or None."""
    account, colon, path_and_name = text.partition(":")
    if not colon:
        return "write it ACCOUNT:/PATH/NAME, e.g. 123456789012:/finance/CostReportsReader"
    if not (account.isdigit() and len(account) == 12):
        return f"ACCOUNT is 12 digits, not {account!r}"
    if not path_and_name.startswith("/"):
        return "the path starts with / (a policy without a path is /NAME)"
    if path_and_name.endswith("/"):
        return "the policy's name comes last, after the path: /PATH/NAME"
    return None


def _number(text: str, low: float, high: float, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not low <= value <= high:  # also NaN
        raise argparse.ArgumentTypeError(f"{text!r} is not {what}")
    return value


def seconds(text: str) -> float:
    """A duration in seconds, 0 or more."""
    return _number(text, 0.0, math.inf, "a number of seconds (0 or more)")


def positive(text: str) -> float:
    """A rate above 0."""
    return _number(text, math.ulp(0.0), math.inf, "a number above 0")


def fraction(text: str) -> float:
    """A fraction of the calls, from 0 to 1."""
    return _number(text, 0.0, 1.0, "a fraction from 0 to 1 (0.05: one call in twenty)")


def port_number(text: str) -> int:
    """--port's value: a whole number from 0 to 65535."""
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port: give a number from 0 to 65535 (0: a free one)")
    return int(text)


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
        "root_mfa": not args.root_without_mfa,
    }
    if args.quotas:
        settings.update(
            max_outstanding_assignments=15, max_concurrent_provisionings=3, conflict_while_provisioning=True
        )
    return settings


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    size = directory_size(args.directory) if args.directory else None
    endpoint = Endpoint(args.port, tuple(args.member), tuple(args.policy), args.standalone, **settings_from(args))
    if size is not None:
        from tests.realism.directory import populate

        populate(*size, region=args.region)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        url = endpoint.start()
    except PortUnavailable as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
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
