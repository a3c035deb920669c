"""Retry of transient AWS errors, a shared rate limit, and polling of asynchronous requests.

Time comes from a `Clock` that tests replace, so no test ever sleeps for real. A
`Cancellation` asks a run to stop: retries end, nothing new is fired, and what is in
flight is polled for a short grace.
"""

from __future__ import annotations

import bisect
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from tenacity import RetryCallState, Retrying, retry_if_exception

from . import quotas
from .errors import (
    SERVER_CODES,
    THROTTLING_CODES,
    AwsError,
    Interrupted,
    ProvisionerError,
    error_code,
    error_reason,
    http_status,
)
from .plan import NOT_STARTED, UNKNOWN

T = TypeVar("T")
# map(fn, items) -> results in order: sequential, or a thread pool's map.
Mapper = Callable[[Callable[[Any], Any], list[Any]], list[Any]]


def sequential(fn: Callable[[Any], Any], items: list[Any]) -> list[Any]:
    return [fn(item) for item in items]


@dataclass
class Clock:
    """Wall time and sleep, injectable. `now` is monotonic seconds."""

    now: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep


class FakeClock(Clock):
    """A clock whose sleep advances time instantly; for tests and dry simulations."""

    def __init__(self, start: float = 0.0) -> None:
        self.t = start
        self.slept: list[float] = []
        self._lock = threading.Lock()
        super().__init__(now=self._now, sleep=self._sleep)

    def _now(self) -> float:
        return self.t

    def _sleep(self, seconds: float) -> None:
        with self._lock:
            self.slept.append(seconds)
            self.t += max(seconds, 0.0)


class Cancellation:
    """A request to stop the run, made once (the CLI makes it on Ctrl-C) and consulted by
    the library, which never sees signals.

    `sleep` is a real sleep that the cancellation cuts short, so a run waiting out a backoff
    or a poll interval notices at once; sleeps begun after it are whole.
    """

    def __init__(self) -> None:
        # Reentrant: `cancel` may run in a signal handler on the thread that holds it.
        self._cond = threading.Condition(threading.RLock())
        self._cancelled = False

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    def cancel(self) -> None:
        with self._cond:
            self._cancelled = True
            self._cond.notify_all()

    def sleep(self, seconds: float) -> None:
        if self._cancelled:
            time.sleep(max(seconds, 0.0))
            return
        with self._cond:
            self._cond.wait_for(lambda: self._cancelled, timeout=max(seconds, 0.0))


class RateLimiter:
    """A token bucket shared by every thread that calls one service."""

    def __init__(self, rate: float, clock: Clock, burst: float | None = None) -> None:
        self.rate = rate
        self.capacity = burst if burst is not None else max(1.0, rate)
        self.tokens = self.capacity
        self.clock = clock
        self.updated = clock.now()
        self._lock = threading.Lock()

    def acquire(self) -> None:
        if self.rate <= 0:
            return
        while True:
            with self._lock:
                now = self.clock.now()
                self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
                self.updated = now
                if self.tokens >= 1 - 1e-9:  # tolerance: refills are floating-point sums
                    self.tokens = max(self.tokens - 1, 0.0)
                    return
                wait = max((1 - self.tokens) / self.rate, 0.001)
            self.clock.sleep(wait)


def is_connection_error(exc: BaseException) -> bool:
    """No connection could be made, or one broke before the reply was complete."""
    from botocore.exceptions import HTTPClientError

    return is_connect_failure(exc) or isinstance(exc, HTTPClientError)


def is_connect_failure(exc: BaseException) -> bool:
    """No connection could be made: refused, unknown host, connect timeout, TLS or proxy failure.

    botocore raises its ConnectionError family before a request is sent, and HTTPClientError
    (ConnectionClosedError, ReadTimeoutError) when an established connection breaks.
    """
    from botocore.exceptions import ConnectionError as BotoConnectionError

    return isinstance(exc, BotoConnectionError)


def is_transient(exc: BaseException) -> bool:
    """Throttling, 5xx, dropped connections and identitystore's concurrent modification.

    A failure to connect counts as transient here; `Retrier.run` gives up on it at once when
    the endpoint has not answered yet in this run (see `reachable`).
    """
    if is_connection_error(exc):
        return True
    code = error_code(exc)
    if code is None:
        return False
    if code in THROTTLING_CODES or code in SERVER_CODES:
        return True
    status = http_status(exc)
    if status is not None and status >= 500:
        return True
    return code == "ConflictException" and error_reason(exc) == "CONCURRENT_MODIFICATION"


