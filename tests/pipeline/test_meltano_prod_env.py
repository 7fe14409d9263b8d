"""The `prod` environment pointed at a wrong host fails fast, with an error that names it.

Everything prod needs comes from environment variables (as in production); the host is one
that cannot exist (`.invalid` never resolves, RFC 2606) or a closed loopback port.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.meltano_fixtures import own_sys_dir

ROOT = Path(__file__).resolve().parents[2]
MELTANO = str(Path(sys.executable).with_name("meltano"))



@pytest.mark.parametrize(
    "api_url", ["https://api.partner.invalid", "http://127.0.0.1:9"], ids=["dns", "refused"]
)
def test_prod_with_a_wrong_host_fails_with_a_clear_error(api_url: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TAP_PARTNERAPI", "MELTANO_"))}
    env.update(
        {
            "MELTANO_CLI_DISABLE_VERSION_CHECK": "1",
            "MELTANO_DATABASE_URI": f"sqlite:///{tmp_path / 'meltano.db'}",
            "MELTANO_SYS_DIR_ROOT": str(own_sys_dir(tmp_path)),
            "PARTNERAPI_API_URL": api_url,
            "PARTNERAPI_CLIENT_ID": "prod-client",
            "PARTNERAPI_CLIENT_SECRET": "not-a-real-secret",
            "PARTNERAPI_START_DATE": "2026-11-01T00:00:00Z",
            "TAP_PARTNERAPI_SUMMARY_PATH": str(tmp_path / "summary.jsonl"),
            "TAP_PARTNERAPI_WEBHOOKS_LANDING": str(tmp_path / "webhooks_landing"),
        }
    )
    # A generous bound (a loaded CI machine; design.md asks for < 1 min): the tap must give
    # up instead of retrying a host that cannot answer for its whole retry budget.
    proc = subprocess.Popen(
        [MELTANO, "--environment", "prod", "invoke", "tap-partnerapi"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # so that a timeout stops the tap too, not only Meltano
    )
    try:
        stdout, stderr = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail(f"meltano still running after 120 s against {api_url}: not a fast failure")
    assert proc.returncode != 0
    assert '"type":"RECORD"' not in stdout.replace(" ", "")
    output = stdout + stderr
    host = api_url.split("//", 1)[1]
    assert host in output, f"the error does not name {host}:\n{output[-2000:]}"
