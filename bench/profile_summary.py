"""Summarise a py-spy `--format raw` profile (collapsed stacks): where the server's time goes.

    python -m bench.profile_summary bench/results/<stamp>-profile.txt [--top 30]

`self` is the share of samples with the function on top of the stack; `inclusive` the share
with the function anywhere on it (each function counted once per sample).
"""
from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path
from typing import Any

_LINE = re.compile(r":\d+\)$")


def summarise(path: Path, top: int = 30) -> dict[str, Any]:
    self_t: Counter[str] = Counter()
    incl: Counter[str] = Counter()
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        if not line.strip() or " " not in line:
            continue
        stack, n_text = line.rsplit(" ", 1)
        try:
            n = int(n_text)
        except ValueError:
            continue
        total += n
        frames = [_LINE.sub(")", f) for f in stack.split(";") if f]
        if not frames:
            continue
        self_t[frames[-1]] += n
        for f in set(frames):
            incl[f] += n

    def pct(counter: Counter[str], keep: Any = None) -> list[tuple[str, float]]:
        rows = [(k, round(100.0 * v / total, 1)) for k, v in counter.most_common() if keep is None or keep(k)]
        return rows[:top]

    def tally(k: str) -> bool:
        return any(p in k for p in ("server/", "plugins/"))

    return {"samples": total, "self": pct(self_t), "inclusive_tally": pct(incl, tally),
            "inclusive_all": pct(incl)}


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.profile_summary")
    p.add_argument("file", type=Path)
    p.add_argument("--top", type=int, default=30)
    a = p.parse_args()
    s = summarise(a.file, a.top)
    print(f"{s['samples']} samples\n\nself time:")
    for k, v in s["self"]:
        print(f"  {v:5.1f}%  {k}")
    print("\ninclusive, Tally's own functions (server/, plugins/):")
    for k, v in s["inclusive_tally"]:
        print(f"  {v:5.1f}%  {k}")


if __name__ == "__main__":
    main()
