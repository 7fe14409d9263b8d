"""Docs can't rot: every shell command in README.md and docs/ still parses and resolves against
the real tools (Meltano 4.4.1, make, our CLIs). How each is checked:
tests/pipeline/docs_commands.py."""

from __future__ import annotations

import glob
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.pipeline.docs_commands import ROOT, Check, DocCommand, all_commands, extract, plan_check
from tests.support.meltano_fixtures import own_sys_dir

PY = str(Path(sys.executable))

# All Meltano checks in one process (click's test runner): ~0.05 s each instead of ~3 s.
MELTANO_BATCH = r"""
import json, sys
from click.testing import CliRunner
from meltano.cli import cli
out = []
for args, env in json.load(sys.stdin):
    result = CliRunner().invoke(cli, args, env=env, catch_exceptions=True)
    text = (result.output or "") + (repr(result.exception) if result.exit_code not in (0,) and
                                    result.exception and not isinstance(result.exception,
                                    SystemExit) else "")
    out.append([result.exit_code, text[-1500:]])
print(json.dumps(out))
"""


DBT_BATCH = r"""
import json, sys
from click.testing import CliRunner
from dbt.cli.main import cli
out = []
for args in json.load(sys.stdin):
    if args and args[0] == "!unknown":
        out.append([2, "not in meltano.yml: " + args[1]])
        continue
    result = CliRunner().invoke(cli, args)
    out.append([result.exit_code, (result.output or "")[-1500:]])
print(json.dumps(out))
"""
DBT_PYTHON = ROOT / ".meltano" / "utilities" / "dbt-duckdb" / "venv" / "bin" / "python"


def _batch(script: str, python: str, payload: list, env: dict[str, str]) -> list:
    proc = subprocess.run(
        [python, "-c", script],
        input=json.dumps(payload),
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run_checks(checks: list[Check], tmp: Path) -> dict[Check, tuple[int, str]]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MELTANO_", "TAP_PARTNERAPI", "PARTNERAPI_"))
    }
    env.update(
        MELTANO_CLI_DISABLE_VERSION_CHECK="1",
        MELTANO_DATABASE_URI=f"sqlite:///{tmp / 'meltano.db'}",
        MELTANO_SYS_DIR_ROOT=str(own_sys_dir(tmp)),
    )
    results: dict[Check, tuple[int, str]] = {}
    meltano = [c for c in checks if c.kind == "meltano"]
    if meltano:
        answers = _batch(MELTANO_BATCH, PY, [[list(c.argv), dict(c.env)] for c in meltano], env)
        results.update({c: (rc, text) for c, (rc, text) in zip(meltano, answers, strict=True)})
    dbt = [c for c in checks if c.kind == "dbt"]
    if dbt:
        answers = _batch(DBT_BATCH, str(DBT_PYTHON), [list(c.argv) for c in dbt], env)
        results.update({c: (rc, text) for c, (rc, text) in zip(dbt, answers, strict=True)})
    for c in checks:
        if c.kind == "compile":
            try:
                compile(c.argv[0], "<doc>", "exec")
                results[c] = (0, "")
            except SyntaxError as exc:
                results[c] = (1, str(exc))
        elif c.kind == "run":
            argv = [a for w in c.argv for a in (sorted(glob.glob(w, root_dir=ROOT)) or [w])]
            proc = subprocess.run(
                argv,
                cwd=ROOT,
                env={**env, **dict(c.env)},
                capture_output=True,
                text=True,
                timeout=300,
            )
            results[c] = (proc.returncode, (proc.stdout + proc.stderr)[-1500:])
    return results


def check_all(commands: list[DocCommand], tmp: Path) -> list[str]:
    plans = {cmd: plan_check(cmd) for cmd in commands}
    results = run_checks(
        sorted({p for p in plans.values() if p.kind != "skip"}, key=lambda c: (c.kind, c.argv)), tmp
    )
    return [
        f"{cmd.where}: `{cmd.text}` -> {' '.join(plans[cmd].argv)} exited {results[plans[cmd]][0]}"
        f"\n{results[plans[cmd]][1]}"
        for cmd in commands
        if plans[cmd].kind != "skip" and results[plans[cmd]][0] != 0
    ]


def test_every_command_in_the_docs_works(tmp_path: Path) -> None:
    commands = all_commands()
    # The checker must be finding the docs' commands, not silently nothing.
    assert len(commands) > 40
    assert {c.file for c in commands} >= {"README.md", "docs/operations/running.md", "docs/tap.md"}
    failures = check_all(commands, tmp_path)
    assert not failures, "\n\n".join(failures)


def test_examples_not_run_say_why() -> None:
    for cmd in all_commands():
        if cmd.example is not None:
            assert len(cmd.example) > 10, f"{cmd.where}: say why `{cmd.text}` is not run"


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        # Issue 15 #8: documented, and refused by Meltano 4.4.1 (exit 2).
        ("`meltano config tap-partnerapi list`", False),
        ("`meltano config tap-partnerapi--backfill set start_date 2024-01-01`", False),
        ("`meltano config list tap-partnerapi`", True),
        ("`meltano --environment=dev config list tap-partnerapi`", True),
        ("`meltano run incrementl`", False),
        ("`meltano run --state-id-suffix 2025q1 backfill`", True),
        ("`make demo`", True),
        ("`make demos`", False),
        ("`meltano invoke dbt-duckdb freshness`", False),  # `dbt freshness` is no command
        ("`meltano invoke dbt-duckdb:freshness`", True),  # meltano.yml: source freshness
        ("`dbt build --vars '{max_delete_share: 0.5}'`", True),
        ("`partnerapi-ops run --wait 30 incremental`", True),
        ("`partnerapi-ops statuss`", False),
        ("`partnerapi-webhooks serve --host 0.0.0.0 --port 8088`", True),
    ],
)
def test_the_checker_catches_a_broken_command(tmp_path: Path, text: str, ok: bool) -> None:
    doc = tmp_path / "doc.md"
    doc.write_text(f"Run {text} now.\n")
    commands = extract(doc)
    assert len(commands) == 1
    assert (check_all(commands, tmp_path) == []) is ok


def test_readme_demo_output_is_the_last_real_runs() -> None:
    """The README's sample output is copied from a real `make demo` (scripts/readme_demo.py,
    run by `make demo`); after a demo in this checkout they must be identical."""
    readme = (ROOT / "README.md").read_text()
    assert "<!-- demo-summary: begin" in readme and "<!-- demo-summary: end -->" in readme
    assert "================ demo summary ================" in readme, "not a demo summary"
    summary = ROOT / "output" / "demo" / "summary.txt"
    if not summary.exists():
        pytest.skip("no `make demo` in this checkout yet (it writes output/demo/summary.txt)")
    proc = subprocess.run(
        [PY, "scripts/readme_demo.py", "--check"], cwd=ROOT, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr + " - run `make demo` or scripts/readme_demo.py"
