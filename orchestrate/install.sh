#!/usr/bin/env bash
# Create orchestrate/.venv with Airflow pinned by orchestrate/requirements.lock.
#
# Airflow gets its own virtualenv because its SQLAlchemy pin conflicts with Meltano's; the DAGs
# call Meltano as a subprocess, so the two never share an interpreter.
#
# Idempotent: when the venv already matches the lock (checksum stamp) it exits at once, so
# `make test` can call it every time.
#
# Env: PYTHON (interpreter for the venv, default python3.11), UV (uv binary; default the
# project's .venv/bin/uv, else uv on PATH).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
venv="$here/.venv"
lock="$here/requirements.lock"
stamp="$venv/.lock.sha256"

uv="${UV:-}"
if [[ -z "$uv" ]]; then
  if [[ -x "$root/.venv/bin/uv" ]]; then uv="$root/.venv/bin/uv"; else uv="$(command -v uv || true)"; fi
fi
if [[ -z "$uv" ]]; then
  echo "install.sh: uv not found (pip install uv, or set UV=...)" >&2
  exit 1
fi
python="${PYTHON:-}"
if [[ -z "$python" ]]; then
  if command -v python3.11 >/dev/null; then python=python3.11; else python=python3; fi
fi

# The stamp covers the lock and the repo path (the .pth below points at it).
want="$(sha256sum "$lock" | cut -d' ' -f1) $root"
if [[ -x "$venv/bin/airflow" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  echo "orchestrate/.venv is up to date"
  exit 0
fi

if [[ ! -x "$venv/bin/python" ]]; then
  "$uv" venv --quiet --python "$python" "$venv"
fi
"$uv" pip sync --quiet --python "$venv/bin/python" "$lock"
# The DAGs import partnerapi_ops (alert sink, budget split) from the repo: expose the repo root
# to this venv without installing the project (which would pull Meltano's dependencies in).
site="$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
echo "$root" > "$site/partnerapi_repo.pth"
echo "$want" > "$stamp"
echo "orchestrate/.venv ready: $("$venv/bin/airflow" version 2>/dev/null || echo '?')"
