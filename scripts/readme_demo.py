"""Put the last demo run's summary (output/demo/summary.txt, written by scripts/demo.py) into
README.md between the `demo-summary` markers, so the README's sample output is a real run's.

`make demo` runs it after a successful demo; `--check` exits 1 when the README differs.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
SUMMARY = ROOT / "output" / "demo" / "summary.txt"
BLOCK = re.compile(
    r"(<!-- demo-summary: begin[^>]*-->\n```\n)(.*?)(```\n<!-- demo-summary: end -->)", re.S
)


def render(readme: str, summary: str) -> str:
    if not BLOCK.search(readme):
        raise SystemExit("README.md has no demo-summary markers")
    summary = summary.replace(f"{ROOT}/", "")  # paths as a reader's checkout shows them
    return BLOCK.sub(lambda m: m.group(1) + summary.strip("\n") + "\n" + m.group(3), readme)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 if README.md differs")
    parser.add_argument("--summary", type=Path, default=SUMMARY)
    args = parser.parse_args()
    readme = README.read_text()
    new = render(readme, args.summary.read_text())
    if args.check:
        if new != readme:
            print(f"README.md's demo output differs from {args.summary}", file=sys.stderr)
            return 1
        return 0
    if new != readme:
        README.write_text(new)
        print(f"README.md: demo output refreshed from {args.summary.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
