"""Session and client construction: one `Clients` object, built once and passed in.

Every AWS call goes through `Api.call`, which applies the shared rate limit, retries what is
transient, counts calls by operation, and turns botocore errors into our error tree.
"""

from __future__ import annotations

import json
import os
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

from . import quotas
from .errors import (
    ACCESS_CODES,
    CREDENTIAL_CODES,
    AwsAccessError,
    AwsError,
    CredentialsError,
    EndpointUnreachable,
    Interrupted,
    SettingsError,
    error_code,
    error_reason,
    request_id,
)
from .retry import Cancellation, Clock, RateLimiter, Retrier, RetrySettings, is_connect_failure, is_connection_error

if TYPE_CHECKING:
    import boto3
    from mypy_boto3_iam import IAMClient
    from mypy_boto3_identitystore import IdentityStoreClient
    from mypy_boto3_organizations import OrganizationsClient
    from mypy_boto3_sso_admin import SSOAdminClient
    from mypy_boto3_sts import STSClient

ClientT = TypeVar("ClientT")
R = TypeVar("R")

WRITE_PREFIXES = ("Create", "Update", "Delete", "Put", "Attach", "Detach", "Provision", "Tag", "Untag", "Register")


# IAM Identity Center's service principal in AWS Organizations (its delegated administrator).
IDENTITY_CENTER_PRINCIPAL = "sso.amazonaws.com"
# The prefix IAM policies use for a service's actions, where it differs from its name.
IAM_PREFIXES = {"sso-admin": "sso"}


def iam_action(service: str, operation: str) -> str:
    """The IAM action of an API call: sso-admin CreatePermissionSet -> sso:CreatePermissionSet."""
    return f"{IAM_PREFIXES.get(service, service)}:{operation}"


def is_write(operation: str) -> bool:
    return operation.startswith(WRITE_PREFIXES)


class CallLog:
    """Counts calls by 'service:Operation' (attempts, so retries count too); thread-safe."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.sequence: list[str] = []
        self._lock = threading.Lock()
        self._here = threading.local()

    def record(self, service: str, operation: str) -> None:
        with self._lock:
            self.counts[f"{service}:{operation}"] += 1
            self.sequence.append(operation)
        if is_write(operation):
            self._here.writes = self.writes_here() + 1

    def writes_here(self) -> int:
        """Write attempts sent by the calling thread so far (did this change write yet?)."""
        return int(getattr(self._here, "writes", 0))

    def writes(self) -> dict[str, int]:
        return {k: v for k, v in self.counts.items() if is_write(k.split(":", 1)[1])}

    def total(self) -> int:
        return sum(self.counts.values())


def origin(url: str) -> str:
    """scheme://host[:port] of a URL: what identifies an endpoint."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class AnsweredEndpoints:
    """The endpoints (by origin) that have sent any HTTP reply in this run; thread-safe."""

    def __init__(self) -> None:
        self._origins: set[str] = set()
        self._lock = threading.Lock()

    def add(self, endpoint: str) -> None:
        with self._lock:
            self._origins.add(endpoint)

    def __contains__(self, endpoint: object) -> bool:
        with self._lock:
            return endpoint in self._origins


