"""Running Meltano from tests without tripping over other runs of the same project."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def own_sys_dir(tmp: Path) -> Path:
    """A private `.meltano` (run files, catalog cache, system db) that shares the installed
    plugin virtualenvs: concurrent Meltano runs of a plugin in one project share
    `.meltano/run/<plugin>/` and can remove each other's files. Use it as
    ``MELTANO_SYS_DIR_ROOT``."""
    sys_dir = tmp / "meltano_sys"
    sys_dir.mkdir(exist_ok=True)
    for kind in ("extractors", "loaders", "utilities"):
        if not (sys_dir / kind).exists():
            (sys_dir / kind).symlink_to(ROOT / ".meltano" / kind)
    return sys_dir
