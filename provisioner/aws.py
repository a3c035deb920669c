"""Session and client construction: one `Clients` object, built once and passed in.

Every AWS call goes through `Api.call`, which applies the shared rate limit, retries what is
transient, counts calls by operation, and turns botocore errors into our error tree.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from . import quotas
from .errors import (
    ACCESS_CODES,
    CREDENTIAL_CODES,
    AwsAccessError,
    AwsError,
    CredentialsError,
    error_code,
    error_reason,
    request_id,
)
from .retry import Clock, RateLimiter, Retrier, RetrySettings, is_connection_error

if TYPE_CHECKING:
    import boto3
    from mypy_boto3_iam import IAMClient
    from mypy_boto3_identitystore import IdentityStoreClient
    from mypy_boto3_organizations import OrganizationsClient
    from mypy_boto3_sso_admin import SSOAdminClient
    from mypy_boto3_sts import STSClient

ClientT = TypeVar("ClientT")
R = TypeVar("R")

WRITE_PREFIXES = ("Create", "Update", "Delete", "Put", "Attach", "Detach", "Provision", "Tag", "Untag")


def is_write(operation: str) -> bool:
    return operation.startswith(WRITE_PREFIXES)


class CallLog:
    """Counts calls by 'service:Operation' (attempts, so retries count too); thread-safe."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.sequence: list[str] = []
        self._lock = threading.Lock()

    def record(self, service: str, operation: str) -> None:
        with self._lock:
            self.counts[f"{service}:{operation}"] += 1
            self.sequence.append(operation)

    def writes(self) -> dict[str, int]:
        return {k: v for k, v in self.counts.items() if is_write(k.split(":", 1)[1])}

    def total(self) -> int:
        return sum(self.counts.values())


class Api(Generic[ClientT]):
    """One service client behind our rate limit, retry policy and error translation.

    Calls are lambdas over the typed client, so the boto3 stubs check every parameter:
    `api.call(lambda c: c.describe_permission_set(InstanceArn=..., PermissionSetArn=...))`.
    """

    def __init__(self, service: str, client: ClientT, limiter: RateLimiter, retrier: Retrier, log: CallLog) -> None:
        self.service = service
        self.client = client
        self.limiter = limiter
        self.retrier = retrier
        self.log = log
        # The prefix IAM policies use for this service's actions (sso:CreatePermissionSet).
        self.iam_prefix = {"sso-admin": "sso"}.get(service, service)
        # Every attempt, retries included, passes the shared rate limit and is counted.
        events: Any = client.meta.events  # type: ignore[attr-defined]
        events.register("before-call", self._before_call)
        events.register("before-parse", keep_retry_after)

    def _before_call(self, model: Any, **_: Any) -> None:
        self.limiter.acquire()
        self.log.record(self.service, model.name)

    def call(self, fn: Callable[[ClientT], R], *, retry_conflicts: bool = False) -> R:
        """Run `fn(client)` with retries; raise AwsError/CredentialsError on failure."""
        try:
            return self.retrier.run(self.service, lambda: fn(self.client), retry_conflicts=retry_conflicts)
        except Exception as exc:  # translated below; anything unknown is re-raised as is
            raise translate(exc, self.iam_prefix) from exc

    def pages(self, fn: Callable[[ClientT, dict[str, Any]], Mapping[str, Any]], result_key: str) -> Iterator[Any]:
        """Every item of a paginated list call; `fn(client, more)` must pass `**more` on.

        Each page is retried on its own, so a throttled page 7 does not restart at page 1.
        """
        token: str | None = None
        while True:
            more = {"NextToken": token} if token else {}
            page = self.call(lambda c: fn(c, more))
            yield from page.get(result_key, [])
            token = page.get("NextToken")
            if not token:
                return


def keep_retry_after(response_dict: dict[str, Any], customized_response_dict: dict[str, Any], **_: Any) -> None:
    """Keep an error's RetryAfterSeconds even where its shape does not declare it.

    botocore keeps only declared members: identitystore declares RetryAfterSeconds on
    ThrottlingException and InternalServerException, not on ConflictException, so the wait
    a CONCURRENT_MODIFICATION asks for would be lost, and the retry come too soon.
    """
    if int(response_dict.get("status_code") or 0) < 400:
        return
    try:
        body = json.loads(response_dict.get("body") or b"{}")
    except ValueError:  # not JSON (query/XML services): nothing to keep
        return
    value = body.get("RetryAfterSeconds") if isinstance(body, dict) else None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        customized_response_dict["RetryAfterSeconds"] = value


