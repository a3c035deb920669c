"""A realism layer over moto: what real IAM Identity Center does and moto (5.1/5.2) does not.

`install()` patches moto's sso-admin and identitystore handlers once per process; the
patches work in-process (`mock_aws`) and in moto's server (scripts/moto_endpoint.py), since
both dispatch through the same response classes. What the layer does is set per test with
`configure(...)` and cleared with `reset()`:

- fidelity (always on): the operations moto lacks (provisioning and assignment status,
  tags, permissions boundary, UpdateUser/UpdateGroup, DescribeInstance), AWS's refusals
  (duplicate permission set names, duplicate memberships, names and values outside the
  service model's length and pattern), moto's bugs (UpdatePermissionSet
  resetting SessionDuration, path-qualified managed policies, provisioning on assignment),
  and ExternalIds on the users and groups `mark_external` hands to an identity provider;
- asynchronous statuses: assignments and provisionings answer IN_PROGRESS, then SUCCEEDED
  or a scripted FAILED once `async_seconds` have passed on the layer's clock (however often
  they were polled: AWS finishes them in its own time), so a test on a fake clock sees the
  poll cadence; each takes effect on the instance, in the account and Region, it was made in,
  whichever call finds it due, and status calls see only their own instance's requests;
  a FAILED provisioning leaves the set stale where it failed; an assignment or provisioning
  to an account whose IAM lacks a customer managed policy the set references (or its
  customer managed permissions boundary) ends FAILED;
- quotas: a token bucket per service, 15 outstanding assignment requests, 3 concurrent
  provisionings, ConflictException for a write to a set that is being provisioned;
- faults: a fraction of calls throttled, answered 500 (in the service's JSON), or dropped
  (before or after the write took effect; in the endpoint the connection closes with no
  answer), from a seeded random generator so a failing run can be replayed;
  some operations can be throttled harder than the rest (`throttle_operations`);
- unknown and unimplemented operations (of every moto service) answered as AWS answers an
  operation it does not serve: a 400 error in the request's protocol, never moto's HTML 500.
- access: AccessDeniedException for the calls a predicate over the operation and the
  request denies, as IAM answers a caller whose policy does not allow them on that
  resource (tag-scoped delegation, delegated administrators).
- identity store uniqueness: user names, emails (case-insensitively) and group names are
  refused when taken; conflicts may come without a Reason, and the first N calls of an
  operation may answer CONCURRENT_MODIFICATION with a RetryAfterSeconds.
- users' attributes and the instance's ABAC configuration: UpdateUser's attribute paths and
  the enterprise extension (user_attributes.py), and the access control attribute operations
  moto lacks (access_control.py);
- callers: requests that act as a member account (`caller_account`, or `callers` by access
  key), answered as AWS answers a delegated administrator of IAM Identity Center or a member
  account that is not one (tests/realism/delegation.py).
- pauses: `pause_at(operation, n)` holds the n-th next call of an operation until the test
  releases it, a reproducible point to interrupt or kill a run at (no sleep loops racing
  the server's threads).
- the call log: every call to every service moto serves (sts, iam and organizations too)
  is counted by operation (`STATE.calls`) and logged with the layer's clock (`STATE.log`);
  `STATE.writes()` counts those that change something, by the access level AWS documents
  (`is_write`).

Each behaviour is tested directly in tests/test_realism.py.
"""

from __future__ import annotations

import json
import random
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from . import access_control

# What counts as a write is AWS's classification, not the product's: the Service Authorization
# Reference gives each action an access level (List, Read, Write, Permissions management,
# Tagging; https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsiamidentitycenter.html,
# list_awsidentitystore.html, list_awsorganizations.html, list_awssecuritytokenservice.html,
# list_awsidentityandaccessmanagementiam.html). In those pages every List or Read action of these
# services is named Describe*, Get*, List* or Is* (IsMemberInGroups), except IAM's policy
# simulation and credential report, which are Read too. Any other operation counts as a
# write, also one this table does not know: harsh, so a "zero writes" test cannot miss one.
READ_VERBS = ("Describe", "Get", "List", "Is")
READ_OPERATIONS = frozenset({"iam:SimulatePrincipalPolicy", "iam:SimulateCustomPolicy", "iam:GenerateCredentialReport"})


def is_write(call: str) -> bool:
    """Whether a call ("service:Operation") may change something (access level Write,
    Permissions management or Tagging), as opposed to List or Read."""
    service, _, operation = call.partition(":")
    if call in READ_OPERATIONS:
        return False
    verb = next((v for v in READ_VERBS if operation.startswith(v)), None)
    # "Is" must begin a word: IsMemberInGroups is a read, a hypothetical "Issue..." is not.
    return verb is None or not operation[len(verb) : len(verb) + 1].isupper()



@dataclass
class Settings:
    """What the layer does; the defaults are plain fidelity (moto plus what it lacks)."""

    # Seconds an asynchronous request stays IN_PROGRESS, on `clock` (0: it ends at once).
    async_seconds: float = 0.0
    fail_assignment: Callable[[dict[str, str]], str | None] | None = None
    fail_provisioning: Callable[[str], str | None] | None = None
    # The access control attributes -> a StatusReason to end their creation CREATION_FAILED.
    fail_access_control: Callable[[list[dict[str, Any]]], str | None] | None = None
    tps: float | None = None
    max_outstanding_assignments: int | None = None
    max_concurrent_provisionings: int | None = None
    conflict_while_provisioning: bool = False
    throttle_rate: float = 0.0
    # Operation -> its own throttle rate, instead of throttle_rate. The quota is collective
    # (20 TPS for the account access API; reads can be raised by a support case, writes not:
    # https://docs.aws.amazon.com/IAM/latest/UserGuide/aam-quotas.html) and AWS does not say
    # how it shares it out; runs that poll many requests see the status reads throttled far
    # more than the rest (hashicorp/terraform-provider-aws#25552, #35646).
    throttle_operations: dict[str, float] = field(default_factory=dict)
    error_rate: float = 0.0
    drop_before_rate: float = 0.0
    drop_after_rate: float = 0.0
    latency: float = 0.0
    refuse: dict[str, tuple[str, str]] = field(default_factory=dict)  # Operation -> (code, message)
    # (Operation, request parameters) -> True to answer AccessDeniedException; see `unless_tagged`.
    deny: Callable[[str, dict[str, Any]], bool] | None = None
    # identitystore's ConflictException.Reason "is not included" for non-KMS errors (botocore
    # identitystore model, ConflictException.Reason): when set, no conflict carries a Reason.
    conflict_without_reason: bool = False
    # Operation -> how many of its first calls answer ConflictException CONCURRENT_MODIFICATION
    # ("the requested resource was being concurrently modified by another request").
    concurrent_modification: dict[str, int] = field(default_factory=dict)
    # Sent with those answers. The model declares RetryAfterSeconds on ThrottlingException and
    # InternalServerException only (so botocore drops it here); modelled harshly as sent. Also
    # sent with identitystore's throttling, where the model declares it.
    retry_after_seconds: int | None = None
    # ListAccountAssignmentsForPrincipal for a USER also answers the rows of the user's
    # groups, each naming its group. The API reference says each row carries its own
    # PrincipalId and PrincipalType (AccountAssignmentForPrincipal) and is silent on whether
    # group rows come back: this is the harsher reading, for the code to be right either way.
    user_query_returns_group_rows: bool = False
    # Seconds AWS takes to remove a set from an account once its last assignment there is
    # deleted (None: as long as any asynchronous request).
    removal_seconds: float | None = None
    # The account requests act as, where it is not the one moto keeps the data in (the
    # management account): every request's, or by the access key id that signed it.
    caller_account: str | None = None
    callers: dict[str, str] = field(default_factory=dict)
    # Whether the root user has an MFA device: IAM GetAccountSummary's AccountMFAEnabled, 1
    # when it has one (IAM API Reference, GetAccountSummary). moto always answers 0 (it has no
    # way to give root a device); the local endpoint sets this unless --root-without-mfa.
    root_mfa: bool = False
    seed: int = 0
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep


@dataclass(frozen=True)
class Origin:
    """Where a request was made: the account and Region (moto's backend) its effect lands in,
    whichever call later finds it due. It has the attributes of a moto response that settling
    a request reads, so it stands in for one."""

    ssoadmin_backend: Any
    current_account: str
    partition: str

    @classmethod
    def of(cls, resp: Any) -> Origin:
        return cls(resp.ssoadmin_backend, resp.current_account, resp.partition)