def may_have_taken_effect(exc: BaseException) -> bool:
    """A dropped reply or a 5xx may hide a call that took effect; throttling, conflicts and a
    connection never made do not."""
    if is_connection_error(exc):
        return not is_connect_failure(exc)
    status = http_status(exc)
    return error_code(exc) in SERVER_CODES or (status is not None and status >= 500)


def is_conflict(exc: BaseException) -> bool:
    return error_code(exc) == "ConflictException"


def retry_after(exc: BaseException) -> float | None:
    response: Any = getattr(exc, "response", None)
    if isinstance(response, dict):
        value = response.get("RetryAfterSeconds")
        if value is not None:
            try:
                return float(value)
            except (TypeError, ValueError):
                return None
    return None


@dataclass(frozen=True)
class RetrySettings:
    """Backoff, and how long one call may be retried: bounded by time, never by a count."""

    base_delay: float = 0.25
    max_delay: float = 20.0
    deadline: float = quotas.RETRY_BUDGET_SECONDS
    # Transient ConflictException (a write in flight on the same permission set).
    conflict_deadline: float = 120.0


@dataclass
class Retrier:
    """Runs a call, retrying transient errors with exponential backoff and full jitter,
    until the time bound or a cancellation."""

    settings: RetrySettings
    clock: Clock
    rng: random.Random = field(default_factory=random.Random)
    on_retry: Callable[[str, BaseException, float], None] | None = None
    cancel: Cancellation = field(default_factory=Cancellation)

    def _wait(self, state: RetryCallState) -> float:
        return self._backoff(state.attempt_number, state.outcome.exception() if state.outcome else None)

    def _backoff(self, attempt: int, exc: BaseException | None) -> float:
        """Full jitter under an exponential ceiling, or longer when the error asks for it."""
        ceiling = min(self.settings.max_delay, self.settings.base_delay * 2 ** (attempt - 1))
        delay = self.rng.uniform(0, ceiling)
        hinted = retry_after(exc) if exc else None
        return max(delay, hinted or 0.0)

    def run(
        self,
        what: str,
        fn: Callable[[], T],
        retry_conflicts: bool = False,
        reachable: Callable[[], bool] | None = None,
        translate: Callable[[BaseException], BaseException] | None = None,
    ) -> T:
        """`fn()`, retried while its error is transient, within the time bound; raises its
        last error, or Interrupted once the run is cancelled.

        `reachable()` says whether the endpoint has answered before in this run: until it has,
        a failure to connect is not retried (a wrong endpoint, Region or network fails in
        seconds, not after minutes of backoff); after, it is a drop and is retried.
        `translate` turns the error into what `on_retry` is shown.
        """
        start = self.clock.now()
        deadline = self.settings.conflict_deadline if retry_conflicts else self.settings.deadline

        def should_retry(exc: BaseException) -> bool:
            if is_connect_failure(exc) and reachable is not None and not reachable():
                return False
            return is_transient(exc) or (retry_conflicts and is_conflict(exc))

        def stop(state: RetryCallState) -> bool:
            if self.cancel.cancelled:
                exc = state.outcome.exception() if state.outcome else None
                raise Interrupted(what, may_have_taken_effect=exc is not None and may_have_taken_effect(exc)) from exc
            return self.clock.now() - start >= deadline

        def before_sleep(state: RetryCallState) -> None:
            if self.on_retry and state.outcome and state.next_action:
                exc = state.outcome.exception()
                if exc is not None:
                    self.on_retry(what, translate(exc) if translate else exc, state.next_action.sleep)

        retrying = Retrying(
            retry=retry_if_exception(should_retry),
            stop=stop,
            wait=self._wait,
            sleep=self.clock.sleep,
            before_sleep=before_sleep,
            reraise=True,
        )
        return retrying(fn)


    def settle(self, what: str, write: Callable[[], T], explain: Callable[[AwsError], T | None]) -> T:
        """`write()`, reading each ConflictException it raises by looking things up.

        A conflict may mean that what it writes is there already (made meanwhile, or by our own
        attempt whose reply was lost), that another object holds a unique value, or that a write
        is in flight on the object; its reason may be missing, so it is never taken as "already
        exists". `explain(exc)` looks: it returns the result when the write is done already,
        raises a clear error when it never can be, or returns None when nothing explains the
        conflict; the write is then made again after a backoff, within the conflict time bound
        (`conflict_deadline`), after which the conflict is raised saying so.
        """
        start, attempt = self.clock.now(), 1
        while True:
            try:
                return write()
            except AwsError as exc:
                if exc.code != "ConflictException":
                    raise
                explained = explain(exc)
                if explained is not None:
                    return explained
                waited = self.clock.now() - start
                if waited >= self.settings.conflict_deadline:
                    message = f"{exc.aws_message} (refused for {waited:.0f}s; nothing found explains the conflict)"
                    raise AwsError(exc.code, message, exc.operation, exc.request_id, exc.reason, exc.service) from exc
                if self.cancel.cancelled:
                    raise Interrupted(what) from exc
                # The botocore error it was translated from carries any RetryAfterSeconds.
                self.clock.sleep(min(self._backoff(attempt, exc.__cause__), self.settings.conflict_deadline - waited))
                attempt += 1


