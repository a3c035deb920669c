#!/usr/bin/env python3
"""`make mutants`: mutation testing with cosmic-ray of the modules the README's promises rest on.

    python scripts/mutants.py                  # retry, aws, runner, quotas; 2 at a time
    python scripts/mutants.py --jobs 1 quotas  # one module, one core

Each module is mutated in its own copy of the tree under build/mutants/ (cosmic-ray writes
each mutant into the file it mutates: the work tree is never touched, even by a run stopped
half way), and each mutant is judged by a fast subset of the tests that check that module,
with -x so a killed mutant stops at its first failing test. Modules run side by side, one
per job. At the end it prints every surviving mutant (file, line, operator, diff) and the
survival rate of each module and of all of them; the sessions stay in build/mutants/ for
`cr-report` and `cr-html`, and `--resume` goes on with a run that was stopped. Not part of
`make test`.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build" / "mutants"
BIN = Path(sys.executable).parent

# Module -> the tests that judge its mutants: those that check its promises, in-process and
# on fake clocks (no endpoint processes, no real sleeps), so one mutant costs seconds. Test
# files and test names, never lines or names inside the module, so the subsets survive a
# rewrite of the module's insides (runner.py is being restructured; its file name stays).
ASYNC = "tests/test_async.py::"
SUBSETS = {
    "retry": [
        "tests/test_retry.py",
        "tests/test_interrupt.py",
        ASYNC + "test_polling_waits_one_second_then_backs_off_to_five",
        ASYNC + "test_a_failed_status_read_is_looked_at_again_next_round",
        ASYNC + "test_denied_status_read_still_stops_the_run",
        ASYNC + "test_throttling_is_retried_for_a_time_budget_not_a_count",
        ASYNC + "test_retrying_stops_when_the_budget_is_spent",
        ASYNC + "test_polling_stops_at_the_timeout_and_names_what_is_pending_once",
    ],
    "aws": ["tests/test_retry.py", "tests/test_clients.py", "tests/test_interrupt.py"],
    "runner": ["tests/test_async.py", "tests/test_interrupt.py"],
    "quotas": ["tests/test_retry.py", "tests/test_async.py", "tests/test_config.py"],
}
# Replacing a binary operator by a shift, a bitwise one, a power, a modulo or a floor division
# says little that +, -, * and / replacements do not, and would be half of all mutants.
EXCLUDED_OPERATORS = [r"core/ReplaceBinaryOperator_.*_(Pow|RShift|LShift|BitOr|BitAnd|BitXor|Mod|FloorDiv)$"]
# A mutant whose tests run this long (a loop that no longer ends) counts as killed.
TIMEOUT = 60.0


@dataclass
class Outcome:
    module: str
    mutants: int
    survivors: int
    report: str

    @property
    def rate(self) -> float:
        return 100.0 * self.survivors / self.mutants if self.mutants else 0.0


def copy_tree(destination: Path) -> None:
    if destination.exists():
        shutil.rmtree(destination)
    ignore = shutil.ignore_patterns(".venv", "build", ".git", "__pycache__", "*.egg-info", ".pytest_cache")
    shutil.copytree(ROOT, destination, ignore=ignore, symlinks=True)


def config(module: str) -> str:
    tests = " ".join(SUBSETS[module])
    command = f"{sys.executable} -m pytest -x -q -p no:cacheprovider {tests}"
    excluded = ", ".join(f"'{pattern}'" for pattern in EXCLUDED_OPERATORS)
    return (
        "[cosmic-ray]\n"
        f'module-path = "provisioner/{module}.py"\n'
        f"timeout = {TIMEOUT}\n"
        "excluded-modules = []\n"
        f"test-command = '{command}'\n\n"
        "[cosmic-ray.distributor]\n"
        'name = "local"\n\n'
        "[cosmic-ray.filters.operators-filter]\n"
        f"exclude-operators = [{excluded}]\n"
    )


def run(args: list[str], cwd: Path) -> str:
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"mutants: {' '.join(args)} failed in {cwd}:\n{done.stdout}{done.stderr}")
    return done.stdout


def mutate(module: str, resume: bool = False) -> Outcome:
    """One cosmic-ray session: a fresh copy of the tree, init, a baseline, exec, the report;
    with `resume`, the mutants a stopped session had not run yet, in the copy it had."""
    work = BUILD / module
    tree = work / "tree"
    cfg, session = work / "cosmic-ray.toml", work / "session.sqlite"
    resume = resume and session.exists() and tree.exists()
    if not resume:
        copy_tree(tree)
    # The copy must be what its tests import, not the editable install of the work tree.
    imported = run([sys.executable, "-c", "import provisioner; print(provisioner.__file__)"], tree).strip()
    if not imported.startswith(str(tree)):
        raise SystemExit(f"mutants: the copy imports {imported}, not its own provisioner")
    if not resume:
        cfg.write_text(config(module))
        session.unlink(missing_ok=True)
        print(f"mutants: {module}: init, baseline, exec (tests: {' '.join(SUBSETS[module])})", flush=True)
        run([str(BIN / "cosmic-ray"), "init", str(cfg), str(session)], tree)
        run([str(BIN / "cr-filter-operators"), str(session), str(cfg)], tree)
        run([str(BIN / "cosmic-ray"), "baseline", str(cfg)], tree)
    else:
        print(f"mutants: {module}: resuming {session}", flush=True)
    run([str(BIN / "cosmic-ray"), "exec", str(cfg), str(session)], tree)
    report = run([str(BIN / "cr-report"), "--surviving-only", "--show-diff", str(session)], tree)
    tested = survived = 0
    for line in run([str(BIN / "cosmic-ray"), "dump", str(session)], tree).splitlines():
        _, result = json.loads(line)
        if result and result.get("worker_outcome") != "skipped":  # skipped: an excluded operator
            tested += 1
            survived += result.get("test_outcome") == "survived"
    return Outcome(module, tested, survived, report)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("modules", nargs="*", metavar="MODULE", help=f"any of {', '.join(SUBSETS)} (default: all)")
    parser.add_argument("--jobs", type=int, default=2, help="modules mutated side by side (default 2: the cores)")
    parser.add_argument("--resume", action="store_true", help="go on with the sessions a stopped run left")
    args = parser.parse_args(argv)
    if unknown := [m for m in args.modules if m not in SUBSETS]:
        parser.error(f"unknown module(s) {', '.join(unknown)}: choose from {', '.join(SUBSETS)}")
    BUILD.mkdir(parents=True, exist_ok=True)
    # The biggest first, so the jobs end together.
    modules = sorted(args.modules or list(SUBSETS), key=lambda m: -(ROOT / "provisioner" / f"{m}.py").stat().st_size)
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        outcomes = list(pool.map(lambda module: mutate(module, args.resume), modules))
    for outcome in outcomes:
        print(f"\n=== surviving mutants of provisioner/{outcome.module}.py\n{outcome.report}")
    print("\nmodule                  mutants  survived  rate")
    for outcome in sorted(outcomes, key=lambda o: o.module):
        name = f"provisioner/{outcome.module}.py"
        print(f"{name:<24}{outcome.mutants:>8}{outcome.survivors:>10}{outcome.rate:>7.1f}%")
    mutants = sum(o.mutants for o in outcomes)
    survivors = sum(o.survivors for o in outcomes)
    print(f"{'all':<24}{mutants:>8}{survivors:>10}{100.0 * survivors / max(mutants, 1):>7.1f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