@dataclass
class Request:
    kind: str  # assignment-create, assignment-delete, deprovision, provisioning, access-control
    request_id: str
    payload: dict[str, Any]
    created: float
    origin: Origin
    status: str = "IN_PROGRESS"
    failure: str | None = None

    def made_on(self, instance_arn: str | None) -> bool:
        """Whether the request was made on that instance. Every status call names one (a required
        InstanceArn: botocore sso-admin model); what it answers for another instance's request
        the docs do not say: modelled harshly, it does not see it."""
        return self.payload.get("InstanceArn") == instance_arn


@dataclass
class Pause:
    """Holds the `nth` call of `operation` (`service:Operation`) from its setting until released.

    `reached` is set when that call arrives. Then `action`, if given, runs instead of waiting
    (for in-process runs on one thread, which would wait for themselves); otherwise the call
    waits for `release()`, at most `limit` seconds so a failed test never hangs. With `after`,
    the call takes effect first and only its reply is held. `over` is set when the hold ends
    (released, or the limit reached: then `timed_out`).
    """

    operation: str
    nth: int
    after: bool = False
    action: Callable[[], None] | None = None
    limit: float = 120.0
    reached: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)
    over: threading.Event = field(default_factory=threading.Event)
    timed_out: bool = False
    seen: int = 0  # calls of `operation` since the pause was set

    def release(self) -> None:
        self.released.set()

    def held(self) -> bool:
        """Whether the call has arrived and is still held."""
        return self.reached.is_set() and not self.over.is_set()

    def hold(self) -> None:
        self.reached.set()
        try:
            if self.action is not None:
                self.action()
            else:
                self.timed_out = not self.released.wait(self.limit)
        finally:
            self.over.set()


@dataclass
class State:
    settings: Settings = field(default_factory=Settings)
    requests: dict[str, Request] = field(default_factory=dict)
    # Those of `requests` still IN_PROGRESS: every call looks at them, not at all ever made.
    pending: dict[str, Request] = field(default_factory=dict)
    calls: Counter[str] = field(default_factory=Counter)
    log: list[tuple[float, str]] = field(default_factory=list)  # (clock, "service:Operation") of every call
    # The most asynchronous requests ever IN_PROGRESS at once: "assignment" (creations and
    # deletions, which share the quota) and "provisioning".
    peak: Counter[str] = field(default_factory=Counter)
    pauses: list[Pause] = field(default_factory=list)
    tags: dict[str, dict[str, str]] = field(default_factory=dict)
    boundaries: dict[str, dict[str, Any]] = field(default_factory=dict)
    external: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    extensions: dict[str, dict[str, Any]] = field(default_factory=dict)  # user id -> {extension: document}
    access_control: dict[str, Any] = field(default_factory=dict)  # instance ARN -> access_control.Configuration
    buckets: dict[str, list[float]] = field(default_factory=dict)
    modified: Counter[str] = field(default_factory=Counter)  # CONCURRENT_MODIFICATION answers given
    rng: random.Random = field(default_factory=random.Random)
    lock: threading.RLock = field(default_factory=threading.RLock)

    def writes(self) -> int:
        """Write calls received, of every service (see `is_write`)."""
        return sum(n for call, n in self.calls.items() if is_write(call))

    def times(self, call: str) -> list[float]:
        """When each call of `call` ("sso-admin:ListAccountAssignmentCreationStatus") arrived."""
        return [t for t, logged in self.log if logged == call]


STATE = State()
_installed = False


def configure(**kwargs: Any) -> Settings:
    """Replace the settings (unnamed ones return to their defaults)."""
    settings = Settings(**kwargs)
    with STATE.lock:
        STATE.settings = settings
        STATE.rng = random.Random(settings.seed)
        STATE.buckets.clear()
        STATE.modified.clear()
    return settings


def reset() -> None:
    """Forget every request, tag, boundary, pause and counted call; settings back to defaults."""
    with STATE.lock:
        for pause in STATE.pauses:
            pause.release()
        STATE.pauses.clear()
        STATE.requests.clear()
        STATE.pending.clear()
        STATE.calls.clear()
        STATE.log.clear()
        STATE.peak.clear()
        STATE.tags.clear()
        STATE.boundaries.clear()
        STATE.external.clear()
        STATE.extensions.clear()
        STATE.access_control.clear()
    configure()


def pause_at(
    operation: str,
    nth: int = 1,
    after: bool = False,
    action: Callable[[], None] | None = None,
    limit: float = 120.0,
) -> Pause:
    """Hold the `nth` call of `operation` ("sso-admin:CreateAccountAssignment") from now on.

    In the endpoint (scripts/moto_endpoint.py) the other calls go on meanwhile, on the
    server's other threads. Typical use: `p = pause_at(op, 3)`, start the run,
    `p.reached.wait(60)`, interrupt or kill it, then `p.release()`.
    """
    pause = Pause(operation, nth, after, action, limit)
    with STATE.lock:
        STATE.pauses.append(pause)
    return pause


def _paused(key: str, call: Callable[[], Any]) -> Any:
    """Run one call, held before or after it as a pause on `key` says."""
    pause = None
    with STATE.lock:
        for candidate in STATE.pauses:
            if candidate.operation == key:
                candidate.seen += 1
                if candidate.seen == candidate.nth:
                    pause = candidate
    # Held outside the lock: the other calls go on meanwhile.
    if pause is not None and not pause.after:
        pause.hold()
    result = call()
    if pause is not None and pause.after:
        pause.hold()
    return result


# -- helpers --------------------------------------------------------------------------------
class _Error(Exception):
    def __init__(
        self, code: str, message: str, status: int = 400, reason: str | None = None, retry_after: int | None = None
    ):
        self.code, self.message, self.status, self.reason = code, message, status, reason
        self.retry_after = retry_after


def _error_response(err: _Error) -> tuple[int, dict[str, Any], str]:
    body: dict[str, Any] = {"__type": err.code, "Message": err.message, "message": err.message}
    if err.reason and not (err.code == "ConflictException" and STATE.settings.conflict_without_reason):
        body["Reason"] = err.reason
    if err.retry_after is not None:
        body["RetryAfterSeconds"] = err.retry_after
    # In the services' own protocol (awsJson1_1, botocore sso-admin and identitystore models),
    # a short JSON body, whatever the status.
    headers = {"status": err.status, "x-amzn-ErrorType": err.code, "Content-Type": "application/x-amz-json-1.1"}
    return err.status, headers, json.dumps(body)


def _sso_backend(resp: Any) -> Any:
    return resp.ssoadmin_backend


def _find_set(resp: Any, arn: str) -> Any:
    backend = _sso_backend(resp)
    for ps in backend.permission_sets:
        if ps.permission_set_arn == arn:
            return ps
    raise _Error("ResourceNotFoundException", f"Could not find PermissionSet with id {arn.split('/')[-1]}")


def _params(resp: Any) -> dict[str, Any]:
    return json.loads(resp.body or "{}")


def _done(req: Request) -> bool:
    """Whether AWS has finished the request: by time alone, never by how often it was looked at."""
    s = STATE.settings
    seconds = s.removal_seconds if req.kind == "deprovision" and s.removal_seconds is not None else s.async_seconds
    return s.clock() - req.created >= seconds


def _async() -> bool:
    return STATE.settings.async_seconds > 0


def _started(req: Request, quota: str) -> None:
    """Record a new request, and the most ever IN_PROGRESS at once under its quota."""
    STATE.requests[req.request_id] = STATE.pending[req.request_id] = req
    STATE.peak[quota] = max(STATE.peak[quota], len(_in_progress(quota)))


def _in_progress(kind_prefix: str) -> list[Request]:
    return [r for r in STATE.pending.values() if r.kind.startswith(kind_prefix) and r.status == "IN_PROGRESS"]


def _ended(req: Request, status: str, failure: str | None = None) -> None:
    req.status, req.failure = status, failure
    STATE.pending.pop(req.request_id, None)