class Api(Generic[ClientT]):
    """One service client behind our rate limit, retry policy and error translation.

    Calls are lambdas over the typed client, so the boto3 stubs check every parameter:
    `api.call(lambda c: c.describe_permission_set(InstanceArn=..., PermissionSetArn=...))`.
    """

    def __init__(
        self,
        service: str,
        client: ClientT,
        limiter: RateLimiter,
        retrier: Retrier,
        log: CallLog,
        answered: AnsweredEndpoints | None = None,
        profile: str | None = None,
    ) -> None:
        self.service = service
        self.client = client
        self.limiter = limiter
        self.retrier = retrier
        self.log = log
        self.answered = answered if answered is not None else AnsweredEndpoints()
        self.profile = profile
        self.endpoint = origin(client.meta.endpoint_url)  # type: ignore[attr-defined]
        # The prefix IAM policies use for this service's actions (sso:CreatePermissionSet).
        self.iam_prefix = IAM_PREFIXES.get(service, service)
        # The operation the calling thread is making, for errors that do not carry it
        # (parameter validation, connections, unparseable replies).
        self._current = threading.local()
        events: Any = client.meta.events  # type: ignore[attr-defined]
        events.register("before-parameter-build", self._operation_starts)
        # Every attempt, retries included, passes the shared rate limit and is counted.
        events.register("before-call", self._before_call)
        # Any HTTP reply, parseable or not, proves the endpoint is there.
        events.register("before-parse", self._endpoint_answered)
        events.register("before-parse", keep_retry_after)

    def _operation_starts(self, model: Any, **_: Any) -> None:
        self._current.operation = model.name

    def _before_call(self, model: Any, **_: Any) -> None:
        self.limiter.acquire()
        # Once the run is cancelled no write starts; reads go on (polling what is in flight).
        if self.retrier.cancel.cancelled and is_write(model.name):
            raise Interrupted(model.name)
        self.log.record(self.service, model.name)

    def _endpoint_answered(self, **_: Any) -> None:
        self.answered.add(self.endpoint)

    def reachable(self) -> bool:
        """Whether this client's endpoint has answered in this run."""
        return self.endpoint in self.answered

    def translate(self, exc: BaseException) -> BaseException:
        """`exc` in our error tree, naming the operation being made."""
        return translate(
            exc,
            self.iam_prefix,
            operation=getattr(self._current, "operation", None),
            endpoint=self.endpoint,
            reachable=self.reachable(),
            profile=self.profile,
        )

    @overload
    def call(self, fn: Callable[[ClientT], R], *, retry_conflicts: bool = False) -> R: ...

    @overload
    def call(
        self, fn: Callable[[ClientT], R], *, retry_conflicts: bool = False, ignore: tuple[str, ...]
    ) -> R | None: ...

    def call(
        self, fn: Callable[[ClientT], R], *, retry_conflicts: bool = False, ignore: tuple[str, ...] = ()
    ) -> R | None:
        """Run `fn(client)` with retries; raise a ProvisionerError on failure.

        An error whose code is in `ignore` (e.g. ResourceNotFoundException for a delete that a
        killed run already made) returns None instead.
        """
        self._current.operation = None
        try:
            return self.retrier.run(
                self.service,
                lambda: fn(self.client),
                retry_conflicts=retry_conflicts,
                reachable=self.reachable,
                translate=self.translate,
            )
        except Exception as exc:  # translated below; anything unknown is re-raised as is
            translated = self.translate(exc)
            if ignore and isinstance(translated, AwsError) and translated.code in ignore:
                return None
            if translated is exc:
                raise
            raise translated from exc

    def pages(self, fn: Callable[[ClientT, dict[str, Any]], Mapping[str, Any]], result_key: str) -> list[Any]:
        """Every item of a paginated list call; `fn(client, more)` must pass `**more` on.

        Each page is retried on its own, so a throttled page 7 does not restart at page 1.
        The items are read at once (a loop that makes calls on them never holds a listing
        half-read).
        """
        return [item for page in self.each_page(fn, result_key) for item in page.items]

    def each_page(self, fn: Callable[[ClientT, dict[str, Any]], Mapping[str, Any]], result_key: str) -> Iterator[Page]:
        """The pages of a paginated list call, each read when the loop asks for it: a loop
        that stops early reads no more pages, and only the page at hand is held. Each page
        is retried on its own, as in `pages`."""
        token: str | None = None
        while True:
            more = {"NextToken": token} if token else {}
            page = self.call(lambda c: fn(c, more))  # noqa: B023 - called before `more` changes
            token = page.get("NextToken")
            yield Page(list(page.get(result_key, [])), last=not token)
            if not token:
                return


@dataclass(frozen=True)
class Page:
    """One page of a listing; `last` when no page follows it."""

    items: list[Any]
    last: bool


def config_file() -> str:
    """The AWS config file botocore reads (AWS_CONFIG_FILE, else ~/.aws/config)."""
    return os.path.expanduser(os.environ.get("AWS_CONFIG_FILE") or os.path.join("~", ".aws", "config"))


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


def credentials_file() -> str:
    """The shared credentials file botocore reads (AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials)."""
    return os.path.expanduser(os.environ.get("AWS_SHARED_CREDENTIALS_FILE") or os.path.join("~", ".aws", "credentials"))


def one_line(text: str) -> str:
    return " ".join(text.split())


