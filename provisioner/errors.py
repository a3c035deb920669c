"""One error tree for the whole tool, and the classification of AWS errors by code."""

from __future__ import annotations

from typing import Any

# Error codes that mean "try again later": the service was busy or broke for a moment.
THROTTLING_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "SlowDown",
    }
)
SERVER_CODES = frozenset({"InternalServerException", "InternalFailure", "ServiceUnavailable"})
CREDENTIAL_CODES = frozenset(
    {
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "InvalidSignatureException",
        "SignatureDoesNotMatch",
    }
)
ACCESS_CODES = frozenset({"AccessDeniedException", "AccessDenied", "UnauthorizedOperation"})
# AWS Organizations: the caller's account is in no organization.
NOT_IN_USE = "AWSOrganizationsNotInUseException"
# The AWS managed policy that grants what a run calls, named in an AccessDenied hint: in the
# management account AWSSSOMasterAccountAdministrator; elsewhere (the delegated administrator)
# AWSSSOMemberAccountAdministrator, which has sso:*, identitystore:* and the Organizations
# reads, without what only the management account may do (AWS managed policy reference).
MANAGEMENT_POLICY = "AWSSSOMasterAccountAdministrator"
MEMBER_POLICY = "AWSSSOMemberAccountAdministrator"


class ProvisionerError(Exception):
    """Base of every error the CLI turns into a message and an exit code."""

    exit_code = 1


class ConfigError(ProvisionerError):
    """The config file is unreadable or invalid; raised before any AWS call."""

    def __init__(self, file: str, problems: list[tuple[str, str]]):
        self.file = file
        self.problems = problems
        super().__init__(self.render())

    def render(self) -> str:
        return "\n".join(
            f"config error: {self.file}: {path}: {reason}" if path else f"config error: {self.file}: {reason}"
            for path, reason in self.problems
        )


class PreflightError(ProvisionerError):
    """The account or region is not ready (no usable Identity Center instance, root caller...)."""


class UsageProblem(ProvisionerError):
    """Options that cannot go together, or an option's bad value, found by a command: a usage
    error (EX_USAGE), raised before any AWS call."""

    exit_code = 64


class AwsError(ProvisionerError):
    """An AWS call failed for a reason retrying will not fix."""

    def __init__(
        self,
        code: str,
        message: str,
        operation: str,
        request_id: str | None = None,
        reason: str | None = None,
        service: str = "",
    ):
        self.service = service
        self.code = code
        self.operation = operation
        self.request_id = request_id
        self.reason = reason
        self.aws_message = message
        self.where = ""  # "account 1234..., as arn:..." once the runner knows it
        self.policy = MANAGEMENT_POLICY  # the managed policy to suggest, by where the run works
        super().__init__(self.render())

    @property
    def summary(self) -> str:
        """`Operation: Code: message`, the form every error and retry line takes."""
        return f"{self.operation}: {self.code}: {self.aws_message}"

    @property
    def action(self) -> str:
        """The IAM action of the call, e.g. sso:CreatePermissionSet."""
        return f"{self.service}:{self.operation}" if self.service else self.operation

    @property
    def denied(self) -> bool:
        """AccessDenied: not allowed on this resource. Other calls may be (a policy scoped by
        tags, a delegated administrator), unlike invalid or expired credentials."""
        return self.code in ACCESS_CODES

    def render(self) -> str:
        hint = ""
        where = f" in {self.where}" if self.where else ""
        if self.code in ACCESS_CODES:
            hint = (
                f" (the caller may not call {self.action}{where}; grant that action, "
                f"e.g. with the {self.policy} policy, or use another profile)"
            )
        elif self.code in CREDENTIAL_CODES:
            hint = " (the credentials are invalid or expired; run `aws sso login` or refresh them)"
        rid = f" [request id {self.request_id}]" if self.request_id else ""
        return f"{self.summary}{hint}{rid}"

    def __str__(self) -> str:
        return self.render()


class AccessError(ProvisionerError):
    """Credentials missing, expired or refused, a session that cannot be set up, or nothing
    answering at the endpoint: the run stops, as no later call would fare better. An
    AccessDenied (is_denied) may concern one resource only: it fails the change that needed it."""


class CredentialsError(AccessError):
    """No credentials could be found or they cannot be used (profile, SSO sign-in, config file)."""


class SettingsError(AccessError):
    """The Region or endpoint a run would use is missing or malformed."""


class EndpointUnreachable(AccessError):
    """No connection could be made to an endpoint that has not answered in this run."""


class AwsAccessError(AwsError, AccessError):
    """AccessDenied or invalid/expired credentials: stops the run at once, except where one
    resource is denied (`denied`) and the rest can go on: see is_denied."""


def is_denied(exc: BaseException) -> bool:
    """An AWS AccessDenied (not a credentials problem): the call may not be made on this
    resource, while calls on others may succeed."""
    return isinstance(exc, AwsError) and exc.denied


def error_code(exc: BaseException) -> str | None:
    """The AWS error code of a botocore ClientError, else None."""
    response: Any = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        return str(code) if code else None
    return None


def error_reason(exc: BaseException) -> str | None:
    """identitystore's structured Reason (UNIQUENESS_CONSTRAINT_VIOLATION, CONCURRENT_MODIFICATION)."""
    response: Any = getattr(exc, "response", None)
    if isinstance(response, dict):
        reason = response.get("Reason") or response.get("Error", {}).get("Reason")
        return str(reason) if reason else None
    return None


def request_id(exc: BaseException) -> str | None:
    response: Any = getattr(exc, "response", None)
    if isinstance(response, dict):
        rid = response.get("ResponseMetadata", {}).get("RequestId") or response.get("RequestId")
        return str(rid) if rid else None
    return None


def http_status(exc: BaseException) -> int | None:
    response: Any = getattr(exc, "response", None)
    if isinstance(response, dict):
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return int(status) if status else None
    return None


class Interrupted(ProvisionerError):
    """A call not made, or no longer retried, because the run was asked to stop (Ctrl-C).

    `may_have_taken_effect` is true when an earlier attempt of the call may have reached AWS
    (a dropped connection or a 5xx): then whether it happened is unknown.
    """

    exit_code = 130

    def __init__(self, what: str, may_have_taken_effect: bool = False):
        self.may_have_taken_effect = may_have_taken_effect
        super().__init__(f"{what}: not made, the run was interrupted")