def _settle(req: Request) -> None:
    """Finish a request whose time has come: apply its effect, in the account and Region it
    was made in, or record its failure."""
    if req.status != "IN_PROGRESS" or not _done(req):
        return
    s, where = STATE.settings, req.origin
    if req.kind == "assignment-create":
        reason = s.fail_assignment(req.payload) if s.fail_assignment else None
        reason = reason or _outside_organization(where, req.payload["TargetId"])
        reason = reason or _unreachable(where, [req.payload["TargetId"]])
        reason = reason or _missing_customer_policies(where, req.payload["PermissionSetArn"], req.payload["TargetId"])
        if reason:
            _ended(req, "FAILED", reason)
            return
        _create_assignment(where, req.payload)
    elif req.kind == "assignment-delete":
        _delete_assignment(where, req.payload)
    elif req.kind == "deprovision":
        _deprovisioned(where, req.payload)
    elif req.kind == "provisioning":
        reason = s.fail_provisioning(req.payload["PermissionSetArn"]) if s.fail_provisioning else None
        if reason:
            _ended(req, "FAILED", reason)
            return
        reason = _provisioned_to(where, req.payload)
        if reason:
            _ended(req, "FAILED", reason)
            return
    _ended(req, "SUCCEEDED")


def _unreachable(resp: Any, accounts: list[str]) -> str | None:
    """The failure of provisioning to accounts that are not ACTIVE (SUSPENDED, PENDING_CLOSURE):
    Identity Center keeps listing them and cannot reach them. Reason as reported in
    aws-samples/aws-identitycenter-codepipeline-auto-assignment#31."""
    from .organizations import account_state

    for account in accounts:
        if account_state(resp.current_account, account, resp.partition) != "ACTIVE":
            return (
                "AWS SSO is unable to complete your request at this time. Obtaining permissions to manage "
                f"your AWS account '{account}' takes longer than usual. Please try again in a few minutes. "
                "If this problem continues, contact AWS Support."
            )
    return None


def _outside_organization(resp: Any, account: str) -> str | None:
    """The failure of an assignment on an account the instance cannot reach: one that is not in
    the organization, or, without an organization, any account but the instance's own. AWS takes
    the request and fails it later (the API reference: CreateAccountAssignment "is asynchronous";
    its status carries a FailureReason); the reason's wording is not documented, so it is the
    layer's own, in AWS's style."""
    from .organizations import in_organization

    if in_organization(resp.current_account, account, resp.partition):
        return None
    return (
        f"Unable to assign permissions to AWS account '{account}': the account is not a member of the "
        "organization of this IAM Identity Center instance."
    )


def _missing_customer_policies(resp: Any, arn: str, account: str) -> str | None:
    """The failure of putting the set's role in an account whose IAM lacks a customer managed
    policy the set references (as a policy or as its permissions boundary).

    The user guide ("Use IAM policies in permission sets", howtocmp.html): such policies must
    be created "in advance in each account where you want to assign your permission set", and
    "IAM Identity Center fails to assign the permission set if the policy doesn't exist in your
    member account"; provisioning ends FAILED too (aws-samples/aws-iam-identity-center-pipeline#5,
    ministryofjustice/modernisation-platform#3842). The reason's wording is not documented: it
    is the layer's own, in AWS's style. Checked on every assignment, also where the set is
    already provisioned: the harsher reading, as AWS does not say whether it rebuilds the role."""
    from .iam_policies import missing_customer_policies

    try:
        ps = _find_set(resp, arn)
    except _Error:
        return None
    references = [(policy.path, policy.name) for policy in ps.customer_managed_policies]
    boundary = STATE.boundaries.get(arn, {}).get("CustomerManagedPolicyReference")
    if boundary:
        references.append((boundary.get("Path") or "/", boundary["Name"]))
    missing = missing_customer_policies(account, references, resp.partition)
    if not missing:
        return None
    return (
        f"Unable to provision the permission set to AWS account '{account}': the customer managed "
        f"policy '{missing[0]}' it references does not exist in that account. Create it there, or "
        "remove the reference from the permission set."
    )


def _provisioned_to(resp: Any, p: dict[str, Any]) -> str | None:
    """A provisioning updates the set in each ACTIVE target account that has the customer
    managed policies it references; the others stay stale and fail the request."""
    try:
        ps = _find_set(resp, p["PermissionSetArn"])
    except _Error:
        return None
    arn, targets = p["PermissionSetArn"], p["Targets"]
    failures = {a: _unreachable(resp, [a]) or _missing_customer_policies(resp, arn, a) for a in targets}
    _stale(ps).difference_update(a for a, failure in failures.items() if not failure)
    return next((failure for failure in failures.values() if failure), None)


def _provisioned(ps: Any) -> set[str]:
    """Accounts a set is provisioned to (moto does not track them)."""
    if not hasattr(ps, "_accounts"):
        ps._accounts = set()
    return ps._accounts


def _stale(ps: Any) -> set[str]:
    """Accounts where the set is provisioned in an older version than its latest edit."""
    if not hasattr(ps, "_stale_accounts"):
        ps._stale_accounts = set()
    return ps._stale_accounts


def _assignment_key(p: dict[str, Any]) -> tuple[str, ...]:
    return (p["InstanceArn"], p["TargetId"], p["PermissionSetArn"], p["PrincipalType"], p["PrincipalId"])


def _create_assignment(resp: Any, p: dict[str, Any]) -> None:
    backend = _sso_backend(resp)
    ps = _find_set(resp, p["PermissionSetArn"])  # before any change: nothing half done if it fails
    for a in backend.account_assignments:
        if (a.instance_arn, a.target_id, a.permission_set_arn, a.principal_type, a.principal_id) == _assignment_key(p):
            return  # AWS keeps one assignment however often it is requested
    backend.create_account_assignment(
        instance_arn=p["InstanceArn"],
        target_id=p["TargetId"],
        target_type=p.get("TargetType", "AWS_ACCOUNT"),
        permission_set_arn=p["PermissionSetArn"],
        principal_type=p["PrincipalType"],
        principal_id=p["PrincipalId"],
    )
    # A first assignment provisions the set to that account (moto forgets this).
    _provisioned(ps).add(p["TargetId"])


def _delete_assignment(resp: Any, p: dict[str, Any]) -> None:
    backend = _sso_backend(resp)
    for a in list(backend.account_assignments):
        if (a.instance_arn, a.target_id, a.permission_set_arn, a.principal_type, a.principal_id) == _assignment_key(p):
            backend.account_assignments.remove(a)
    # With its last assignment there gone, the set is removed from the account (its role is
    # deleted), in its own time: hashicorp/terraform-provider-aws#33337 and #35158 see the set
    # "not found in AWS account" once its assignments are deleted.
    arn, account = p["PermissionSetArn"], p["TargetId"]
    if not any(a.permission_set_arn == arn and a.target_id == account for a in backend.account_assignments):
        removal = {"PermissionSetArn": arn, "AccountId": account}
        req = Request("deprovision", str(uuid.uuid4()), removal, STATE.settings.clock(), Origin.of(resp))
        STATE.requests[req.request_id] = STATE.pending[req.request_id] = req
        _settle(req)


def _deprovisioned(resp: Any, p: dict[str, Any]) -> None:
    """The set is no longer on the account: ListAccountsForProvisionedPermissionSet drops it."""
    try:
        ps = _find_set(resp, p["PermissionSetArn"])
    except _Error:
        return
    _provisioned(ps).discard(p["AccountId"])
    _stale(ps).discard(p["AccountId"])


def _poll_removals(arn: str) -> None:
    """A look at a set (listing its accounts, trying to delete it) sees the removals that are done."""
    for req in _in_progress("deprovision"):
        if req.payload["PermissionSetArn"] == arn:
            _settle(req)


def _delete_permission_set(resp: Any, original: Callable[[], str]) -> str:
    """DeletePermissionSet is refused while the set has assignments (declared anywhere or
    not), while requests on them are running, and while it is still being removed from
    accounts: hashicorp/terraform-provider-aws#26757 (ConflictException), and
    aws-samples/aws-iam-identity-center-extensions#89 ("while waiting for accounts to be
    deprovisioned (which can take minutes ...) trying to delete the permission set won't
    work"); the user guide (howtodeletepermissionset) says to remove it from every account first.
    moto deletes it and leaves its assignments behind."""
    arn = _params(resp)["PermissionSetArn"]
    _find_set(resp, arn)
    _poll_removals(arn)
    pending = [r for r in _in_progress("") if r.payload.get("PermissionSetArn") == arn and r.kind != "provisioning"]
    if pending or any(a.permission_set_arn == arn for a in _sso_backend(resp).account_assignments):
        raise _Error("ConflictException", "Could not delete because the permission set is assigned in accounts")
    body = original()
    STATE.tags.pop(arn, None)
    STATE.boundaries.pop(arn, None)
    return body