def translate(
    exc: BaseException,
    service: str = "",
    operation: str | None = None,
    endpoint: str | None = None,
    reachable: bool = True,
    profile: str | None = None,
) -> BaseException:
    """botocore exceptions -> our error tree; other exceptions unchanged.

    Every botocore error becomes one line that names the operation (when known) and a fix.
    `reachable` says whether `endpoint` has answered before in this run.
    """
    from botocore import exceptions as boto
    from botocore.parsers import ResponseParserError

    operation = str(getattr(exc, "operation_name", "") or operation or "AWS call")
    credentials = _credentials_problem(exc, profile or "default")
    if credentials is not None:
        return credentials
    if isinstance(exc, boto.NoRegionError):
        return SettingsError(NO_REGION)
    code = error_code(exc)
    if code is not None:
        message = str(getattr(exc, "response", {}).get("Error", {}).get("Message", "")) or code
        kind = AwsAccessError if code in ACCESS_CODES | CREDENTIAL_CODES else AwsError
        return kind(code, one_line(message), operation, request_id(exc), error_reason(exc), service)
    if is_connect_failure(exc) and not reachable:
        return EndpointUnreachable(_unreachable(exc, operation))
    if is_connection_error(exc):
        return AwsError(type(exc).__name__, one_line(str(exc)), operation, service=service)
    if isinstance(exc, ResponseParserError):
        where = endpoint or "the endpoint"
        return AwsError(
            "ResponseParserError",
            f"the reply from {where} is not an AWS response; check --endpoint-url, AWS_ENDPOINT_URL "
            "and any proxy in between",
            operation,
            service=service,
        )
    if isinstance(exc, boto.BotoCoreError):
        return AwsError(type(exc).__name__, one_line(str(exc)), operation, service=service)
    return exc


NO_REGION = (
    "no AWS Region set: pass --region, set region: in the config, or set AWS_REGION "
    "(or AWS_DEFAULT_REGION, or region in the profile)"
)


def _credentials_problem(exc: BaseException, profile: str) -> CredentialsError | None:
    """A one-line CredentialsError with its fix, when `exc` is about credentials or the config file."""
    from botocore import exceptions as boto

    login = f"run `aws sso login --profile {profile}`"
    if isinstance(exc, boto.NoCredentialsError):
        return CredentialsError(
            "no AWS credentials found: use --profile with an IAM Identity Center or role profile "
            "(`aws sso login --profile NAME`), or export temporary credentials"
        )
    if isinstance(exc, boto.PartialCredentialsError):
        provider = str(exc.kwargs.get("provider", ""))
        where = {
            "env": "the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)",
            "shared-credentials-file": credentials_file(),
            "config-file": config_file(),
            "assume-role": config_file(),
        }.get(provider, provider)
        return CredentialsError(
            f"incomplete AWS credentials for profile {profile} in {where}: {exc.kwargs.get('cred_var')} "
            "is missing (in that profile or its source_profile); complete it, or use an IAM Identity "
            "Center profile (`aws sso login --profile NAME`)"
        )
    if isinstance(exc, boto.SSOTokenLoadError):
        return CredentialsError(f"profile {profile} has not signed in to IAM Identity Center: {login}")
    if isinstance(exc, (boto.SSOError, boto.TokenRetrievalError)):
        return CredentialsError(f"the IAM Identity Center sign-in of profile {profile} has expired: {login}")
    if isinstance(exc, boto.InvalidConfigError):
        return CredentialsError(
            f"{config_file()}: {one_line(str(exc))} Fix profile {profile} there, or use another profile"
        )
    if isinstance(exc, boto.ConfigParseError):
        error = exc.kwargs.get("error")
        detail = str(error).splitlines()[0] if error else "not an INI file"
        return CredentialsError(
            f"{exc.kwargs.get('path')} cannot be parsed ({detail}): fix the file, or point "
            "AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE at another one"
        )
    if isinstance(exc, boto.ProfileNotFound):
        return CredentialsError(
            f"AWS profile {exc.kwargs.get('profile', profile)!r} is not in {config_file()}; list profiles with "
            "`aws configure list-profiles`"
        )
    if isinstance(exc, boto.CredentialRetrievalError):
        return CredentialsError(f"cannot get credentials for profile {profile}: {one_line(str(exc))}")
    return None


