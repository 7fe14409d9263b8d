"""meltano.yml: every plugin fully defined (no Hub), pinned, nothing phoning home, no secret
in the repo, and the prod environment taking everything from environment variables.

These run the real `meltano` CLI against the project; no network is needed (the Hub URL is
pointed at a closed loopback port, so any attempt to reach it would fail these tests).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.meltano_fixtures import own_sys_dir

ROOT = Path(__file__).resolve().parents[2]
MELTANO = str(Path(sys.executable).with_name("meltano"))
PROJECT = yaml.safe_load((ROOT / "meltano.yml").read_text())
PLUGINS: list[dict[str, Any]] = [p for kind in PROJECT["plugins"].values() for p in kind]
BASE_PLUGINS = [p for p in PLUGINS if "inherit_from" not in p]
CLEAN_ENV = {
    k: v
    for k, v in os.environ.items()
    if not k.startswith(("TAP_PARTNERAPI", "TARGET_", "PARTNERAPI_", "SNOWFLAKE_", "MELTANO_"))
}



@pytest.fixture(scope="module", autouse=True)
def _private_sys_dir(tmp_path_factory: pytest.TempPathFactory) -> None:
    CLEAN_ENV["MELTANO_SYS_DIR_ROOT"] = str(own_sys_dir(tmp_path_factory.mktemp("meltano")))


def meltano(*args: str, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(
        [MELTANO, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**CLEAN_ENV, **(env or {})},
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def config(plugin: str, environment: str = "dev", env: dict[str, str] | None = None) -> dict:
    return json.loads(meltano("--environment", environment, "config", "print", plugin, env=env))


@pytest.mark.parametrize("plugin", BASE_PLUGINS, ids=lambda p: p["name"])
def test_every_plugin_is_custom_and_pinned(plugin: dict[str, Any]) -> None:
    assert plugin.get("namespace"), "no namespace: Meltano would look the plugin up on the Hub"
    assert plugin.get("executable")
    assert "variant" not in plugin
    requirements = plugin["pip_url"].split()
    for req in requirements:
        if req == "-e" or req.startswith("."):
            continue  # this repository (its extras are pinned in pyproject.toml)
        assert re.search(r"(==|~=|<)", req), f"{req!r} is not pinned"


def test_nothing_phones_home() -> None:
    settings = json.loads(meltano("config", "print", "meltano"))
    assert settings["send_anonymous_usage_stats"] is False
    assert settings["disable_tracking"] is True
    assert settings["cli"]["disable_version_check"] is True
    assert settings["snowplow"]["collector_endpoints"] == []
    assert settings["hub_url"].startswith("http://127.0.0.1:")


# tap-partnerapi, --sweep, --backfill and target-duckdb-bulk are resolved by the tests below.
@pytest.mark.parametrize("plugin", ["tap-partnerapi--reconcile", "target-snowflake", "dbt-duckdb"])
def test_config_resolves_offline(plugin: str) -> None:
    assert isinstance(config(plugin), dict)


def test_dev_points_at_the_local_sandbox() -> None:
    tap = config("tap-partnerapi")
    assert tap["api_url"] == "http://127.0.0.1:8765"
    assert tap["environment"] == "sandbox"
    assert config("target-duckdb-bulk")["path"] == str(ROOT / "output" / "warehouse.duckdb")


def test_duckdb_path_is_one_env_var() -> None:
    cfg = config("target-duckdb-bulk", env={"PARTNERAPI_DUCKDB_PATH": "/tmp/elsewhere.duckdb"})
    assert cfg["path"] == "/tmp/elsewhere.duckdb"


def test_inherited_plugins_share_the_parent_settings_and_override_theirs() -> None:
    env = {"TAP_PARTNERAPI_API_URL": "http://127.0.0.1:9999"}
    sweep = config("tap-partnerapi--sweep", env=env)
    backfill = config("tap-partnerapi--backfill", env=env)
    base = config("tap-partnerapi", env=env)
    assert sweep["api_url"] == backfill["api_url"] == "http://127.0.0.1:9999"
    assert float(sweep["overlap_hours"]) == 48
    shares = [base, sweep, config("tap-partnerapi--reconcile", env=env)]
    # One client_id, one vendor limit (1000/min) for every process together: the scheduled
    # plugins keep to fixed slices; the backfill takes what is idle and yields to them.
    assert sum(int(c["requests_per_minute"]) for c in shares) <= 1000
    assert all(c.get("rate_limit_priority", "normal") == "normal" for c in shares)
    assert backfill["rate_limit_priority"] == "low"
    assert backfill["batch_config"]["encoding"] == {"format": "jsonl", "compression": "gzip"}


def test_prod_takes_everything_from_the_environment() -> None:
    env = {
        "PARTNERAPI_API_URL": "https://api.vendor.test",
        "PARTNERAPI_CLIENT_ID": "cid",
        "PARTNERAPI_CLIENT_SECRET": "s3cret",
        "PARTNERAPI_START_DATE": "2026-01-01T00:00:00Z",
        "SNOWFLAKE_ACCOUNT": "acct",
        "SNOWFLAKE_USER": "loader",
        "SNOWFLAKE_PASSWORD": "pw",
        "SNOWFLAKE_DATABASE": "PARTNERAPI",
        "SNOWFLAKE_WAREHOUSE": "LOADING",
        "SNOWFLAKE_ROLE": "LOADER",
    }
    tap = config("tap-partnerapi", "prod", env)
    assert tap["api_url"] == "https://api.vendor.test"
    assert tap["client_id"] == "cid"
    assert tap["environment"] == "production"
    # Secrets are redacted by `config print`; `config list` names where they came from.
    listing = meltano("--environment", "prod", "config", "list", "tap-partnerapi", env=env)
    assert "from the PARTNERAPI_CLIENT_SECRET variable in the environment" in listing
    sf = config("target-snowflake", "prod", env)
    assert (sf["account"], sf["user"], sf["database"]) == ("acct", "loader", "PARTNERAPI")
    assert sf["password"] != "" and "pw" not in json.dumps(sf)  # present, redacted
    # Exactly one auth method reaches the loader when only a password is set.
    assert "private_key" not in sf and "private_key_path" not in sf


def test_no_secret_is_stored_for_prod() -> None:
    prod = next(e for e in PROJECT["environments"] if e["name"] == "prod")
    text = yaml.safe_dump(prod)
    for value in re.findall(r":\s*(\S+)\n", text):
        assert value.startswith("$") or not re.search(r"secret|password|key", value, re.I)
    sensitive = {
        s["name"] for p in BASE_PLUGINS for s in p.get("settings", []) if s.get("sensitive")
    }
    for plugin in PLUGINS:
        stored = set((plugin.get("config") or {}).keys())
        assert not stored & sensitive, f"{plugin['name']} stores a secret in meltano.yml"


def selected_streams(plugin: str) -> set[str]:
    """Streams with a selected property, from the tap's real catalog (discovery runs)."""
    listing = meltano("select", plugin, "--list")
    return {
        line.split("]", 1)[1].strip().split(".", 1)[0]
        for line in listing.splitlines()
        if line.strip().startswith(("[selected", "[automatic"))
    }