def _status_json(req: Request, extra: dict[str, Any]) -> dict[str, Any]:
    out = {"Status": req.status, "RequestId": req.request_id, "CreatedDate": req.created, **extra}
    if req.failure:
        out["FailureReason"] = req.failure
    return out


def _assignment_status(req: Request) -> dict[str, Any]:
    p = req.payload
    return _status_json(
        req,
        {
            "TargetId": p["TargetId"],
            "TargetType": p.get("TargetType", "AWS_ACCOUNT"),
            "PermissionSetArn": p["PermissionSetArn"],
            "PrincipalType": p["PrincipalType"],
            "PrincipalId": p["PrincipalId"],
        },
    )


def _tick() -> None:
    """Let time-bound requests finish even if nobody polls them (AWS does not wait for us),
    each where it was made, whatever the call that finds them due."""
    for req in _in_progress(""):
        _settle(req)


def _guard_provisioning(arn: str) -> None:
    _tick()
    if STATE.settings.conflict_while_provisioning and any(
        r.payload.get("PermissionSetArn") == arn for r in _in_progress("provisioning")
    ):
        raise _Error("ConflictException", "The permission set is being provisioned; try again later")


# -- sso-admin operations -------------------------------------------------------------------
def _create_account_assignment(resp: Any) -> str:
    p = _params(resp)
    s = STATE.settings
    _find_set(resp, p["PermissionSetArn"])
    _guard_provisioning(p["PermissionSetArn"])
    if s.max_outstanding_assignments is not None and len(_in_progress("assignment")) >= s.max_outstanding_assignments:
        raise _Error("ThrottlingException", "There are too many requests processing. Please try again later.")
    req = Request("assignment-create", str(uuid.uuid4()), p, s.clock(), Origin.of(resp))
    _started(req, "assignment")
    if not _async():
        _settle(req)
    return json.dumps({"AccountAssignmentCreationStatus": _assignment_status(req)})


def _delete_account_assignment(resp: Any) -> str:
    p = _params(resp)
    s = STATE.settings
    _tick()
    if s.max_outstanding_assignments is not None and len(_in_progress("assignment")) >= s.max_outstanding_assignments:
        raise _Error("ThrottlingException", "There are too many requests processing. Please try again later.")
    req = Request("assignment-delete", str(uuid.uuid4()), p, s.clock(), Origin.of(resp))
    _started(req, "assignment")
    if not _async():
        _settle(req)
    return json.dumps({"AccountAssignmentDeletionStatus": _assignment_status(req)})


def _describe_request(resp: Any, kind: str, id_param: str, key: str) -> str:
    p = _params(resp)
    req = STATE.requests.get(p.get(id_param, ""))
    if req is None or req.kind != kind or not req.made_on(p.get("InstanceArn")):
        raise _Error("ResourceNotFoundException", f"Request {p.get(id_param)} not found")
    _settle(req)
    body = (
        _assignment_status(req)
        if kind.startswith("assignment")
        else _status_json(
            req,
            {
                "AccountId": req.payload.get("AccountId", resp.current_account),
                "PermissionSetArn": req.payload["PermissionSetArn"],
            },
        )
    )
    return json.dumps({key: body})


def _list_requests(resp: Any, kind: str, key: str) -> str:
    p = _params(resp)
    wanted = (p.get("Filter") or {}).get("Status")
    items = []
    for req in list((STATE.pending if wanted == "IN_PROGRESS" else STATE.requests).values()):
        if req.kind != kind or not req.made_on(p.get("InstanceArn")):
            continue
        if req.status == "IN_PROGRESS":
            _settle(req)
        if wanted is None or req.status == wanted:
            items.append({"Status": req.status, "RequestId": req.request_id, "CreatedDate": req.created})
    return _page(p, key, items)


def _page(p: dict[str, Any], key: str, items: list[Any], max_size: int = 100) -> str:
    """One page of `items` for a list call: NextToken is the offset, MaxResults at most `max_size`."""
    start = int(p.get("NextToken") or 0)
    size = min(int(p.get("MaxResults") or max_size), max_size)
    out: dict[str, Any] = {key: items[start : start + size]}
    if start + size < len(items):
        out["NextToken"] = str(start + size)
    return json.dumps(out)


def _provision_permission_set(resp: Any) -> str:
    p = _params(resp)
    s = STATE.settings
    ps = _find_set(resp, p["PermissionSetArn"])
    _guard_provisioning(p["PermissionSetArn"])
    limit = s.max_concurrent_provisionings
    if limit is not None and len(_in_progress("provisioning")) >= limit:
        raise _Error("ThrottlingException", "Too many concurrent permission set provisioning requests")
    if p.get("TargetType") == "AWS_ACCOUNT" and p.get("TargetId"):
        _provisioned(ps).add(p["TargetId"])
        targets = [p["TargetId"]]
    else:
        targets = sorted(_provisioned(ps))
    req = Request("provisioning", str(uuid.uuid4()), {**p, "Targets": targets}, s.clock(), Origin.of(resp))
    _started(req, "provisioning")
    if not _async():
        _settle(req)
    return json.dumps(
        {
            "PermissionSetProvisioningStatus": _status_json(
                req, {"AccountId": resp.current_account, "PermissionSetArn": p["PermissionSetArn"]}
            )
        }
    )


def _list_accounts_for_provisioned_permission_set(resp: Any) -> str:
    p = _params(resp)
    ps = _find_set(resp, p["PermissionSetArn"])
    _poll_removals(p["PermissionSetArn"])
    # Accounts that are not ACTIVE stay listed (aws-samples/aws-identitycenter-codepipeline-auto-assignment#31).
    accounts = sorted(_provisioned(ps))
    status = p.get("ProvisioningStatus")
    if status == "LATEST_PERMISSION_SET_NOT_PROVISIONED":
        accounts = [a for a in accounts if a in _stale(ps)]
    elif status == "LATEST_PERMISSION_SET_PROVISIONED":
        accounts = [a for a in accounts if a not in _stale(ps)]
    return json.dumps({"AccountIds": accounts})


def _list_permission_sets_provisioned_to_account(resp: Any) -> str:
    """The sets provisioned to an account (moto ignores AccountId and answers every set it
    provisioned to the caller's own account)."""
    p = _params(resp)
    account, status = p["AccountId"], p.get("ProvisioningStatus")
    arns = []
    for ps in _sso_backend(resp).permission_sets:
        if account not in _provisioned(ps):
            continue
        stale = account in _stale(ps)
        if status == "LATEST_PERMISSION_SET_NOT_PROVISIONED" and not stale:
            continue
        if status == "LATEST_PERMISSION_SET_PROVISIONED" and stale:
            continue
        arns.append(ps.permission_set_arn)
    return _page(p, "PermissionSets", arns)


def _mark_stale(resp: Any) -> None:
    """A provisioned set that is edited is stale in its accounts until provisioned again."""
    arn = _params(resp).get("PermissionSetArn")
    if arn:
        try:
            ps = _find_set(resp, arn)
        except _Error:
            return
        _guard_provisioning(arn)
        _stale(ps).update(_provisioned(ps))


def _describe_permission_set(resp: Any) -> str:
    ps = _find_set(resp, _params(resp)["PermissionSetArn"])
    out = ps.to_json(True)
    duration = out.get("SessionDuration")
    if isinstance(duration, int) or duration is None:
        out["SessionDuration"] = f"PT{int(duration or 3600) // 3600}H"
    for key in ("Description", "RelayState"):
        if out.get(key) in (None, ""):
            out.pop(key, None)
    return json.dumps({"PermissionSet": out})


def _create_permission_set(resp: Any, original: Callable[[], str]) -> str:
    p = _params(resp)
    for ps in _sso_backend(resp).permission_sets:
        if ps.name == p.get("Name") and ps.instance_arn == p.get("InstanceArn"):
            raise _Error("ConflictException", f"PermissionSet with name {p['Name']} already exists")
    body = json.loads(original())
    arn = body["PermissionSet"]["PermissionSetArn"]
    STATE.tags[arn] = {t["Key"]: t.get("Value", "") for t in p.get("Tags") or []}
    if "SessionDuration" not in p:
        _find_set(resp, arn).session_duration = "PT1H"
    return json.dumps(body)