def translate(exc: BaseException, service: str = "") -> BaseException:
    """botocore exceptions -> our error tree; other exceptions unchanged."""
    from botocore.exceptions import NoCredentialsError, NoRegionError, PartialCredentialsError

    if isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
        return CredentialsError(
            "no AWS credentials found: use --profile with an IAM Identity Center or role profile "
            "(`aws sso login --profile NAME`), or export temporary credentials"
        )
    if isinstance(exc, NoRegionError):
        return CredentialsError("no AWS Region set: pass --region, set region: in the config, or AWS_REGION")
    operation = str(getattr(exc, "operation_name", "") or "AWS call")
    code = error_code(exc)
    if code is not None:
        message = str(getattr(exc, "response", {}).get("Error", {}).get("Message", "")) or code
        kind = AwsAccessError if code in ACCESS_CODES | CREDENTIAL_CODES else AwsError
        return kind(code, message, operation, request_id(exc), error_reason(exc), service)
    if is_connection_error(exc):
        return AwsError("ConnectionError", str(exc), operation)
    return exc


@dataclass(frozen=True)
class ClientSettings:
    """Knobs for building clients; the defaults are the AWS quotas."""

    region: str | None = None
    profile: str | None = None
    endpoint_url: str | None = None
    sso_admin_tps: float = quotas.SSO_ADMIN_TPS
    identity_store_tps: float = quotas.IDENTITY_STORE_TPS
    other_tps: float = 10.0
    retry: RetrySettings = field(default_factory=RetrySettings)
    max_pool_connections: int = 32


class Clients:
    """The AWS clients one run uses, built once from a boto3 session."""

    def __init__(
        self,
        session: boto3.session.Session,
        settings: ClientSettings | None = None,
        clock: Clock | None = None,
        on_retry: Callable[[str, BaseException, float], None] | None = None,
    ) -> None:
        self.session = session
        self.settings = settings or ClientSettings()
        self.clock = clock or Clock()
        self.log = CallLog()
        self.retrier = Retrier(self.settings.retry, self.clock, on_retry=on_retry)
        self._apis: dict[str, Api[Any]] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_settings(
        cls,
        settings: ClientSettings,
        clock: Clock | None = None,
        on_retry: Callable[[str, BaseException, float], None] | None = None,
    ) -> Clients:
        import boto3
        from botocore.exceptions import ProfileNotFound

        try:
            session = boto3.session.Session(profile_name=settings.profile, region_name=settings.region)
        except ProfileNotFound:
            raise CredentialsError(
                f"AWS profile {settings.profile!r} is not in ~/.aws/config; list profiles with "
                "`aws configure list-profiles`"
            ) from None
        return cls(session, settings, clock, on_retry)

    @property
    def region(self) -> str | None:
        return self.settings.region or self.session.region_name

    def _api(self, service: str, tps: float, region: str | None = None) -> Api[Any]:
        region = region or self.region
        with self._lock:
            api = self._apis.get(f"{service}@{region}")
            if api is None:
                from botocore.config import Config

                if not region:
                    raise CredentialsError("no AWS Region set: pass --region, set region: in the config, or AWS_REGION")
                client = self.session.client(
                    service,  # type: ignore[call-overload]
                    region_name=region,
                    endpoint_url=self.settings.endpoint_url,
                    config=Config(
                        # We retry ourselves (retry.Retrier) so every wait is injectable
                        # and every error is classified in one place.
                        retries={"mode": "standard", "total_max_attempts": 1},
                        max_pool_connections=self.settings.max_pool_connections,
                        connect_timeout=10,
                        read_timeout=60,
                    ),
                )
                api = Api(service, client, RateLimiter(tps, self.clock), self.retrier, self.log)
                self._apis[f"{service}@{region}"] = api
            return api

    def for_region(self, service: str, region: str) -> Api[Any]:
        """A client of `service` in another Region (doctor looks for the instance elsewhere)."""
        return self._api(service, self.settings.other_tps, region)

    @property
    def sso_admin(self) -> Api[SSOAdminClient]:
        return self._api("sso-admin", self.settings.sso_admin_tps)

    @property
    def identitystore(self) -> Api[IdentityStoreClient]:
        return self._api("identitystore", self.settings.identity_store_tps)

    @property
    def sts(self) -> Api[STSClient]:
        return self._api("sts", self.settings.other_tps)

    @property
    def iam(self) -> Api[IAMClient]:
        return self._api("iam", self.settings.other_tps)

    @property
    def organizations(self) -> Api[OrganizationsClient]:
        return self._api("organizations", self.settings.other_tps)
