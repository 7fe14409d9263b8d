"""Every shell command shown in README.md, CHANGELOG.md and docs/**/*.md, and how a test
proves it still works.

Found generically (other sections and files are covered as they appear):
- fenced blocks in ``bash``/``sh``/``shell``/``console`` (or no language): every command line
  (``$ `` prompts stripped, ``\\`` continuations joined, comments dropped);
- inline code spans that start with a command (``meltano``, ``make``, ``partnerapi-*``,
  ``python``, ``.venv/bin/...``, ``bash``, ``dbt``, ...): a bare name is prose, not a command.

Each command is checked the cheapest way that still proves it (:func:`plan_check`):
- ``meltano run ...``: ``meltano run --dry-run ...`` (Meltano parses the blocks, jobs and
  options and resolves every plugin, without running it);
- read-only Meltano listings (``config list``, ``state list``, ``schedule list``, ``job list``):
  run for real on a private system database;
- any other Meltano command and our own CLIs: the same command line with ``--help`` appended -
  click and argparse reject an unknown subcommand or option before printing help;
- ``meltano invoke <dbt plugin>[:<command>] <args>`` and ``dbt <args>`` (the docs' short form):
  the plugin (and its command) must exist in meltano.yml, then dbt's own CLI parses
  ``<args> --help`` (all in one process: dbt through Meltano costs seconds per command);
- ``make <target>``: ``make -n <target>``; ``bash <file>``: ``bash -n``; ``python -c``: compiled;
  ``python -m pytest <files>``: ``--collect-only``.
A placeholder (``<key>``, ``…``) cuts the command there: what comes before it is checked.

A fenced block preceded by ``<!-- docs-check: example (<why>) -->`` is an example that is not
run (it needs production credentials or a running service); the reason is required.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
COMMANDS = {
    "meltano", "make", "partnerapi-ops", "partnerapi-webhooks", "partnerapi-sandbox",
    "tap-partnerapi", "python", "python3", "bash", "dbt", "uv",
}  # fmt: skip
SHELL_LANGS = {"", "bash", "sh", "shell", "console"}
EXAMPLE_MARK = re.compile(r"<!--\s*docs-check:\s*example\s*\((?P<why>[^)]+)\)\s*-->")
# <key>, …, ..., [--optional parts], $(...) / $VAR, a lone capital (N): not literal text.
PLACEHOLDER = re.compile(r"<[^<>\s]+>|…|\.\.\.|^\[|\$|^[A-Z]$")
# Shell syntax around the command (redirections, pipes, lists): the command ends there.
SHELL_OPERATORS = {">", ">>", "<", "|", "||", "&&", ";", "&", "2>&1"}
READ_ONLY_MELTANO = {("config", "list"), ("state", "list"), ("schedule", "list"), ("job", "list")}


@dataclass(frozen=True)
class DocCommand:
    file: str
    line: int
    text: str
    origin: str  # "block" | "inline"
    example: str | None = None  # why it is not run, when marked

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


def doc_files() -> list[Path]:
    # docs/ has folders (the runbook is docs/operations/): every page at any depth. The
    # CHANGELOG holds the upgrade steps of each version, commands included.
    return [ROOT / "README.md", ROOT / "CHANGELOG.md", *sorted((ROOT / "docs").rglob("*.md"))]


def _program(word: str) -> str:
    return word.rsplit("/", 1)[-1]


def _split(text: str) -> list[str] | None:
    try:
        return shlex.split(text, comments=True)
    except ValueError:
        return None


def _strip_env(words: list[str]) -> tuple[dict[str, str], list[str]]:
    env: dict[str, str] = {}
    while words and re.fullmatch(r"[A-Z_][A-Z0-9_]*=.*", words[0]):
        key, _, value = words.pop(0).partition("=")
        env[key] = value
    return env, words


def is_command(text: str, inline: bool = True) -> bool:
    words = _split(text)
    if not words:
        return False
    _, words = _strip_env(words)
    if len(words) < 2 or _program(words[0]) not in COMMANDS:
        return False
    if _program(words[0]) == "dbt":
        # Prose shorthand for `meltano invoke dbt-duckdb ...`; in a block, dbt's own output.
        return inline
    if _program(words[0]) == "tap-partnerapi":
        # `tap-partnerapi target-duckdb-bulk dbt-duckdb:build` is a Meltano task, not a command.
        return words[1].startswith("-")
    return True


def extract(path: Path) -> list[DocCommand]:
    rel = str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)
    lines = path.read_text().splitlines()
    out: list[DocCommand] = []
    in_block, lang, example, pending_example = False, "", None, None
    buffer, start = "", 0
    for n, line in enumerate(lines, 1):
        fence = re.match(r"^\s*(```+|~~~+)\s*([\w+-]*)", line)
        if fence:
            if not in_block:
                in_block, lang = True, fence.group(2).lower()
                example, pending_example = pending_example, None
            else:
                in_block = False
            continue
        if in_block:
            if lang not in SHELL_LANGS:
                continue
            text = line.strip()
            if not buffer:
                start = n
                text = text.removeprefix("$ ")
            buffer = f"{buffer} {text}" if buffer else text
            if buffer.endswith("\\"):
                buffer = buffer[:-1].rstrip()
                continue
            if is_command(buffer, inline=False):
                out.append(DocCommand(rel, start, buffer, "block", example))
            buffer = ""
            continue
        mark = EXAMPLE_MARK.search(line)
        if mark:
            pending_example = mark.group("why").strip()
        elif line.strip():
            pending_example = pending_example if line.strip().startswith("<!--") else None
        for span in re.findall(r"(?<!`)`([^`\n]+)`(?!`)", line):
            if is_command(span):
                out.append(DocCommand(rel, n, span.strip(), "inline"))
    return out


def all_commands() -> list[DocCommand]:
    return [c for path in doc_files() for c in extract(path)]


@dataclass(frozen=True)
class Check:
    kind: str  # "meltano" / "dbt" (each in one process), "run", "compile", "skip"
    argv: tuple[str, ...]
    env: tuple[tuple[str, str], ...] = ()


def _cut(words: list[str]) -> tuple[list[str], bool]:
    for i, w in enumerate(words):
        if w in SHELL_OPERATORS:
            return words[:i], False
        if PLACEHOLDER.search(w):
            kept = words[:i]
            # `--select <node>`: drop the option too, or `--help` would become its value.
            while kept and kept[-1].startswith("-"):
                kept.pop()
            return kept, True
    return words, False


def _dbt_invocation(args: list[str]) -> tuple[str, ...] | None:
    """``invoke dbt-x[:cmd] <args>`` -> dbt's args + ``--help``; an unknown plugin or command
    of meltano.yml -> ``("!unknown", name)`` (fails the check)."""
    import yaml

    if "invoke" not in args:
        return None
    rest = args[args.index("invoke") + 1 :]
    rest = [a for a in rest if a not in ("--dump=config",)]
    if not rest or not rest[0].startswith("dbt-"):
        return None
    name, _, command = rest[0].partition(":")
    utilities = {
        p["name"]: p
        for p in (yaml.safe_load((ROOT / "meltano.yml").read_text())["plugins"]["utilities"])
    }
    if name not in utilities:
        return ("!unknown", f"plugin {name}")
    if command:
        commands = utilities[name].get("commands") or {}
        if command not in commands:
            return ("!unknown", f"command {rest[0]}")
        return (*str(commands[command]).split(), *rest[1:], "--help")
    return (*rest[1:], "--help")


def plan_check(cmd: DocCommand) -> Check:
    if cmd.example:
        return Check("skip", (cmd.example,))
    words = _split(cmd.text) or []
    env, words = _strip_env(words)
    words, cut = _cut(words)
    envt = tuple(sorted(env.items()))
    prog = _program(words[0])
    args = words[1:]
    if prog == "dbt":
        return Check("dbt", (*args, "--help"), envt)
    if prog == "meltano":
        dbt = _dbt_invocation(args)
        if dbt is not None:
            return Check("dbt", dbt, envt)
        positional = [a for a in args if not a.startswith("-")]
        if positional[:1] == ["run"] and len(positional) > 1 and not cut:
            i = args.index("run")
            return Check("meltano", tuple([*args[: i + 1], "--dry-run", *args[i + 1 :]]), envt)
        if tuple(positional[:2]) in READ_ONLY_MELTANO and not cut:
            return Check("meltano", tuple(args), envt)
        return Check("meltano", (*args, "--help"), envt)
    if prog == "make":
        return Check("run", ("make", "-n", *args), envt)
    if prog == "bash":
        return Check("run", ("bash", "-n", *args[:1]), envt)
    if prog in ("python", "python3"):
        if args[:1] == ["-c"] and len(args) > 1:
            return Check("compile", (args[1],), envt)
        if args[:2] == ["-m", "pytest"]:
            return Check("run", (".venv/bin/python", *args, "--collect-only", "-q"), envt)
        head = args[: args.index("--")] if "--" in args else args
        return Check("run", (".venv/bin/python", *head, "--help"), envt)
    binary = words[0] if "/" in words[0] else f".venv/bin/{prog}"
    # `cmd -- other command`: --help before `--`, or it would go to the other command.
    head = args[: args.index("--")] if "--" in args else args
    return Check("run", (binary, *head, "--help"), envt)
