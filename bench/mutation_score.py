"""The mutation score of ``make mutate``: what share of the mutants the unit tests kill.

Reads ``mutmut results --all true`` (one "name: status" line per mutant) and prints a line per
module and the total. Killed (and timed-out) mutants count for the tests; survivors and mutants
no test reaches count against them.
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

KILLED = {"killed", "timeout"}


def main() -> int:
    mutmut = Path(sys.executable).with_name("mutmut")
    listing = subprocess.run([str(mutmut), "results", "--all", "true"], capture_output=True, text=True, check=True).stdout
    per_module: dict[str, Counter] = defaultdict(Counter)
    for line in listing.splitlines():
        name, _, status = line.strip().rpartition(": ")
        if not name:
            continue
        module = name.split(".x_")[0].split(".xǁ")[0]
        per_module[module][status] += 1
    total = Counter()
    print(f"{'module':<36} {'mutants':>8} {'killed':>7} {'survived':>9} {'no test':>8} {'score':>6}")
    for module in sorted(per_module):
        counts = per_module[module]
        total.update(counts)
        print(_line(module, counts))
    print(_line("all", total))
    return 0


def _line(label: str, counts: Counter) -> str:
    mutants = sum(counts.values())
    killed = sum(counts[s] for s in KILLED)
    score = killed / mutants if mutants else 0.0
    return f"{label:<36} {mutants:>8} {killed:>7} {counts['survived']:>9} {counts['no tests']:>8} {score:>6.0%}"


if __name__ == "__main__":
    sys.exit(main())