def test_stream_selection_per_plugin() -> None:
    resources = {
        "customers",
        "plans",
        "subscriptions",
        "invoices",
        "invoice_items",
        "payments",
        "refunds",
        "events",
    }
    audit = {"coverage_ledger", "quarantine", "schema_drift"}
    assert selected_streams("tap-partnerapi") == resources | audit | {"webhook_notifications"}
    # The reconciliation lists ids only; no resource stream is read twice.
    assert selected_streams("tap-partnerapi--reconcile") == {"id_snapshots", "id_snapshot_runs"}
    # The sweep and backfills re-read resources only: the landing area has one reader.
    for plugin in ("tap-partnerapi--sweep", "tap-partnerapi--backfill"):
        assert catalog_selection(plugin) == resources | audit, plugin


def catalog_selection(plugin: str) -> set[str]:
    """Streams selected in the catalog Meltano hands the tap (select_filter applied)."""
    catalog = json.loads(meltano("invoke", "--dump=catalog", plugin))
    return {
        s["tap_stream_id"]
        for s in catalog["streams"]
        for m in s["metadata"]
        if m["breadcrumb"] == [] and m["metadata"].get("selected")
    }


def test_numeric_settings_from_env_vars_reach_the_tap() -> None:
    """Meltano 4.4.1 cannot pass a `kind: decimal` value from an env var (it crashes on
    serialising a Decimal): the numeric settings are integers, which work."""
    env = {
        "TAP_PARTNERAPI_OVERLAP_HOURS": "48",
        "TAP_PARTNERAPI_REQUEST_TIMEOUT": "30",
        "TAP_PARTNERAPI_BACKOFF_MAX_SECONDS": "20",
    }
    dumped = json.loads(meltano("invoke", "--dump=config", "tap-partnerapi", env=env))
    assert (dumped["overlap_hours"], dumped["request_timeout"]) == (48, 30)
    assert dumped["backoff_max_seconds"] == 20
    kinds = {s.get("kind") for p in BASE_PLUGINS for s in p.get("settings", [])}
    assert "decimal" not in kinds
