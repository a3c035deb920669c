"""The progress of a run that changes AWS, on one line of a terminal: each phase running (users,
assignments, ...) with how many of its changes are done and the time left."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO

# A line is redrawn at most this often, and whenever a phase begins or ends.
REDRAW_SECONDS = 0.1


@dataclass
class Phase:
    started: float
    done: int = 0
    total: int = 0

    @property
    def over(self) -> bool:
        return self.done >= self.total


def time_left(seconds: float) -> str:
    """~8s, ~2m05s, ~1h10m."""
    seconds = max(round(seconds), 1)
    if seconds < 60:
        return f"~{seconds}s"
    if seconds < 3600:
        return f"~{seconds // 60}m{seconds % 60:02d}s"
    return f"~{seconds // 3600}h{seconds % 3600 // 60:02d}m"


class ProgressLine:
    """One line rewritten in place: every phase begun since the line started, each with
    done/total and, while it runs, the time left at the pace so far. The line ends once all
    its phases are over; a phase begun after that starts a new one. Thread-safe: the lanes
    report side by side."""

    def __init__(self, stream: TextIO, clock: Callable[[], float] = time.monotonic, width: int | None = None) -> None:
        self.stream, self.clock, self.width = stream, clock, width
        self.phases: dict[str, Phase] = {}
        self.drawn = float("-inf")
        self._lock = threading.Lock()

    def __call__(self, phase: str, done: int, total: int) -> None:
        with self._lock:
            now = self.clock()
            if phase not in self.phases and done >= total:
                return  # told again that it ended, once its line was over
            begun = phase not in self.phases
            state = self.phases.setdefault(phase, Phase(now))
            ended = not state.over and done >= total
            state.done, state.total = done, total
            if all(p.over for p in self.phases.values()):
                self._draw(now, end=True)
                self.phases.clear()
            elif begun or ended or now - self.drawn >= REDRAW_SECONDS:
                self._draw(now)

    def close(self, why: str) -> None:
        """End a line whose phases did not all end (the run was interrupted or stopped),
        saying `why` after each of those."""
        with self._lock:
            if self.phases:
                self._draw(self.clock(), end=True, why=why)
                self.phases.clear()

    def render(self, now: float, why: str = "") -> str:
        """The line; with `why`, the phases not over are said to have stopped, not timed."""
        parts = []
        for name, p in self.phases.items():
            part = f"{name} {p.done}/{p.total}"
            if why and not p.over:
                part += f" {why}"
            elif 0 < p.done < p.total:
                part += f", {time_left((now - p.started) / p.done * (p.total - p.done))} left"
            parts.append(part)
        line = "  " + " | ".join(parts)
        width = self.width or shutil.get_terminal_size((100, 20)).columns
        return line if len(line) < width else line[: max(width - 4, 0)] + "..."

    def _draw(self, now: float, end: bool = False, why: str = "") -> None:
        # \r back to the start of the line, \x1b[K clears what a longer line left there.
        self.stream.write("\r" + self.render(now, why) + "\x1b[K" + ("\n" if end else ""))
        self.stream.flush()
        self.drawn = now
