#!/usr/bin/env python3
"""Write the reference organization as a config: deterministic, any size.

python scripts/reference_org.py > reference.yaml          # 20 sets, 30 groups, 200 users,
                                                          # 50 accounts, 1,000 assignments
python scripts/reference_org.py --accounts 100 --assignments 2000
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.realism.orgs import organization  # noqa: E402

REFERENCE = {"groups": 30, "users": 200, "permission_sets": 20, "accounts": 50, "assignments": 1000}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    for name, default in REFERENCE.items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=int, default=default)
    args = parser.parse_args(argv)
    doc = organization(args.groups, args.users, args.permission_sets, args.accounts, args.assignments)
    yaml.safe_dump(doc, sys.stdout, sort_keys=False, width=120)
    return 0


if __name__ == "__main__":
    sys.exit(main())