def _update_permission_set(resp: Any) -> str:
    """UpdatePermissionSet as a replacement of the set's attributes: what is not sent is reset.

    The API reference (UpdatePermissionSet) and the service model mark Description,
    SessionDuration and RelayState optional and say nothing of what an omitted one becomes;
    a peer found that an empty SessionDuration becomes the default of one hour
    (aws-samples/aws-iam-identity-center-extensions#82). Modelled harshly, as a replacement:
    an omitted Description or RelayState is cleared and an omitted SessionDuration is PT1H,
    so a caller that means to keep one must send it.
    """
    p = _params(resp)
    ps = _find_set(resp, p["PermissionSetArn"])
    _mark_stale(resp)
    ps.description = p.get("Description")
    ps.session_duration = p.get("SessionDuration", "PT1H")
    ps.relay_state = p.get("RelayState")
    return "{}"


def _tags_op(resp: Any, action: str) -> str:
    p = _params(resp)
    arn = p["ResourceArn"]
    tags = STATE.tags.setdefault(arn, {})
    if action == "list":
        return json.dumps({"Tags": [{"Key": k, "Value": v} for k, v in sorted(tags.items())]})
    _guard_provisioning(arn)
    # Tags never make a set stale: they stay on the permission set and are not put on its
    # roles: "Tags can only be applied to permission sets and cannot be applied to
    # corresponding roles that IAM Identity Center creates in AWS accounts"
    # (https://docs.aws.amazon.com/singlesignon/latest/APIReference/API_Tag.html).
    # "The aws: prefix is reserved for AWS use ... you can't edit or delete tag keys or values
    # with this prefix" (Tagging AWS Resources, "Tag naming limits and requirements"), whatever
    # its case (awsdocs/amazon-ecs-developer-guide#72).
    keys = [t["Key"] for t in p["Tags"]] if action == "tag" else p["TagKeys"]
    if reserved := [k for k in keys if k.lower().startswith("aws:")]:
        raise _Error("ValidationException", f"Tag keys starting with 'aws:' are reserved for AWS use: {reserved[0]}")
    if action == "tag":
        tags.update({t["Key"]: t.get("Value", "") for t in p["Tags"]})
    else:
        for key in p["TagKeys"]:
            tags.pop(key, None)
    return "{}"


def _boundary_op(resp: Any, action: str) -> str:
    p = _params(resp)
    arn = p["PermissionSetArn"]
    _find_set(resp, arn)
    if action == "get":
        if arn not in STATE.boundaries:
            raise _Error("ResourceNotFoundException", "Permissions boundary not found")
        return json.dumps({"PermissionsBoundary": STATE.boundaries[arn]})
    _mark_stale(resp)
    if action == "put":
        STATE.boundaries[arn] = p["PermissionsBoundary"]
    else:
        STATE.boundaries.pop(arn, None)
    return "{}"


def _list_account_assignments_for_principal(resp: Any) -> str:
    """The principal's own rows and, with `user_query_returns_group_rows`, those of its groups."""
    p = _params(resp)
    principals = {(p["PrincipalType"], p["PrincipalId"])}
    if p["PrincipalType"] == "USER" and STATE.settings.user_query_returns_group_rows:
        from moto.identitystore.models import identitystore_backends

        stores = identitystore_backends[resp.current_account][resp.region].identity_stores.values()
        principals |= {
            ("GROUP", m["GroupId"])
            for store in stores
            for m in store.group_memberships.values()
            if m["MemberId"].get("UserId") == p["PrincipalId"]
        }
    account = (p.get("Filter") or {}).get("AccountId")
    rows = [
        {
            "AccountId": a.target_id,
            "PermissionSetArn": a.permission_set_arn,
            "PrincipalId": a.principal_id,
            "PrincipalType": a.principal_type,
        }
        for a in _sso_backend(resp).account_assignments
        if a.instance_arn == p["InstanceArn"]
        and (a.principal_type, a.principal_id) in principals
        and account in (None, a.target_id)
    ]
    return _page(p, "AccountAssignments", rows)


def _describe_instance(resp: Any) -> str:
    arn = _params(resp)["InstanceArn"]
    for instance in _sso_backend(resp).instances:
        if instance.instance_arn == arn:
            return json.dumps(instance.to_json())
    raise _Error("ResourceNotFoundException", "Instance not found")


# -- identitystore operations ----------------------------------------------------------------
def _store(resp: Any) -> Any:
    backend = resp.identitystore_backend
    return backend._IdentityStoreBackend__get_identity_store(_params(resp)["IdentityStoreId"])


UNIQUE = "UNIQUENESS_CONSTRAINT_VIOLATION"


def _refuse_taken_emails(store: Any, emails: list[dict[str, Any]] | None, user_id: str | None) -> None:
    """Emails are unique in an identity store: "the username, email address, or external ID
    attributes aren't a unique value" (https://repost.aws/knowledge-center/iam-identity-center-provision;
    also hashicorp/terraform-provider-aws, website/docs/r/identitystore_user.html.markdown:
    "This value must be unique across the identity store"). Whether case counts, the docs do
    not say: modelled harshly, Kim@Example.com is taken when kim@example.com is."""
    wanted = {str(e.get("Value", "")).casefold() for e in emails or [] if e.get("Value")}
    for other in store.users.values():
        if other.UserId != user_id and wanted & {str(e.get("Value", "")).casefold() for e in other.Emails or []}:
            raise _Error("ConflictException", "Duplicate email", reason=UNIQUE)


def _create_user(resp: Any, original: Callable[[], str]) -> str:
    from .user_attributes import create_extensions

    p = _params(resp)
    store = _store(resp)
    if any(u.UserName == p.get("UserName") for u in store.users.values()):
        raise _Error("ConflictException", "Duplicate UserName", reason=UNIQUE)
    _refuse_taken_emails(store, p.get("Emails"), None)
    extensions = create_extensions(p.get("Extensions"))
    body = original()
    if extensions:
        STATE.extensions[json.loads(body)["UserId"]] = extensions
    return body


def _delete_user(resp: Any, original: Callable[[], str]) -> str:
    body = original()
    STATE.extensions.pop(_params(resp).get("UserId", ""), None)
    return body


def _create_group(resp: Any, original: Callable[[], str]) -> str:
    # moto refuses a duplicate too, but always with a Reason: answer here so the switch applies.
    p = _params(resp)
    if any(g.DisplayName == p.get("DisplayName") for g in _store(resp).groups.values()):
        raise _Error("ConflictException", "Duplicate GroupDisplayName", reason=UNIQUE)
    return original()


# Members of the User and Group shapes that name the object or are set by AWS (or by the
# identity provider) rather than by an update.
NOT_UPDATABLE = frozenset(
    {"IdentityStoreId", "UserId", "GroupId", "UserArn", "Revision", "ExternalIds", "UserStatus"}
    | {"CreatedAt", "CreatedBy", "UpdatedAt", "UpdatedBy"}
)


def _attribute_changes(shape_name: str, operations: list[dict[str, Any]]) -> dict[str, Any]:
    """UpdateUser/UpdateGroup operations -> {Member: new value}, None removing it; a
    sub-attribute (name.givenName) gives {"Name": {"GivenName": value}}, merged into the rest.

    What may change is read from the service model, not from what a caller happens to send:
    "For more information on the attributes that can be added, replaced, or removed, see User"
    (API reference, UpdateUser; likewise Group for UpdateGroup). A path that names no member of
    the shape, or an identifier, is a ValidationException; a value is checked against the
    member's shape as any request parameter is.
    """
    shape = _service_model("identitystore").shape_for(shape_name)
    members = {_camel(name): name for name in shape.members if name not in NOT_UPDATABLE}
    changes: dict[str, Any] = {}
    for op in operations:
        path, value = op["AttributePath"], op.get("AttributeValue")
        head, _, rest = path.partition(".")
        member = members.get(head)
        target = shape.members[member] if member else None
        if target is not None and rest:
            subs = {_camel(name): name for name in getattr(target, "members", {})}
            target = target.members[subs[rest]] if rest in subs else None
            if target is not None:
                changes[member] = _SubAttributes({**changes.get(member, _SubAttributes()), subs[rest]: value})
        elif target is not None:
            changes[member] = value
        if target is None or member is None:
            raise _Error("ValidationException", f"Invalid attribute path {path} for {shape_name}")
        if value is not None:
            _refuse_invalid("identitystore", target, value, path)
    return changes


