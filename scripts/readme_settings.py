"""Write the README's tap settings table from `tap-partnerapi --about --format=markdown`.

The rows between the `tap-settings` markers of README.md are the tap's own settings as the
markdown `--about` lists them (required, default, description), with the JSON type from
`--about --format=json`; singer-sdk's standard settings are left to its documentation.
`--check` exits 1 when the README differs (tests/pipeline/test_packaging_definition.py runs it).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import plugin_definition  # a sibling script: scripts/ is sys.path[0] when run

ROOT = plugin_definition.ROOT
README = ROOT / "README.md"
BLOCK = re.compile(r"(<!-- tap-settings: begin[^>]*-->\n)(.*?)(<!-- tap-settings: end -->)",
                   re.S)
HEAD = "| setting | type | default | description |\n|---|---|---|---|\n"


def about_markdown() -> str:
    exe = Path(sys.executable).parent / "tap-partnerapi"
    return subprocess.run([str(exe), "--about", "--format=markdown"], capture_output=True,
                          text=True, check=True).stdout


def markdown_rows(markdown: str) -> dict[str, tuple[str, str, str]]:
    """name -> (required, default, description) from the `## Settings` table."""
    section = markdown.split("## Settings", 1)[1]
    rows = {}
    for line in section.splitlines()[1:]:
        if line.startswith("## "):
            break
        if not line.startswith("| ") or line.startswith(("| Setting ", "|:")):
            continue
        name, required, default, description = line.strip().strip("|").split("|", 3)
        rows[name.strip()] = (required.strip(), default.strip(), description.strip())
    return rows


def table(markdown: str, info: dict[str, Any]) -> str:
    props = info["settings"]["properties"]
    sdk = plugin_definition.sdk_settings()
    lines = []
    for name, (required, default, description) in markdown_rows(markdown).items():
        if name not in props or name in sdk:
            continue  # singer-sdk's settings and their nested keys (stream_maps.__else__)
        typ = plugin_definition.json_type(props[name]) or "object"
        if props[name].get("secret"):
            typ += " (secret)"
        shown = ("required" if required == "True" else
                 "—" if default == "None" else f"`{default}`")
        lines.append(f"| `{name}` | {typ} | {shown} | {description} |\n")
    return HEAD + "".join(lines)


def render(readme: str, markdown: str, info: dict[str, Any]) -> str:
    if not BLOCK.search(readme):
        raise SystemExit("README.md has no tap-settings markers")
    return BLOCK.sub(lambda m: m.group(1) + table(markdown, info) + m.group(3), readme)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 if README.md differs")
    args = parser.parse_args()
    readme = README.read_text()
    new = render(readme, about_markdown(), plugin_definition.about())
    if args.check:
        if new != readme:
            print("README.md's tap settings table differs from `tap-partnerapi --about`: run "
                  "scripts/readme_settings.py", file=sys.stderr)
            return 1
        return 0
    if new != readme:
        README.write_text(new)
        print("README.md: tap settings table written from `tap-partnerapi --about`")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
