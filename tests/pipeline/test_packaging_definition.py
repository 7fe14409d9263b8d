"""The extractor's Hub-style plugin definition, meltano.yml and `tap-partnerapi --about` agree:
the same settings, kinds a Meltano user can set, the same capabilities; Meltano accepts the
definition as a `--from-ref` plugin."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from scripts import plugin_definition  # the repository root is on pytest's pythonpath
from tests.support.meltano_fixtures import user_project

ROOT = Path(__file__).resolve().parents[2]

PY = sys.executable
SDK_SETTINGS = plugin_definition.sdk_settings()
DEFINITION = yaml.safe_load(plugin_definition.DEFINITION.read_text())
HUB = {s["name"]: s for s in DEFINITION["settings"]}
PROJECT = yaml.safe_load((ROOT / "meltano.yml").read_text())
TAP = next(p for p in PROJECT["plugins"]["extractors"] if p["name"] == "tap-partnerapi")
MELTANO_SETTINGS = {s["name"]: s for s in TAP["settings"]}


@pytest.fixture(scope="module")
def about() -> dict[str, Any]:
    return plugin_definition.about()


def test_definition_is_generated_from_about() -> None:
    proc = subprocess.run([PY, str(ROOT / "scripts" / "plugin_definition.py"), "--check"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_meltano_yml_declares_every_tap_setting_as_the_definition_does() -> None:
    own = set(HUB) - SDK_SETTINGS
    assert own <= set(MELTANO_SETTINGS), f"missing in meltano.yml: {own - set(MELTANO_SETTINGS)}"
    unknown = set(MELTANO_SETTINGS) - set(HUB)
    assert not unknown, f"meltano.yml settings the tap does not have: {unknown}"
    for name, ours in MELTANO_SETTINGS.items():
        hub = HUB[name]
        assert ours.get("kind") == hub.get("kind"), (name, ours.get("kind"), hub.get("kind"))
        assert bool(ours.get("sensitive")) == bool(hub.get("sensitive")), name
        values = [[o["value"] for o in s.get("options", [])] for s in (ours, hub)]
        assert values[0] == values[1], (name, values)


def test_kinds_follow_the_json_types_of_about(about: dict[str, Any]) -> None:
    """An integer setting is `kind: integer` (else Meltano passes env var values as strings
    the tap rejects); `kind: integer` is an integer setting, except the few `number` ones
    listed in plugin_definition.WHOLE_FROM_ENV (fractions from YAML only, Meltano 4.4.1)."""
    props = about["settings"]["properties"]
    for name, prop in props.items():
        typ, kind = plugin_definition.json_type(prop), HUB[name].get("kind")
        if typ == "integer":
            assert kind == "integer", name
        if kind == "integer":
            assert typ == "integer" or (typ == "number" and name in
                                        plugin_definition.WHOLE_FROM_ENV), (name, typ)
        if typ == "number" and name not in plugin_definition.WHOLE_FROM_ENV:
            assert kind is None, name  # never `decimal` (Meltano 4.4.1 crashes from env vars)
    stale = [n for n in plugin_definition.WHOLE_FROM_ENV
             if plugin_definition.json_type(props[n]) != "number"]
    assert not stale, f"no longer `number` in --about, drop from WHOLE_FROM_ENV: {stale}"


def test_capabilities_and_extras_agree(about: dict[str, Any]) -> None:
    assert set(DEFINITION["capabilities"]) == set(about["capabilities"]) == \
        set(TAP["capabilities"])
    extras = [re.search(r"\[(.*)\]", url).group(1) for url in
              (DEFINITION["pip_url"], TAP["pip_url"])]
    assert extras[0] == extras[1]
    assert DEFINITION["executable"] == TAP["executable"]
    assert DEFINITION["namespace"] == TAP["namespace"]
    assert DEFINITION["settings_group_validation"] == [about["settings"]["required"]]


def test_meltano_adds_the_definition_as_a_plugin(tmp_path: Path) -> None:
    """What a Meltano user does with the file: `meltano add --from-ref` in a new project."""
    project, meltano = user_project(tmp_path, plugin_definition.DEFINITION)
    plugins = yaml.safe_load((project / "meltano.yml").read_text())["plugins"]
    assert list(plugins) == ["extractors"] and len(plugins["extractors"]) == 1, plugins.keys()
    assert [s["name"] for s in plugins["extractors"][0]["settings"]] == list(HUB)
    # Whole numbers from env vars reach the tap as numbers (kind integer), a flag as a bool.
    printed = json.loads(meltano("config", "print", "tap-partnerapi", extra={
        "TAP_PARTNERAPI_REQUEST_TIMEOUT": "30", "TAP_PARTNERAPI_PAGE_SIZE": "100",
        "TAP_PARTNERAPI_FAIL_ON_QUARANTINE": "false"}))
    assert (printed["request_timeout"], printed["page_size"]) == (30, 100)
    assert printed["fail_on_quarantine"] is False


def test_readme_settings_table_is_about() -> None:
    """README.md's tap settings table is `--about --format=markdown`'s (scripts/readme_settings.py):
    a setting missing or described differently fails."""
    proc = subprocess.run([PY, str(ROOT / "scripts" / "readme_settings.py"), "--check"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