class _SubAttributes(dict):  # type: ignore[type-arg]
    """Sub-attributes changed one by one: merged into the structure, not replacing it."""


def _stored(record: Any, changes: dict[str, Any], structures: dict[str, Any]) -> Any:
    """`record` (one of moto's named tuples) with `changes` applied; `structures` maps a
    structure member to the named tuple moto keeps it in."""
    values: dict[str, Any] = {}
    for member, value in changes.items():
        if member not in record._fields:
            raise _Error("ValidationException", f"{member} is in the service model but this endpoint does not keep it")
        kind = structures.get(member)
        if kind is not None and isinstance(value, dict):
            current = getattr(record, member)
            base = current._asdict() if current is not None and isinstance(value, _SubAttributes) else {}
            merged = {**base, **value}
            value = kind(**{key: merged.get(key) for key in kind._fields}) if any(merged.values()) else None
        values[member] = value
    return record._replace(**values)


def _update_user(resp: Any) -> str:
    """UpdateUser with AWS's attribute paths and values (user_attributes.py)."""
    from moto.identitystore.models import Name

    from .user_attributes import update

    p = _params(resp)
    store = _store(resp)
    user = store.users.get(p["UserId"])
    if user is None:
        raise _Error("ResourceNotFoundException", "USER not found.")
    changes, extensions = update(user, STATE.extensions.get(user.UserId, {}), p["Operations"])
    if changes.get("UserName") and any(
        u.UserName == changes["UserName"] and u.UserId != user.UserId for u in store.users.values()
    ):
        raise _Error("ConflictException", "Duplicate UserName", reason=UNIQUE)
    if changes.get("Emails"):
        _refuse_taken_emails(store, changes["Emails"], user.UserId)
    name = changes.pop("Name")
    changes["Name"] = Name(**name) if any(name.values()) else None
    store.users[p["UserId"]] = user._replace(**changes)
    STATE.extensions[user.UserId] = extensions
    return "{}"


def _update_group(resp: Any) -> str:
    p = _params(resp)
    store = _store(resp)
    group = store.groups.get(p["GroupId"])
    if group is None:
        raise _Error("ResourceNotFoundException", "GROUP not found.")
    changes = _attribute_changes("Group", p["Operations"])
    if changes.get("DisplayName") and any(
        g.DisplayName == changes["DisplayName"] and g.GroupId != group.GroupId for g in store.groups.values()
    ):
        raise _Error("ConflictException", "Duplicate GroupDisplayName", reason=UNIQUE)
    store.groups[p["GroupId"]] = _stored(group, changes, {})
    return "{}"


def _create_group_membership(resp: Any, original: Callable[[], str]) -> str:
    p = _params(resp)
    store = _store(resp)
    for m in store.group_memberships.values():
        if m["GroupId"] == p["GroupId"] and m["MemberId"] == p["MemberId"]:
            raise _Error("ConflictException", "Member already exists in group", reason=UNIQUE)
    return original()


# -- access -----------------------------------------------------------------------------------
def target_set(request: dict[str, Any]) -> str | None:
    """The permission set a request acts on (its ARN), if any."""
    arn = request.get("PermissionSetArn") or request.get("ResourceArn")
    return str(arn) if arn else None


def unless_tagged(
    key: str, value: str, operations: Iterable[str] | None = None
) -> Callable[[str, dict[str, Any]], bool]:
    """The deny predicate of a caller allowed only on permission sets tagged key=value, e.g.
    `"Condition": {"StringEquals": {"aws:ResourceTag/team": "a"}}` on
    arn:aws:sso:::permissionSet/* (user guide, "Delegate permission set administration":
    https://docs.aws.amazon.com/singlesignon/latest/userguide/permissionsetdelegation.html).
    Calls on no particular set (ListPermissionSets, CreatePermissionSet) are allowed;
    `operations`, if given, limits the denial to those."""
    only = frozenset(operations) if operations is not None else None

    def deny(operation: str, request: dict[str, Any]) -> bool:
        arn = target_set(request)
        if arn is None or (only is not None and operation not in only):
            return False
        return STATE.tags.get(arn, {}).get(key) != value

    return deny


def _access_denied(resp: Any, service: str, operation: str, request: dict[str, Any]) -> _Error:
    """IAM's implicit deny, worded as IAM words it ("User: ARN is not authorized to perform:
    ACTION on resource: ARN because no identity-based policy allows the ACTION action",
    https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html), with
    the HTTP status 400 sso-admin answers it with (aws-samples/iam-identity-center-team#59:
    "not authorized to perform: sso:CreateAccountAssignment ... Status Code: 400")."""
    action = f"{'sso' if service == 'sso-admin' else service}:{operation}"
    resource = target_set(request) or request.get("InstanceArn") or request.get("IdentityStoreId") or "*"
    caller = f"arn:aws:sts::{getattr(resp, 'current_account', '123456789012')}:assumed-role/Delegated/admin"
    return _Error(
        "AccessDeniedException",
        f"User: {caller} is not authorized to perform: {action} on resource: {resource} "
        f"because no identity-based policy allows the {action} action",
    )


# -- dispatch ---------------------------------------------------------------------------------
def _record(call: str) -> None:
    """Count and log one call ("service:Operation"); the caller holds STATE.lock."""
    STATE.calls[call] += 1
    STATE.log.append((STATE.settings.clock(), call))


def _throttled(service: str) -> _Error:
    """ThrottlingException; identitystore's carries `retry_after_seconds` when set, as its model
    declares RetryAfterSeconds there (botocore identitystore model, ThrottlingException)."""
    retry_after = STATE.settings.retry_after_seconds if service == "identitystore" else None
    return _Error("ThrottlingException", "Rate exceeded", retry_after=retry_after)


def _fault(service: str, operation: str, resp: Any, run: Callable[[], Any]) -> Any:
    """Apply the quotas and the injected faults around one call."""
    s = STATE.settings
    if s.latency:
        s.sleep(s.latency)
    with STATE.lock:
        _record(f"{service}:{operation}")
        if operation in s.refuse:
            code, message = s.refuse[operation]
            return _error_response(_Error(code, message, status=403 if "Denied" in code else 400))
        if s.deny is not None:
            request = _params(resp)
            if s.deny(operation, request):
                return _error_response(_access_denied(resp, service, operation, request))
        if s.caller_account or s.callers:
            from .delegation import refusal

            answer = refusal(resp, service, operation, _params(resp))
            if isinstance(answer, _Error):
                return _error_response(answer)
            if answer is not None:
                return answer
        if s.tps:
            bucket = STATE.buckets.setdefault(service, [s.tps, s.clock()])
            now = s.clock()
            bucket[0] = min(s.tps, bucket[0] + (now - bucket[1]) * s.tps)
            bucket[1] = now
            if bucket[0] < 1:
                return _error_response(_throttled(service))
            bucket[0] -= 1
        roll = STATE.rng.random()
        throttle_rate = s.throttle_operations.get(operation, s.throttle_rate)
        if roll < throttle_rate:
            return _error_response(_throttled(service))
        roll -= throttle_rate
        if roll < s.error_rate:
            return _error_response(_Error("InternalServerException", "Internal failure", status=500))
        roll -= s.error_rate
        if roll < s.drop_before_rate:
            return _drop(resp)
        roll -= s.drop_before_rate
        if service == "identitystore" and STATE.modified[operation] < s.concurrent_modification.get(operation, 0):
            STATE.modified[operation] += 1
            return _error_response(
                _Error(
                    "ConflictException",
                    "The requested resource was being concurrently modified by another request",
                    reason="CONCURRENT_MODIFICATION",
                    retry_after=s.retry_after_seconds,
                )
            )
        try:
            _validate_input(service, operation, _params(resp))
            if service == "sso-admin":
                from .organizations import refuse_on_account_instance

                refuse_on_account_instance(resp, operation)
                _tick()
            result = run()
        except _Error as err:
            return _error_response(err)
        if roll < s.drop_after_rate:
            return _drop(resp)  # the write happened; the caller never hears of it
        return result