def _unreachable(exc: BaseException, operation: str) -> str:
    """Why nothing answered, by the type of the underlying error, and what to check."""
    import socket

    from botocore import exceptions as boto
    from urllib3.exceptions import NameResolutionError

    kwargs: dict[str, Any] = getattr(exc, "kwargs", {})
    url = str(kwargs.get("endpoint_url") or kwargs.get("proxy_url") or "")
    error = kwargs.get("error")
    if isinstance(exc, boto.ProxyConnectionError):
        why = "the proxy does not answer"
    elif isinstance(exc, boto.SSLError):
        why = f"TLS failed ({one_line(str(error))})"
    elif isinstance(exc, boto.ConnectTimeoutError):
        why = "the connection timed out"
    elif isinstance(error, (NameResolutionError, socket.gaierror)):
        why = "its host name does not resolve"
    elif isinstance(getattr(error, "__cause__", None), ConnectionRefusedError):
        why = "the connection was refused"
    else:
        why = "no connection could be made"
    return (
        f"{operation}: cannot reach {origin(url) if url else 'the endpoint'}: {why}. Check --endpoint-url "
        "(or AWS_ENDPOINT_URL), the Region, and the network"
    )


def check_endpoint_url(url: str, source: str) -> None:
    """An endpoint URL botocore can use: http(s)://host[:port][/path]."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        # Suggest the URL with the scheme it lacks; one with another scheme (ftp://) has no fix to guess.
        example = f", e.g. http://{url}" if "://" not in url else ""
        raise SettingsError(f"{source} must start with http:// or https:// (got {url!r}{example})")


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
        cancel: Cancellation | None = None,
    ) -> None:
        self.session = session
        self.settings = settings or ClientSettings()
        # Set to stop the run: no write starts after it, no call is retried.
        self.cancel = cancel or Cancellation()
        # The real clock's sleeps end at the cancellation, so nothing waits out a backoff.
        self.clock = clock or Clock(sleep=self.cancel.sleep)
        self.log = CallLog()
        self.retrier = Retrier(self.settings.retry, self.clock, on_retry=on_retry, cancel=self.cancel)
        self.answered = AnsweredEndpoints()
        self._apis: dict[str, Api[Any]] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_settings(
        cls,
        settings: ClientSettings,
        clock: Clock | None = None,
        on_retry: Callable[[str, BaseException, float], None] | None = None,
        cancel: Cancellation | None = None,
    ) -> Clients:
        import boto3

        if settings.endpoint_url:
            check_endpoint_url(settings.endpoint_url, "--endpoint-url")
        elif os.environ.get("AWS_ENDPOINT_URL"):
            check_endpoint_url(os.environ["AWS_ENDPOINT_URL"], "AWS_ENDPOINT_URL")
        # The AWS CLI v2 order: --region, then AWS_REGION, then AWS_DEFAULT_REGION, then the
        # profile's region (AWS CLI user guide, "Environment variables to configure the AWS CLI").
        # boto3 reads only the last two; the config's region: is folded into settings.region.
        region = settings.region or os.environ.get("AWS_REGION") or None
        try:
            session = boto3.session.Session(profile_name=settings.profile, region_name=region)
        except Exception as exc:
            translated = translate(exc, profile=settings.profile)
            if translated is exc:
                raise
            raise translated from None
        return cls(session, settings, clock, on_retry, cancel)

    @property
    def region(self) -> str | None:
        return self.settings.region or self.session.region_name

    def _api(self, service: str, tps: float, region: str | None = None) -> Api[Any]:
        region = region or self.region
        with self._lock:
            api = self._apis.get(f"{service}@{region}")
            if api is None:
                if not region:
                    raise SettingsError(NO_REGION)
                client = self._client(service, region)
                api = Api(
                    service,
                    client,
                    RateLimiter(tps, self.clock),
                    self.retrier,
                    self.log,
                    self.answered,
                    self.session.profile_name,
                )
                self._apis[f"{service}@{region}"] = api
            return api

    def _client(self, service: str, region: str) -> Any:
        """A botocore client; credentials and endpoint problems become one-line errors."""
        from botocore.config import Config
        from botocore.exceptions import InvalidRegionError

        try:
            return self.session.client(
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
        except InvalidRegionError:
            raise SettingsError(f"{region!r} is not a Region name: pass one like ap-northeast-2") from None
        except Exception as exc:
            translated = translate(exc, profile=self.session.profile_name)
            if translated is not exc:
                raise translated from None
            if isinstance(exc, ValueError):  # botocore's "Invalid endpoint: ..." for a URL from env or profile
                raise SettingsError(
                    f"cannot set up the {service} client: {exc}; an endpoint URL (--endpoint-url, "
                    "AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_<SERVICE>, endpoint_url in the profile) must start "
                    "with http:// or https://"
                ) from None
            raise

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