@dataclass(frozen=True)
class PollSettings:
    """When to give up on asynchronous requests; how often to look at them is learnt (Cadence)."""

    timeout: float = quotas.POLL_TIMEOUT_SECONDS
    # The wait before the first look while no request has been seen to end (--poll-interval);
    # None: as long as the call that fired it took.
    first_delay: float | None = None
    # Looks never come closer together than this: one call's share of the rate limit.
    min_interval: float = 1.0 / quotas.SSO_ADMIN_TPS
    # Once the run is cancelled, how long the requests already fired are still polled.
    interrupt_grace: float = 10.0


class Cadence:
    """When to look at the requests in flight, learnt from how long those that ended took.

    A request's first look comes once the median of the completion times seen so far has
    passed; each look that finds it still IN_PROGRESS is followed by another an eighth of that
    median later, then a quarter, a half, and then a whole median apart. Looks are never
    closer together than an eighth of the median, so requests fired at different times are
    looked at together. A completion time is taken halfway between the last look that saw the
    request IN_PROGRESS (or its firing) and the look that saw it end, so the estimate comes
    down as well as up. Until one has been seen to end, the first look comes after `first`
    (else as long as the call that fired it took), and each wait is half as long as the
    request has waited so far: it is seen ended at most half its time late. Nothing but
    `floor` (one call's share of the rate limit) is a constant: the pace follows AWS, fast
    or slow.
    """

    def __init__(self, first: float | None, floor: float) -> None:
        self.first = first
        self.floor = floor
        self.took: list[float] = []  # the completion times seen, in order

    def median(self) -> float | None:
        took, middle = self.took, len(self.took) // 2
        if not took:
            return None
        return took[middle] if len(took) % 2 else (took[middle - 1] + took[middle]) / 2

    def first_look(self, fired: float, fire_took: float) -> float:
        """When to look first at requests fired by `fired` (their calls took `fire_took`)."""
        median = self.median()
        wait = median if median is not None else self.first if self.first is not None else fire_took
        return fired + max(wait, self.floor)

    def next_look(self, fired: float, now: float, misses: int) -> float:
        """When to look again at a request seen IN_PROGRESS at `now`, for the `misses`-th time."""
        median = self.median()
        if median is None:
            return now + max((now - fired) / 2, self.floor)
        return now + max(median * min(1.0, 2.0 ** (misses - 4)), self.floor)

    def spacing(self) -> float:
        """The least time between two looks: an eighth of the median, so requests fired at
        different times are looked at together, a few times per completion time."""
        return max(self.floor, (self.median() or 0.0) / 8)

    def ended(self, fired: float, in_progress: float, seen: float) -> None:
        """A request fired at `fired`, last seen IN_PROGRESS at `in_progress`, seen ended at `seen`."""
        bisect.insort(self.took, (max(in_progress, fired) + seen) / 2 - fired)


# The status `check` may give a request that left IN_PROGRESS before it knows whether it
# SUCCEEDED or FAILED: its slot is free at once, and `conclude` says which, a little later.
ENDED = "ENDED"


@dataclass
class AsyncOutcome:
    """The final word on one asynchronous request."""

    # SUCCEEDED, FAILED, TIMEOUT, ERROR (the call itself failed), SKIPPED (after a timeout),
    # or, the run cancelled, plan's NOT_STARTED (never fired) or UNKNOWN (fired, not seen to end)
    status: str
    reason: str | None = None
    request_id: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "SUCCEEDED"


@dataclass
class _Flight:
    """One request in flight: its item, when its firing ended, when it was last seen
    IN_PROGRESS (once it ENDED, when it was seen so), when to look at it next, and how many
    looks found it still IN_PROGRESS."""

    index: int
    fired: float
    seen: float
    due: float
    misses: int = 0