# The string shapes that carry what a config declares. (Identifiers moto makes up, such as its
# identity store ids, do not match AWS's patterns, so they are not checked.)
VALIDATED_SHAPES = frozenset(
    {
        "PermissionSetName",
        "PermissionSetDescription",
        "RelayState",
        "Duration",
        "TagKey",
        "TagValue",
        "ManagedPolicyName",
        "ManagedPolicyPath",
        "ManagedPolicyArn",
        "PermissionSetPolicyDocument",
        "TargetId",
        "AccountId",
        "UserName",
        "GroupDisplayName",
        "SensitiveStringType",
        "AttributePath",
        "ExtensionName",
        "AccessControlAttributeKey",
        "AccessControlAttributeValueSource",
    }
)


def _validate_input(service: str, operation: str, params: dict[str, Any]) -> None:
    """Refuse a string parameter outside its shape's length or pattern, as AWS does and moto does not.

    AWS answers "1 validation error detected: Value '...' at 'name' failed to satisfy constraint:
    Member must satisfy regular expression pattern: [\\w+=,.@-]+" (ValidationException); the
    service models hold the constraints (botocore/data/sso-admin, identitystore). Patterns are
    Java regexes matched against the whole value, translated by provisioner.shapes.
    """
    model = _service_model(service)
    if operation not in model.operation_names:
        return
    _refuse_invalid(service, model.operation_model(operation).input_shape, params, "")


def _refuse_invalid(service: str, shape: Any, value: Any, where: str) -> None:
    """ValidationException naming every string in `value` outside its shape (see `_validate_input`)."""
    problems: list[str] = []
    if shape is None:  # an operation without parameters (DescribeOrganization)
        return
    _shape_problems(service, shape, value, where, problems)
    if problems:
        raise _Error("ValidationException", f"{len(problems)} validation error(s) detected: " + "; ".join(problems))


def _shape_problems(service: str, shape: Any, value: Any, where: str, problems: list[str]) -> None:
    from provisioner.shapes import StringShape

    if shape.type_name == "structure" and isinstance(value, dict):
        for name, member in shape.members.items():
            if name in value:
                _shape_problems(service, member, value[name], f"{where}.{_camel(name)}".lstrip("."), problems)
    elif shape.type_name == "list" and isinstance(value, list):
        # A list longer (or shorter) than the model allows is refused: IsMemberInGroups takes
        # at most 100 GroupIds, an access control attribute one source (botocore checks only the min).
        low, high = int(shape.metadata.get("min", 0)), shape.metadata.get("max")
        if len(value) < low or (high is not None and len(value) > int(high)):
            problems.append(
                f"Value at '{where}' failed to satisfy constraint: Member must have length between {low} and {high}"
            )
        for index, item in enumerate(value):
            _shape_problems(service, shape.member, item, f"{where}.{index + 1}.member", problems)
    elif shape.type_name == "integer" and isinstance(value, int):
        # MaxResults and the like: 1..100 for the list calls (the model's min and max).
        low, high = shape.metadata.get("min"), shape.metadata.get("max")
        if (low is not None and value < low) or (high is not None and value > high):
            problems.append(
                f"Value '{value}' at '{where}' failed to satisfy constraint: Member must have value "
                f"between {low} and {high}"
            )
    elif shape.type_name == "string" and isinstance(value, str) and shape.name in VALIDATED_SHAPES:
        meta = shape.metadata
        check = StringShape(service, shape.name, int(meta.get("min", 0)), meta.get("max"), meta.get("pattern"))
        if not check.fits(value):
            problems.append(
                f"Value '{value}' at '{where}' failed to satisfy constraint: Member must have length "
                f"between {check.min} and {check.max}"
            )
        elif not check.matches(value):
            problems.append(
                f"Value '{value}' at '{where}' failed to satisfy constraint: Member must satisfy "
                f"regular expression pattern: {check.pattern}"
            )


def _camel(name: str) -> str:
    """A member name as an attribute path spells it: DisplayName -> displayName."""
    return name[0].lower() + name[1:]


def _service_model(service: str) -> Any:
    import botocore.session

    if service not in _MODELS:
        _MODELS[service] = botocore.session.get_session().get_service_model(service)
    return _MODELS[service]


_MODELS: dict[str, Any] = {}


def _drop(resp: Any) -> tuple[int, dict[str, Any], str]:
    """The connection closes with no answer, as one AWS drops: botocore raises
    ConnectionClosedError ("Connection was closed before we received a valid response").

    Served over HTTP (scripts/moto_endpoint.py), the request's socket is shut down: an
    exception would reach Flask, which answers with its HTML 500 page, and the answer returned
    here is never delivered. In process (mock_aws), the error botocore would raise is raised."""
    environ = getattr(getattr(resp, "normalized_request", None), "environ", None) or {}
    connection = environ.get("werkzeug.socket")
    if connection is None:
        from botocore.exceptions import ConnectionClosedError

        raise ConnectionClosedError(endpoint_url="realism-layer")
    connection.shutdown(socket.SHUT_RDWR)
    return 500, {}, ""


SSO_OPERATIONS: dict[str, Callable[..., str]] = {
    "create_account_assignment": _create_account_assignment,
    "delete_account_assignment": _delete_account_assignment,
    "describe_account_assignment_creation_status": lambda r: _describe_request(
        r, "assignment-create", "AccountAssignmentCreationRequestId", "AccountAssignmentCreationStatus"
    ),
    "describe_account_assignment_deletion_status": lambda r: _describe_request(
        r, "assignment-delete", "AccountAssignmentDeletionRequestId", "AccountAssignmentDeletionStatus"
    ),
    "list_account_assignment_creation_status": lambda r: _list_requests(
        r, "assignment-create", "AccountAssignmentsCreationStatus"
    ),
    "list_account_assignment_deletion_status": lambda r: _list_requests(
        r, "assignment-delete", "AccountAssignmentsDeletionStatus"
    ),
    "provision_permission_set": _provision_permission_set,
    "describe_permission_set_provisioning_status": lambda r: _describe_request(
        r, "provisioning", "ProvisionPermissionSetRequestId", "PermissionSetProvisioningStatus"
    ),
    "list_permission_set_provisioning_status": lambda r: _list_requests(
        r, "provisioning", "PermissionSetsProvisioningStatus"
    ),
    "list_accounts_for_provisioned_permission_set": _list_accounts_for_provisioned_permission_set,
    "describe_permission_set": _describe_permission_set,
    "update_permission_set": _update_permission_set,
    "list_tags_for_resource": lambda r: _tags_op(r, "list"),
    "tag_resource": lambda r: _tags_op(r, "tag"),
    "untag_resource": lambda r: _tags_op(r, "untag"),
    "get_permissions_boundary_for_permission_set": lambda r: _boundary_op(r, "get"),
    "put_permissions_boundary_to_permission_set": lambda r: _boundary_op(r, "put"),
    "delete_permissions_boundary_from_permission_set": lambda r: _boundary_op(r, "delete"),
    "describe_instance": _describe_instance,
    "list_account_assignments_for_principal": _list_account_assignments_for_principal,
    "list_permission_sets_provisioned_to_account": _list_permission_sets_provisioned_to_account,
}
SSO_OPERATIONS.update(access_control.OPERATIONS)
SSO_WRAPPED = {"create_permission_set": _create_permission_set, "delete_permission_set": _delete_permission_set}
# Writes to a permission set that make it stale where it is provisioned.
SSO_STALE_WRITES = (
    "attach_managed_policy_to_permission_set",
    "detach_managed_policy_from_permission_set",
    "attach_customer_managed_policy_reference_to_permission_set",
    "detach_customer_managed_policy_reference_from_permission_set",
    "put_inline_policy_to_permission_set",
    "delete_inline_policy_from_permission_set",
)
IDS_OPERATIONS: dict[str, Callable[..., str]] = {"update_user": _update_user, "update_group": _update_group}


def _external_ids(principal: dict[str, Any], id_key: str) -> dict[str, Any]:
    """Give a user or group the ExternalIds `mark_external` recorded, as SCIM-synced ones have.

    moto has none (it answers [] or null); AWS omits the member when there are none: the
    ExternalIds shape has min 1 (botocore/data/identitystore, shapes ExternalIds, User, Group).
    """
    principal.pop("ExternalIds", None)
    if principal.get(id_key) in STATE.external:
        principal["ExternalIds"] = STATE.external[principal[id_key]]
    return principal


def _listing_with_external_ids(key: str, id_key: str) -> Callable[[Any, Callable[[], str]], str]:
    def listing(resp: Any, original: Callable[[], str]) -> str:
        body = json.loads(original())
        body[key] = [_as_aws_user(resp, _external_ids(item, id_key), id_key) for item in body.get(key, [])]
        return json.dumps(body)

    return listing


