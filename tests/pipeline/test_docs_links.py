"""Docs can't point nowhere: every relative link in README.md, CHANGELOG.md and docs/ names a
file of the repository and, with ``#anchor``, a heading of that file (GitHub's slugs); the
README's layout table names every top-level folder."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.pipeline.docs_commands import ROOT, doc_files

LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$")


def _slug(heading: str) -> str:
    """GitHub's anchor: lower case, punctuation dropped (``-`` and ``_`` kept), spaces -> ``-``."""
    text = re.sub(r"[^\w\- ]", "", heading.replace("`", "").lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    out: set[str] = set()
    in_block = False
    for line in path.read_text().splitlines():
        if re.match(r"^\s*(```|~~~)", line):
            in_block = not in_block
            continue
        match = None if in_block else HEADING.match(line)
        if match:
            slug = _slug(match.group(1))
            n = seen.get(slug, 0)
            seen[slug] = n + 1
            out.add(slug if n == 0 else f"{slug}-{n}")
    return out


def broken_links(path: Path, root: Path = ROOT) -> list[str]:
    text = re.sub(r"(?ms)^\s*(```|~~~).*?^\s*\1", "", path.read_text())  # not in code blocks
    text = re.sub(r"`[^`\n]*`", "", text)
    broken = []
    for target in LINK.findall(text):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto:, ...
            continue
        file_part, _, anchor = target.partition("#")
        dest = (path.parent / file_part).resolve() if file_part else path
        if not dest.exists():
            broken.append(f"{path.relative_to(root)}: {target} (no such file)")
        elif anchor and dest.is_file() and anchor not in anchors(dest):
            broken.append(f"{path.relative_to(root)}: {target} (no such heading)")
    return broken


def test_every_relative_link_resolves() -> None:
    files = doc_files()
    assert any(LINK.search(f.read_text()) for f in files), "the checker found no link at all"
    broken = [b for f in files for b in broken_links(f)]
    assert not broken, "\n".join(broken)


def test_the_checker_catches_a_broken_link(tmp_path: Path) -> None:
    doc = tmp_path / "page.md"
    (tmp_path / "other.md").write_text("# Other\n\n## The `run` lock (per host)\n")
    doc.write_text(
        "[a](other.md#the-run-lock-per-host) [b](other.md#nope) [c](gone.md) "
        "[d](https://example.com/x.md) `[e](ignored.md)`\n"
    )
    broken = [line.split(": ", 1)[1] for line in broken_links(doc, root=tmp_path)]
    assert broken == ["other.md#nope (no such heading)", "gone.md (no such file)"]


def test_readme_layout_lists_every_top_level_folder() -> None:
    files = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    folders = {f.split("/", 1)[0] for f in files if "/" in f}
    readme = (ROOT / "README.md").read_text()
    layout = readme.split("## Layout", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"`([^`/]+)/`", layout))
    assert folders - listed == set(), f"README's layout table misses {sorted(folders - listed)}"
    assert listed - folders == set(), f"README's layout table lists {sorted(listed - folders)}"
