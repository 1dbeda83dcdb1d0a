"""Reading the request out of a code sample: the classify body a curl command or a Python
snippet sends. Used to open a sample in the playground, and by the docs' test harness."""

from __future__ import annotations

import ast
import json
import shlex
from typing import Any

DATA_FLAGS = ("-d", "--data", "--data-raw", "--data-binary", "--json")


def shell_commands(code: str) -> list[list[str]]:
    """The commands of a shell sample, each as its argument list: comments dropped,
    backslash continuations joined, ``$ `` prompts removed. Raises ``ValueError`` when a
    command does not parse as a shell command."""
    joined: list[str] = []
    buffer = ""
    for raw in code.split("\n"):
        line = raw.rstrip()
        if not buffer and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.endswith("\\"):
            buffer += line[:-1] + " "
            continue
        joined.append(buffer + line)
        buffer = ""
    if buffer:
        joined.append(buffer)
    commands = []
    for line in joined:
        command = line.strip().removeprefix("$ ")
        commands.append(shlex.split(command, comments=True))
    return [c for c in commands if c]


def curl_body(args: list[str]) -> Any | None:
    for index, arg in enumerate(args):
        if arg in DATA_FLAGS and index + 1 < len(args):
            return json.loads(args[index + 1])
        for flag in DATA_FLAGS:
            if arg.startswith(flag + "=") and flag.startswith("--"):
                return json.loads(arg.split("=", 1)[1])
    return None


def python_dicts(code: str) -> list[dict[str, Any]]:
    """Every dict literal in ``code`` that evaluates to plain data."""
    found = []
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Dict):
            try:
                value = ast.literal_eval(node)
            except ValueError:
                continue
            found.append(value)
    return found


def classify_request(code: str, lang: str) -> dict[str, Any] | None:
    """The ``{"model", "inputs", ...}`` body the sample sends, if it sends one."""
    candidates: list[Any] = []
    try:
        if lang in ("sh", "bash", "console", "shell"):
            for args in shell_commands(code):
                if args and args[0] == "curl":
                    candidates.append(curl_body(args))
        elif lang in ("python", "py"):
            candidates.extend(python_dicts(code))
        elif lang == "json":
            candidates.append(json.loads(code))
    except (ValueError, SyntaxError):
        return None
    for body in candidates:
        if isinstance(body, dict) and isinstance(body.get("model"), str) and isinstance(body.get("inputs"), list):
            return body
    return None