def _described_with_external_ids(id_key: str) -> Callable[[Any, Callable[[], str]], str]:
    def described(resp: Any, original: Callable[[], str]) -> str:
        return json.dumps(_as_aws_user(resp, _external_ids(json.loads(original()), id_key), id_key))

    return described


def _as_aws_user(resp: Any, principal: dict[str, Any], id_key: str) -> dict[str, Any]:
    """A user without moto's null members, with the extensions the request asked for."""
    if id_key != "UserId":
        return principal
    from .user_attributes import visible

    return visible(principal, STATE.extensions.get(principal.get("UserId", ""), {}), _params(resp))


def mark_external(principal_id: str, issuer: str = "https://scim.example.com") -> None:
    """Make a user or a group look provisioned by an external identity provider: ListUsers,
    ListGroups, DescribeUser and DescribeGroup then show its ExternalIds."""
    STATE.external[principal_id] = [{"Issuer": issuer, "Id": f"idp-{principal_id}"}]


IDS_WRAPPED = {
    "create_user": _create_user,
    "delete_user": _delete_user,
    "create_group": _create_group,
    "create_group_membership": _create_group_membership,
    "list_users": _listing_with_external_ids("Users", "UserId"),
    "list_groups": _listing_with_external_ids("Groups", "GroupId"),
    "describe_user": _described_with_external_ids("UserId"),
    "describe_group": _described_with_external_ids("GroupId"),
}


def _pascal(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def _install_on(
    cls: Any,
    service: str,
    operations: dict[str, Callable[..., str]],
    wrapped: dict[str, Callable[..., str]],
    stale: tuple[str, ...] = (),
) -> None:
    def make(op_name: str, fn: Callable[..., str]) -> Callable[[Any], str]:
        def method(self: Any) -> Any:
            operation = _pascal(op_name)
            return _paused(f"{service}:{operation}", lambda: _fault(service, operation, self, lambda: fn(self)))

        method.__name__ = op_name
        method._realism = True  # type: ignore[attr-defined]
        return method

    def make_wrapped(
        op_name: str, fn: Callable[..., str] | None, original: Callable[[Any], str]
    ) -> Callable[[Any], str]:
        def method(self: Any) -> Any:
            def run() -> str:
                if op_name in stale:
                    _mark_stale(self)
                return fn(self, lambda: original(self)) if fn else original(self)

            operation = _pascal(op_name)
            return _paused(f"{service}:{operation}", lambda: _fault(service, operation, self, run))

        method.__name__ = op_name
        return method

    for name, fn in operations.items():
        setattr(cls, name, make(name, fn))
    for name in [n for n, v in vars(cls).items() if callable(v) and not n.startswith("_")]:
        if name in operations or name in {"ssoadmin_backend", "identitystore_backend", "named_tuple_to_dict"}:
            continue
        original = vars(cls)[name]
        if getattr(original, "_realism", False):
            continue
        method = make_wrapped(name, wrapped.get(name), original)
        method._realism = True  # type: ignore[attr-defined]
        setattr(cls, name, method)


def _fix_managed_policy_lookup() -> None:
    """moto rejects AWS managed policies that have a path (job-function/ViewOnlyAccess)."""
    from moto.iam.aws_managed_policies import aws_managed_policies_data
    from moto.ssoadmin.exceptions import ResourceNotFoundException
    from moto.ssoadmin.models import ManagedPolicy, SSOAdminBackend

    # Parsed once per process: the document is megabytes, and every test starts a new backend.
    managed = json.loads(aws_managed_policies_data)

    def find(self: Any, arn: str) -> Any:
        if self.aws_managed_policies is None:
            self.aws_managed_policies = managed
        name = arn.split("/")[-1]
        policy = self.aws_managed_policies.get(name)
        if policy is not None:
            path = policy.get("Path") or policy.get("path") or "/"
            if arn == f"arn:{self.partition}:iam::aws:policy{path}{name}":
                return ManagedPolicy(arn, name)
        raise ResourceNotFoundException(f"Policy does not exist with ARN: {arn}")

    SSOAdminBackend._find_managed_policy = find


def _in_protocol(resp: Any, code: str, message: str, status: int = 400) -> tuple[int, dict[str, Any], str]:
    """An error answer in the protocol of the request: JSON (an X-Amz-Target header) or query
    XML (sts, iam), as botocore parses each."""
    from xml.sax.saxutils import escape

    headers_sent = {str(key).lower() for key in dict(resp.headers or {})}  # a dict, or werkzeug's (key, value) pairs
    if "x-amz-target" in headers_sent:
        body = {"__type": code, "message": message}
        return status, {"x-amzn-ErrorType": code, "Content-Type": "application/x-amz-json-1.1"}, json.dumps(body)
    xml = (
        f"<ErrorResponse><Error><Type>Sender</Type><Code>{escape(code)}</Code>"
        f"<Message>{escape(message)}</Message></Error><RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
    )
    return status, {"Content-Type": "text/xml"}, xml


def _unknown_operation(resp: Any, action: str) -> tuple[int, dict[str, Any], str]:
    """What AWS answers for an operation it does not serve, in the protocol of the request.

    moto raises NotImplementedError instead (an HTML 500 page in server mode, which no SDK can
    parse), and answers a request without an action with an empty 404.
    - JSON protocols (sso-admin, identitystore, organizations: an X-Amz-Target header): 400
      UnknownOperationException, as CloudWatch Logs answers (aws/aws-sdk-net#1536).
    - query protocol (sts, iam): 400 InvalidAction, "The action or operation requested is
      invalid" (IAM API Reference, Common Errors).
    """
    message = f"The operation {action or '(none)'} is not served by this endpoint"
    headers_sent = {str(key).lower() for key in dict(resp.headers or {})}
    code = "UnknownOperationException" if "x-amz-target" in headers_sent else "InvalidAction"
    return _in_protocol(resp, code, message)


def _answer_every_operation() -> None:
    """Count (and let tests pause) the calls of every service, not only those the layer patches,
    and answer an operation moto lacks as AWS answers one it does not serve."""
    from moto.core.responses import BaseResponse
    from moto.core.utils import camelcase_to_underscores

    original = BaseResponse.call_action

    def call_action(self: Any) -> Any:
        action = self._get_action()
        method = getattr(type(self), camelcase_to_underscores(action), None) if action else None

        def run() -> Any:
            try:
                status, headers, body = original(self)
            except NotImplementedError:
                return _unknown_operation(self, action)
            if status == 404 and not body and not action:
                return _unknown_operation(self, "")
            return status, headers, body

        if getattr(method, "_realism", False):
            return run()  # the layer's own operations count themselves, inside their faults
        call = f"{self.service_name}:{action or '(none)'}"

        def counted() -> Any:
            with STATE.lock:
                _record(call)
                refused = STATE.settings.refuse.get(action or "")
            if refused is not None:  # `refuse=` holds for every service, in its protocol
                code, message = refused
                return _in_protocol(self, code, message, 403 if "Denied" in code else 400)
            return run()

        return _paused(call, counted)  # held before it is counted, as the layer's own operations

    BaseResponse.call_action = call_action  # type: ignore[method-assign]


def _answer_root_mfa() -> None:
    """GetAccountSummary reports the root user's MFA as the `root_mfa` setting says."""
    from moto.iam.models import AccountSummary

    original = AccountSummary.summary_map

    def summary_map(self: Any) -> dict[str, Any]:
        summary = dict(original.fget(self))
        if STATE.settings.root_mfa:
            summary["AccountMFAEnabled"] = 1
        return summary

    AccountSummary.summary_map = property(summary_map)


def install() -> None:
    """Patch moto once per process; safe to call again."""
    global _installed
    if _installed:
        return
    from moto.identitystore.responses import IdentityStoreResponse
    from moto.ssoadmin.responses import SSOAdminResponse

    from . import delegation, iam_policies, organizations

    _install_on(SSOAdminResponse, "sso-admin", SSO_OPERATIONS, SSO_WRAPPED, SSO_STALE_WRITES)
    _install_on(IdentityStoreResponse, "identitystore", IDS_OPERATIONS, IDS_WRAPPED)
    organizations.install()
    delegation.install()
    iam_policies.install()
    _fix_managed_policy_lookup()
    _answer_root_mfa()
    _answer_every_operation()
    _installed = True