def run_async(
    items: list[T],
    fire: Callable[[T], Mapping[str, Any]],
    check: Callable[[list[str]], Mapping[str, Mapping[str, Any]]],
    limit: int,
    clock: Clock,
    settings: PollSettings,
    progress: Callable[[int, int], None] | None = None,
    parallel: Mapper = sequential,
    cancel: Cancellation | None = None,
    cadence: Cadence | None = None,
    conclude: Callable[[list[str]], Mapping[str, Mapping[str, Any]]] | None = None,
    rounds: Sequence[int] | None = None,
) -> list[AsyncOutcome]:
    """Fire requests with at most `limit` outstanding, poll them together, return outcomes.

    `fire(item)` starts one request and returns its status object (Status, RequestId,
    FailureReason). `check(request_ids)` looks at all outstanding requests at once and
    returns the status objects of those that ended; if the look fails, the next round looks
    again. A look is made when a request is due one (`cadence`, learnt from the completion
    times seen; a test may pass its own). `check` may say only that a
    request ENDED: its slot goes to the next request at once, and `conclude(request_ids)`
    gives the final status objects of those once the next requests are fired. `parallel`
    maps over a batch of new requests (a thread pool's map overlaps their round trips).
    `rounds[i]` is the round of `items[i]` (in order; None: one round): a round is fired only
    once no request of the rounds before it is IN_PROGRESS (AWS refuses a second provisioning
    of a set while one runs). A request still IN_PROGRESS `settings.timeout` seconds after it
    was fired is reported as TIMEOUT, with the error of the last status read if it failed; no
    new request is fired after that, and the rest, of every round, are SKIPPED. Once `cancel` is
    set, nothing more is fired (NOT_STARTED) and the requests in flight are polled for
    `settings.interrupt_grace` seconds more (UNKNOWN if still IN_PROGRESS then). A failed
    request does not stop the others. `progress(finished, total)` is told as each request
    ends; one cut short by the cancellation (NOT_STARTED, UNKNOWN) has not.
    """
    from .errors import AccessError, is_denied

    cancel = cancel or Cancellation()
    cadence = cadence or Cadence(settings.first_delay, settings.min_interval)
    outcomes: list[AsyncOutcome | None] = [None] * len(items)
    queue = list(range(len(items)))
    queue.reverse()
    inflight: dict[str, _Flight] = {}
    ended: dict[str, _Flight] = {}  # left IN_PROGRESS; SUCCEEDED or FAILED still to be told
    last_look: float | None = None
    done = 0
    timed_out = False
    grace_ends: float | None = None
    # Why the last look (or the last try to tell how requests ended) failed, if it did: said
    # with the outcomes it leaves unknown, else a TIMEOUT hides a status read that kept failing.
    look_failed: ProvisionerError | None = None
    tell_failed: ProvisionerError | None = None

    def finish(index: int, outcome: AsyncOutcome) -> None:
        nonlocal done
        outcomes[index] = outcome
        if outcome.status in (NOT_STARTED, UNKNOWN):
            return  # cut short by Ctrl-C: not finished, so not counted as progress
        done += 1
        if progress:
            progress(done, len(items))

    def try_fire(index: int) -> tuple[Mapping[str, Any] | ProvisionerError, float, float]:
        """The status object (or the error), and when the call started and ended."""
        started = clock.now()
        if cancel.cancelled:  # cancelled while this batch was being fired
            return Interrupted("request"), started, started
        try:
            return fire(items[index]), started, clock.now()
        except ProvisionerError as exc:
            # Bad credentials stop everything; AccessDenied fails this request only, and the
            # requests in flight are still polled to their end.
            if isinstance(exc, AccessError) and not is_denied(exc):
                raise
            return exc, started, clock.now()

    def settle(index: int, status: Mapping[str, Any]) -> None:
        finish(index, AsyncOutcome(str(status.get("Status")), status.get("FailureReason"), status.get("RequestId")))

    def tell(conclude: Callable[[list[str]], Mapping[str, Mapping[str, Any]]] | None) -> None:
        """Settle the requests that ENDED with what `conclude` says of them. If it cannot say,
        they are asked about again next round; once the run is cancelled, or after the
        timeout, their outcome is UNKNOWN."""
        nonlocal tell_failed
        try:
            told = conclude(list(ended)) if conclude is not None else {}
            tell_failed = None
        except AccessError:
            raise
        except ProvisionerError as exc:
            told, tell_failed = {}, exc
        for request_id, status in told.items():
            if (flight := ended.pop(request_id, None)) is not None:
                settle(flight.index, status)
        now = clock.now()
        for request_id, flight in list(ended.items()):
            if grace_ends is not None or now - flight.fired >= settings.timeout:
                del ended[request_id]
                finish(
                    flight.index,
                    AsyncOutcome(
                        UNKNOWN,
                        "it ended, but whether it succeeded could not be read" + _last_error(tell_failed),
                        request_id,
                    ),
                )
        if ended and not inflight:
            clock.sleep(cadence.spacing())  # before asking again

    def notice_cancel() -> None:
        nonlocal grace_ends
        if cancel.cancelled and grace_ends is None:
            grace_ends = clock.now() + settings.interrupt_grace

    current = rounds[0] if rounds else 0  # the round being fired
    while queue or inflight or ended:
        batch: list[int] = []
        while queue and not timed_out and not cancel.cancelled and len(inflight) + len(batch) < limit:
            if rounds and rounds[queue[-1]] != current:
                if inflight or batch:
                    break  # the next round waits for this one
                current = rounds[queue[-1]]
            batch.append(queue.pop())
        results = parallel(try_fire, batch)
        # A batch is fired together and looked at together, from when its last call ended:
        # its requests stay one wave, and a look frees the whole of it.
        batch_end = max((ended for _, _, ended in results), default=0.0)
        due = cadence.first_look(batch_end, max((ended - started for _, started, ended in results), default=0.0))
        for index, (fired, _, _) in zip(batch, results, strict=True):
            if isinstance(fired, Interrupted):
                if fired.may_have_taken_effect:
                    finish(index, AsyncOutcome(UNKNOWN, "interrupted: the request may have been made"))
                else:
                    finish(index, AsyncOutcome(NOT_STARTED))
            elif isinstance(fired, ProvisionerError):
                finish(index, AsyncOutcome("ERROR", str(fired)))
            elif fired.get("Status") == "IN_PROGRESS":
                inflight[str(fired["RequestId"])] = _Flight(index, batch_end, batch_end, due)
            else:
                settle(index, fired)
        notice_cancel()
        if timed_out or grace_ends is not None:
            for index in reversed(queue):
                finish(
                    index,
                    AsyncOutcome(NOT_STARTED)
                    if grace_ends is not None
                    else AsyncOutcome("SKIPPED", "not started: earlier requests timed out"),
                )
            queue.clear()
        # Told while the batch just fired is in flight, and once per completion time at most:
        # one listing then covers every request that ended meanwhile.
        if ended and (
            not (inflight or queue)
            or grace_ends is not None
            or clock.now() - min(f.seen for f in ended.values()) >= (cadence.median() or 0.0)
        ):
            tell(conclude)
        if not inflight:
            continue
        look = min(flight.due for flight in inflight.values())
        if last_look is not None:
            look = max(look, last_look + cadence.spacing())
        if grace_ends is not None:
            look = min(look, grace_ends)
        clock.sleep(max(look - clock.now(), 0.0))
        last_look = now = clock.now()
        try:
            finished = check(list(inflight))
            look_failed = None
        except AccessError:
            raise
        except ProvisionerError as exc:
            finished, look_failed = None, exc  # a look that failed tells nothing: the next one looks again
        for request_id, flight in list(inflight.items()):
            status = finished.get(request_id) if finished is not None else None
            if status is not None:
                del inflight[request_id]
                cadence.ended(flight.fired, flight.seen, now)
                if status.get("Status") == ENDED:
                    flight.seen = now  # from now on: when it was seen ended
                    ended[request_id] = flight
                else:
                    settle(flight.index, status)
                continue
            if finished is not None:
                flight.seen = now
            if flight.due <= now:
                flight.misses += 1
                flight.due = cadence.next_look(flight.fired, now, flight.misses)
        notice_cancel()
        now = clock.now()
        if grace_ends is not None:
            if now >= grace_ends:
                for request_id in list(inflight):
                    flight = inflight.pop(request_id)
                    finish(
                        flight.index,
                        AsyncOutcome(UNKNOWN, "interrupted while IN_PROGRESS" + _last_error(look_failed), request_id),
                    )
            continue
        if any(now - flight.fired >= settings.timeout for flight in inflight.values()):
            timed_out = True
            for request_id in list(inflight):
                flight = inflight.pop(request_id)
                finish(
                    flight.index,
                    AsyncOutcome(
                        "TIMEOUT",
                        f"still IN_PROGRESS after {settings.timeout:g}s; it may still finish: "
                        "run plan later, or raise --poll-timeout" + _last_error(look_failed),
                        request_id,
                    ),
                )
    return [o if o is not None else AsyncOutcome("SKIPPED") for o in outcomes]


def _last_error(error: ProvisionerError | None) -> str:
    """The failure of the last status read, for an outcome it leaves unknown."""
    return "" if error is None else f" (the last status read failed: {error})"
