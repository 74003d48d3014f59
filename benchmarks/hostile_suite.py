"""The hostile-input suite, counted: every test marked `hostile(KIND)` is one bad-input or fault
case; this runs them (the same tests the default `pytest` run includes) and prints, per kind, how
many keep adcut's promise (one clear line, exit 0/1/2 or 130, nothing lost), plus the run time.

    .venv/bin/python benchmarks/hostile_suite.py [--fuzz N] [--json] [pytest args...]

`--fuzz N` multiplies the number of examples of the property-based tests (ADCUT_FUZZ_EXAMPLES)
and lets hypothesis draw new ones instead of the fixed CI set.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


class Tally:
    """Collects the outcome of every hostile case, by kind."""

    def __init__(self) -> None:
        self.kind: dict[str, str] = {}
        self.outcome: dict[str, str] = {}
        self.seconds: Counter = Counter()

    def pytest_collection_modifyitems(self, items):
        for item in items:
            marker = item.get_closest_marker("hostile")
            if marker is not None:
                self.kind[item.nodeid] = marker.args[0] if marker.args else "unlabelled"

    def pytest_runtest_logreport(self, report):
        if report.nodeid not in self.kind:
            return
        self.seconds[report.nodeid] += report.duration
        if report.when == "call" or report.failed or report.skipped:
            previous = self.outcome.get(report.nodeid)
            if previous != "failed":
                self.outcome[report.nodeid] = report.outcome


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fuzz", type=float, default=1.0, help="examples multiplier")
    parser.add_argument("--json", action="store_true")
    args, rest = parser.parse_known_args()
    os.environ["ADCUT_FUZZ_EXAMPLES"] = str(args.fuzz)
    os.chdir(REPO)
    tally = Tally()
    started = time.perf_counter()
    code = pytest.main(["-q", "-m", "hostile", "-p", "no:cacheprovider", *rest], plugins=[tally])
    wall_s = time.perf_counter() - started
    by_kind: dict[str, Counter] = defaultdict(Counter)
    for nodeid, kind in tally.kind.items():
        by_kind[kind][tally.outcome.get(nodeid, "not run")] += 1
    rows = {kind: {"cases": sum(c.values()), "kept": c["passed"], "broke": c["failed"],
                   "skipped": c["skipped"] + c["not run"]}
            for kind, c in sorted(by_kind.items())}
    total = {k: sum(r[k] for r in rows.values()) for k in ("cases", "kept", "broke", "skipped")}
    report = {"kinds": rows, "total": total, "wall_s": round(wall_s, 1),
              "fuzz_multiplier": args.fuzz}
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"\n{'kind':<14}{'cases':>7}{'kept':>7}{'broke':>7}{'skipped':>9}")
        for kind, r in rows.items():
            print(f"{kind:<14}{r['cases']:>7}{r['kept']:>7}{r['broke']:>7}{r['skipped']:>9}")
        print(f"{'all':<14}{total['cases']:>7}{total['kept']:>7}{total['broke']:>7}"
              f"{total['skipped']:>9}")
        print(f"run time {wall_s:.1f} s (fuzz x{args.fuzz:g})")
    return int(code)


if __name__ == "__main__":
    sys.exit(main())
