"""Console scripts that need an optional extra: say which one instead of a traceback.

The distribution installs every console script, but `partnerapi-webhooks`, `partnerapi-ops`
and `target-duckdb-bulk` import packages that only their extra brings. Their entry points
(pyproject.toml) are the functions below: they import the real command lazily and turn a
missing optional package into one line naming the extra and exit status 2. Which extra
provides which package is read from the installed distribution's metadata, so pyproject.toml
stays the one definition of the extras.
"""

from __future__ import annotations

import importlib
import re
import sys
from collections.abc import Callable
from importlib import metadata
from typing import Any

DISTRIBUTION = "tap-partnerapi"
MISSING_EXTRA_EXIT_CODE = 2
_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)[^;]*;.*\bextra\s*==\s*['\"]([^'\"]+)")


def extra_providing(module: str) -> str | None:
    """The extra of this distribution whose requirements provide top-level ``module``.

    ``dev`` is not an extra a user installs; it is skipped.
    """
    top = module.partition(".")[0].lower()
    try:
        requirements = metadata.requires(DISTRIBUTION) or []
    except metadata.PackageNotFoundError:  # a source checkout that was never installed
        return None
    for requirement in requirements:
        match = _REQUIREMENT.match(requirement)
        if not match or match.group(2) == "dev":
            continue
        # Import name = normalised distribution name for every optional dependency here
        # (prometheus-client -> prometheus_client, boto3, duckdb, ...).
        if re.sub(r"[-_.]+", "_", match.group(1)).lower() == top:
            return match.group(2)
    return None


def _load(target: str) -> Callable[..., Any]:
    module_name, _, attr = target.partition(":")
    obj: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def run(script: str, target: str) -> Any:
    """Run console script ``script`` (``module:attr``), or name the extra it is missing."""
    try:
        command = _load(target)
    except ModuleNotFoundError as exc:
        extra = extra_providing(exc.name or "")
        if extra is None:
            raise  # not an optional package: a real error, keep its traceback
        print(f"{script} needs the [{extra}] extra ({exc.name} is not installed): "
              f"pip install '{DISTRIBUTION}[{extra}]'", file=sys.stderr)
        return MISSING_EXTRA_EXIT_CODE
    return command()


def webhooks() -> Any:
    return run("partnerapi-webhooks", "partnerapi_webhooks.cli:main")


def ops() -> Any:
    return run("partnerapi-ops", "partnerapi_ops.cli:main")


def duckdb_bulk() -> Any:
    return run("target-duckdb-bulk", "target_duckdb_bulk.target:TargetDuckDBBulk.cli")
