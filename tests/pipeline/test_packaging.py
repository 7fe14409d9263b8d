"""The distribution as a user gets it: the wheel built from this checkout, installed in a fresh
virtualenv outside the repository. Its console scripts work, or say which extra they need."""

from __future__ import annotations

import configparser
import json
import os
import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
import yaml

from tests.support.meltano_fixtures import user_project

ROOT = Path(__file__).resolve().parents[2]
UV = str(Path(sys.executable).with_name("uv"))
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
ALL_EXTRAS = ",".join(sorted(set(PYPROJECT["optional-dependencies"]) - {"dev"}))
#: The console scripts that need an extra, and which one.
NEEDS_EXTRA = {"partnerapi-webhooks": "webhooks", "partnerapi-ops": "ops",
               "target-duckdb-bulk": "duckdb"}
DEFINITION = ROOT / "plugins" / "extractors" / "tap-partnerapi--partnerapi.yml"
IMPORTS = "import tap_partnerapi, partnerapi_sandbox, partnerapi_webhooks, partnerapi_ops"


def run(*args: str, cwd: Path, env: dict[str, str] | None = None,
        timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env=env)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel of the checkout's files (tracked or new, not ignored), built from a copy so
    the build leaves nothing (build/, *.egg-info) in the repository."""
    src = tmp_path_factory.mktemp("src")
    listed = run("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard",
                 cwd=ROOT)
    assert listed.returncode == 0, listed.stderr
    for name in filter(None, listed.stdout.split("\0")):
        path = ROOT / name
        if path.is_file():  # a tracked file deleted in the work tree is not listed as a file
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            (src / name).write_bytes(path.read_bytes())
    dist = tmp_path_factory.mktemp("dist")
    built = run(UV, "build", "--wheel", "--out-dir", str(dist), str(src), cwd=dist)
    assert built.returncode == 0, built.stderr[-3000:]
    (found,) = dist.glob("tap_partnerapi-*.whl")
    return found


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("venv")
    made = run(UV, "venv", "--python", sys.executable, str(home / "venv"), cwd=home)
    assert made.returncode == 0, made.stderr
    return home / "venv"


def clean_env() -> dict[str, str]:
    """No PYTHONPATH or active virtualenv: the installed wheel is what gets imported."""
    drop = ("PYTHONPATH", "VIRTUAL_ENV", "TAP_PARTNERAPI", "PARTNERAPI_")
    return {k: v for k, v in os.environ.items() if not k.startswith(drop)}


def install(venv: Path, requirement: str) -> None:
    proc = run(UV, "pip", "install", "--quiet", "--python", str(venv / "bin" / "python"),
               requirement, cwd=venv, env={**clean_env(), "UV_NO_PROGRESS": "1"})
    assert proc.returncode == 0, proc.stderr[-3000:]


def console_scripts(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as zf:
        (name,) = [n for n in zf.namelist() if n.endswith(".dist-info/entry_points.txt")]
        parser = configparser.ConfigParser()
        parser.read_string(zf.read(name).decode())
    return sorted(parser["console_scripts"])


def test_wheel_carries_license_and_version(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        (metadata,) = [n for n in names if n.endswith(".dist-info/METADATA")]
        meta = zf.read(metadata).decode()
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert "License-Expression: Apache-2.0" in meta
    assert f"Version: {PYPROJECT['version']}" in meta
    changelog = (ROOT / "CHANGELOG.md").read_text()
    released = re.findall(r"^## \[(\d+\.\d+\.\d+)\]", changelog, re.M)
    assert released and released[0] == PYPROJECT["version"], \
        "CHANGELOG.md's newest release is not pyproject's version"
    assert not [n for n in names if n.startswith(("tests/", "chaos/", "bench/", "scripts/"))]


def test_installed_wheel_outside_the_repo(wheel: Path, venv: Path, tmp_path: Path) -> None:
    bin_dir = venv / "bin"
    scripts = console_scripts(wheel)
    assert {"tap-partnerapi", "partnerapi-sandbox", *NEEDS_EXTRA} <= set(scripts)

    # Without extras: the tap and the sandbox work; the others name the extra they need.
    install(venv, str(wheel))
    about = run(str(bin_dir / "tap-partnerapi"), "--about", "--format=json", cwd=tmp_path,
                env=clean_env())
    assert about.returncode == 0, about.stderr[-2000:]
    info = json.loads(about.stdout)
    assert (info["name"], info["version"]) == ("tap-partnerapi", PYPROJECT["version"])
    assert "api_url" in info["settings"]["properties"]
    for script, extra in NEEDS_EXTRA.items():
        proc = run(str(bin_dir / script), "--help", cwd=tmp_path, env=clean_env())
        assert proc.returncode == 2, (script, proc.stdout, proc.stderr[-2000:])
        assert f"{script} needs the [{extra}] extra" in proc.stderr, proc.stderr[-2000:]
        assert f"pip install 'tap-partnerapi[{extra}]'" in proc.stderr
        assert "Traceback" not in proc.stderr

    # With every extra: every console script answers --help, every package imports - from
    # the virtualenv, not from the checkout.
    install(venv, f"{wheel}[{ALL_EXTRAS}]")
    for script in scripts:
        proc = run(str(bin_dir / script), "--help", cwd=tmp_path, env=clean_env())
        assert proc.returncode == 0, (script, proc.stderr[-2000:])
        assert "usage" in proc.stdout.lower(), (script, proc.stdout[:500])
    where = run(str(bin_dir / "python"), "-c",
                f"{IMPORTS}, target_duckdb_bulk; print(tap_partnerapi.__file__)",
                cwd=tmp_path, env=clean_env())
    assert where.returncode == 0, where.stderr[-2000:]
    assert Path(where.stdout.strip()).is_relative_to(venv), where.stdout


def test_meltano_installs_the_wheel_by_its_definition(wheel: Path, tmp_path: Path) -> None:
    """A Meltano user's project adds the extractor from the Hub-style definition; with the
    index's package replaced by this wheel (same extras), `meltano install` and
    `meltano invoke tap-partnerapi --about` work."""
    project, meltano = user_project(tmp_path, DEFINITION)
    config = yaml.safe_load((project / "meltano.yml").read_text())
    plugin = config["plugins"]["extractors"][0]
    assert plugin["pip_url"].startswith("tap-partnerapi[")
    plugin["pip_url"] = plugin["pip_url"].replace("tap-partnerapi", str(wheel), 1)
    (project / "meltano.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    meltano("install", "--plugin-type", "extractor", "tap-partnerapi")
    info = json.loads(meltano("invoke", "tap-partnerapi", "--about", "--format=json"))
    assert (info["name"], info["version"]) == ("tap-partnerapi", PYPROJECT["version"])
