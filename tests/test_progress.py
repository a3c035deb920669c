"""Progress while a run changes AWS: each phase with done/total and the time left, on one line
of a terminal; creates as well as polled requests."""

from __future__ import annotations

import io
from typing import Any

from provisioner.cli.progress import ProgressLine, time_left
from provisioner.retry import PollSettings
from provisioner.runner import Runner, RunSettings
from tests import realism
from tests.conftest import make_clients, parse
from tests.test_async import MANY


class Now:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def screen(stream: io.StringIO) -> list[str]:
    """What a terminal shows: each line as last rewritten (\\r goes back, \\x1b[K clears)."""
    lines = []
    for line in stream.getvalue().replace("\x1b[K", "").split("\n"):
        lines.append(line.split("\r")[-1])
    return lines


def test_a_phase_shows_done_of_total_and_the_time_left_at_its_pace() -> None:
    stream, now = io.StringIO(), Now()
    line = ProgressLine(stream, now, width=200)
    line("assignments", 0, 1000)
    now.t = 10.0
    line("assignments", 100, 1000)
    assert screen(stream) == ["  assignments 100/1000, ~1m30s left"]


def test_phases_side_by_side_share_the_line_which_ends_when_all_are_over() -> None:
    stream, now = io.StringIO(), Now()
    line = ProgressLine(stream, now, width=200)
    line("users", 0, 200)
    line("permission sets", 0, 20)
    now.t = 1.0
    line("users", 50, 200)
    line("permission sets", 20, 20)
    assert screen(stream) == ["  users 50/200, ~3s left | permission sets 20/20"]
    now.t = 4.0
    line("users", 200, 200)
    assert screen(stream) == ["  users 200/200 | permission sets 20/20", ""]
    line("assignments", 0, 15)  # a later phase starts a line of its own
    assert screen(stream)[-1] == "  assignments 0/15"


def test_the_line_is_redrawn_a_few_times_a_second_not_on_every_change() -> None:
    stream, now = io.StringIO(), Now()
    line = ProgressLine(stream, now, width=200)
    for n in range(1000):
        now.t = n / 1000  # a thousand changes in one second
        line("memberships", n, 1000)
    line("memberships", 1000, 1000)
    assert 10 <= stream.getvalue().count("\r") <= 12


def test_a_long_line_is_cut_to_the_terminal() -> None:
    stream = io.StringIO()
    line = ProgressLine(stream, Now(), width=30)
    line("permission sets", 0, 20)
    line("assignments", 0, 1000)
    assert screen(stream) == ["  permission sets 0/20 | a..."]  # the last column free: no wrap


def test_time_left_reads_as_a_person_would() -> None:
    assert [time_left(s) for s in (0.2, 8, 125, 4200)] == ["~1s", "~8s", "~2m05s", "~1h10m"]


def test_a_run_tells_each_phase_from_none_to_all_done(aws: realism.State, clock: Any) -> None:
    realism.configure(async_seconds=3, clock=clock.now)
    told: list[tuple[str, int, int]] = []
    settings = RunSettings(poll=PollSettings(), workers=4)
    runner = Runner(make_clients(clock), parse(MANY), settings, progress=lambda *p: told.append(p))
    assert runner.apply(runner.plan()).ok
    phases = {phase: (total, [done for p, done, _ in told if p == phase]) for phase, _, total in told}
    assert {phase: total for phase, (total, _) in phases.items()} == {
        "groups": 6,
        "permission sets": 3,
        "assignments": 36,
    }
    for total, seen in phases.values():
        assert seen[0] == 0 and seen[-1] == total and sorted(seen) == seen
