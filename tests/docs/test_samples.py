"""Every code block in content/ is exercised here, so the docs cannot rot.

Each fenced block carries a marker on the line before it (``<!-- sample: id=... check=...
-->``) that says how it is checked:

- ``run``: executed now. Python runs in a fresh interpreter and must exit 0 (the samples
  assert their own results); shell samples may only hold ``python manage.py`` commands, and
  each runs against the test database.
- ``parse``: commands that take minutes or need other machines (training, Docker, Celery
  workers, ``make``) are checked against the real thing without running them: the
  management command's own argument parser and the files it reads, the Makefile's targets,
  the services and profiles of deploy/docker-compose.yml, the Celery app and its queues.
- ``api``: calls to the REST API. Checked structurally against DESIGN.md's contract (paths,
  methods, headers, request bodies) here, on both databases; and run for real against a
  live server with a real worker in test_samples_live.py.
- ``output``: example responses and files, validated against the contract's shapes.

A ``text`` block without a marker is an illustration (a format, not a command) and must not
look like one.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from django.core.management import call_command, get_commands, load_command_class

from apps.docs.content import DOC_KEYS, SourceFile, read_tree
from apps.docs.samples import classify_request, curl_body, python_dicts, shell_commands
from apps.docs.sections import DOC_SECTIONS

from ..services import ROOT, service_missing
from .conftest import CONTENT

pytestmark = pytest.mark.embedded

FILES: list[SourceFile] = read_tree(CONTENT)
SAMPLES = [(source, sample) for source in FILES for sample in source.samples if sample.check]
UNMARKED = [(source, sample) for source in FILES for sample in source.samples if not sample.check]


def _unique(check: str) -> list[Any]:
    """One test per distinct sample (a translation repeats most samples word for word)."""
    seen: dict[tuple[str, str], Any] = {}
    for source, sample in SAMPLES:
        if sample.check == check:
            seen.setdefault((sample.id, sample.code), pytest.param(source, sample, id=f"{sample.id}-{source.language}"))
    return list(seen.values())


# --- the contract of DESIGN.md ----------------------------------------------------------
# Responses must carry at least the documented fields: the v1 contract only grows.

API_ROUTES = [
    ("GET", re.compile(r"^/api/v1/models$")),
    ("GET", re.compile(r"^/api/v1/models/[a-z0-9_-]+$")),
    ("POST", re.compile(r"^/api/v1/classify$")),
    ("GET", re.compile(r"^/api/v1/jobs/[0-9a-f-]{36}$")),
    ("GET", re.compile(r"^/api/v1/usage$")),
]
PROBLEM_TYPES = {
    "invalid_input": 400, "invalid_json": 400, "authentication_required": 401, "api_key_invalid": 401,
    "api_key_expired": 401, "api_key_revoked": 401, "insufficient_scope": 403, "forbidden": 403,
    "model_not_allowed": 403,
    "not_found": 404, "model_not_found": 404, "method_not_allowed": 405, "not_acceptable": 406,
    "idempotency_conflict": 409, "model_retired": 410, "unsupported_media_type": 415,
    "rate_limited": 429, "quota_exceeded": 429, "concurrency_limited": 429,
    "request_too_large": 400, "service_unavailable": 503,
}  # fmt: skip
MODELS = {"sentiment-demo": ["negative", "positive"], "sentiment-sst2": ["negative", "positive"],
          "topic-agnews": ["World", "Sports", "Business", "Sci/Tech"]}  # fmt: skip
ENVIRONMENT = {"PORTAL_URL", "PORTAL_API_KEY"}
QUEUES = {"inference", "default", "training"}


def check_classify_request(body: Any) -> None:
    assert isinstance(body, dict), body
    assert set(body) <= {"model", "inputs", "wait"}, f"unknown fields {set(body) - {'model', 'inputs', 'wait'}}"
    assert body["model"] in MODELS, body["model"]
    inputs = body["inputs"]
    assert isinstance(inputs, list) and 1 <= len(inputs) <= 32
    assert all(isinstance(text, str) and 1 <= len(text) <= 2000 and text.strip() for text in inputs)
    if "wait" in body:
        assert isinstance(body["wait"], int | float) and 0 <= body["wait"] <= 30


def check_result(result: dict[str, Any], labels: list[str]) -> None:
    assert {"label", "score", "scores"} <= set(result)
    assert isinstance(result.get("truncated", False), bool)
    assert list(result["scores"]) == labels and result["label"] in labels
    assert abs(sum(result["scores"].values()) - 1) < 1e-6
    assert result["score"] == max(result["scores"].values()) == result["scores"][result["label"]]


SHAPES = {}


def shape(name: str) -> Any:
    def register(function: Any) -> Any:
        SHAPES[name] = function
        return function

    return register


@shape("classify-200")
def _classify_200(body: dict[str, Any]) -> None:
    assert {"id", "status", "model", "version", "results", "timing", "batch_size"} <= set(body)
    assert body["status"] == "succeeded" and body["model"] in MODELS and isinstance(body["version"], int)
    assert re.fullmatch(r"[0-9a-f-]{36}", body["id"])
    for result in body["results"]:
        check_result(result, MODELS[body["model"]])
    assert set(body["timing"]) == {"queued_ms", "inference_ms", "total_ms"}
    assert body["batch_size"] >= len(body["results"])


@shape("classify-202")
def _classify_202(body: dict[str, Any]) -> None:
    assert {"id", "status", "url"} <= set(body) and body["status"] in ("queued", "running")
    assert re.fullmatch(rf"(https?://[^/]+)?/api/v1/jobs/{body['id']}", body["url"]), body["url"]


@shape("problem")
def _problem(body: dict[str, Any]) -> None:
    assert {"type", "title", "status", "detail"} <= set(body)
    assert PROBLEM_TYPES[body["type"]] == body["status"]


@shape("models-list")
def _models_list(body: dict[str, Any]) -> None:
    for model in body["results"]:
        assert {"id", "version", "task", "labels", "description", "metrics"} <= set(model)
        assert model["labels"] == MODELS[model["id"]] and model["task"] == "text-classification"


def _http(code: str) -> tuple[int, dict[str, str], str]:
    head, _, body = code.partition("\n\n")
    status_line, *header_lines = head.splitlines()
    match = re.fullmatch(r"HTTP/1\.1 (\d{3}) [A-Za-z ]+", status_line)
    assert match, status_line
    headers = dict(line.split(": ", 1) for line in header_lines)
    return int(match.group(1)), headers, body


@shape("ratelimit-headers")
def _ratelimit_headers(code: str) -> None:
    _status, headers, _ = _http(code)
    assert {"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"} <= set(headers)
    assert int(headers["RateLimit-Remaining"]) <= int(headers["RateLimit-Limit"])


@shape("problem-429")
def _problem_429(code: str) -> None:
    status, headers, body = _http(code)
    assert status == 429 and headers["Content-Type"] == "application/problem+json"
    assert {"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "Retry-After"} <= set(headers)
    problem = json.loads(body)
    _problem(problem)
    assert problem["type"] in ("rate_limited", "quota_exceeded")


@shape("front-matter")
def _front_matter(code: str) -> None:
    meta = yaml.safe_load(code)
    assert set(meta) <= DOC_KEYS and meta["section"] in DOC_SECTIONS and meta["title"]


# --- command checks for `parse` ---------------------------------------------------------


def _manage_args(args: list[str]) -> list[str] | None:
    if args[:2] in (["python", "manage.py"], [".venv/bin/python", "manage.py"]):
        return args[2:]
    return None


def check_manage(args: list[str]) -> None:
    name, *rest = args
    app = get_commands().get(name)
    assert app is not None, f"no management command {name!r}"
    parser = load_command_class(app, name).create_parser("manage.py", name)
    options = vars(parser.parse_args(rest))
    for key in ("train", "eval", "test"):
        if options.get(key):
            path = (ROOT / options[key]).resolve()
            if not path.exists() and "shared/data" in options[key]:
                service_missing(f"the shared data set {options[key]} is not beside the checkout")
            assert path.is_file(), f"--{key} {options[key]} does not exist"


def _compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "deploy/docker-compose.yml").read_text())


def check_docker(args: list[str]) -> None:
    compose = _compose()
    services = set(compose["services"])
    if args[:2] == ["docker", "run"]:
        images = {str(s.get("image", "")).split(":")[0] for s in compose["services"].values()}
        assert args[-1] in images, f"image {args[-1]} is not built by docker-compose.yml"
        return
    assert args[:2] == ["docker", "compose"], args
    rest = args[2:]
    assert rest[:2] == ["-f", "deploy/docker-compose.yml"] and (ROOT / rest[1]).is_file()
    rest = rest[2:]
    if rest[:1] == ["--profile"]:
        profiles = {p for s in compose["services"].values() for p in s.get("profiles", [])}
        assert rest[1] in profiles, rest[1]
        rest = rest[2:]
    command = rest[0]
    assert command in ("up", "exec"), command
    if command == "exec":
        assert rest[1] in services, rest[1]
    for index, arg in enumerate(rest):
        if arg == "--scale":
            assert rest[index + 1].split("=")[0] in services


def check_celery(args: list[str]) -> None:
    from portal.celery import app

    assert args[:4] == ["celery", "-A", "portal", "worker"], args
    queues = args[args.index("-Q") + 1].split(",")
    assert set(queues) <= QUEUES and app.main == "portal"


def check_make(args: list[str]) -> None:
    targets = set(re.findall(r"^([a-z][a-z-]*):", (ROOT / "Makefile").read_text(), re.M))
    assert args[1] in targets, f"make {args[1]}: no such target"


def check_command(args: list[str]) -> None:
    manage = _manage_args(args)
    if manage is not None:
        check_manage(manage)
    elif args[0] == "make":
        check_make(args)
    elif args[0] == "docker":
        check_docker(args)
    elif args[0] == "celery":
        check_celery(args)
    elif args[0] == "export":
        name = args[1].split("=", 1)[0]
        assert name in ENVIRONMENT, f"the docs read no variable {name}"
    elif args[0] == "cp":
        assert (ROOT / args[1]).is_file(), args[1]
    else:
        pytest.fail(f"no check for the command {args[0]!r}: add one to tests/docs/test_samples.py")


# --- the tests --------------------------------------------------------------------------


def test_every_code_block_is_a_marked_sample_or_a_plain_illustration():
    for source, sample in UNMARKED:
        where = f"{source.display_path}:{sample.line}"
        assert sample.lang == "text", f"{where}: mark this {sample.lang or 'code'} block with <!-- sample: ... -->"
        assert not re.search(r"\b(curl|python|manage\.py|import)\b|^\$ ", sample.code), (
            f"{where}: a command needs a marker"
        )
    assert len(SAMPLES) >= 60


def test_both_languages_carry_the_same_samples():
    by_language: dict[str, dict[tuple[str, str, str], tuple[str, str]]] = {}
    for source, sample in SAMPLES:
        page = (source.kind, source.course, source.slug)
        by_language.setdefault(source.language, {})[(*page[1:], sample.id)] = (sample.check, sample.lang)
    assert by_language["en"] == by_language["zh-hans"]


@pytest.mark.parametrize(("source", "sample"), _unique("run"))
def test_runnable_sample_runs(source, sample, tmp_path, request):
    if sample.lang == "python":
        result = subprocess.run(
            [sys.executable, "-c", sample.code], cwd=tmp_path, capture_output=True, text=True, timeout=300
        )
        assert result.returncode == 0, f"{source.display_path}:{sample.line}\n{result.stderr[-3000:]}"
        return
    assert sample.lang == "sh", sample.lang
    request.getfixturevalue("db")
    settings = request.getfixturevalue("settings")
    settings.DOCS_CONTENT_DIR = CONTENT
    for args in shell_commands(sample.code):
        manage = _manage_args(args)
        assert manage is not None, f"{source.display_path}:{sample.line}: only manage.py commands run here"
        call_command(*manage)


@pytest.mark.parametrize(("source", "sample"), _unique("parse"))
def test_command_sample_parses_against_the_real_tools(source, sample):
    assert sample.lang == "sh"
    commands = shell_commands(sample.code)
    assert commands
    for args in commands:
        check_command(args)


def _api_path(url: str) -> str:
    assert url.startswith(("$PORTAL_URL/", "{BASE}", "{os.environ['PORTAL_URL']}")), url
    path = re.sub(r"^(\$PORTAL_URL|\{BASE\}|\{os\.environ\['PORTAL_URL'\]\})", "", url)
    return urlsplit(path).path


def check_curl(args: list[str]) -> None:
    assert args[0] == "curl"
    url = next(arg for arg in args[1:] if "PORTAL_URL" in arg)
    body = curl_body(args)
    method = "POST" if body is not None else "GET"
    path = _api_path(url)
    assert any(m == method and pattern.match(path) for m, pattern in API_ROUTES), f"{method} {path} is not in the API"
    headers = [args[i + 1] for i, arg in enumerate(args) if arg == "-H"]
    assert "Authorization: Bearer $PORTAL_API_KEY" in headers
    for header in headers:
        name = header.split(":", 1)[0]
        assert name in ("Authorization", "Content-Type", "Idempotency-Key"), name
    if body is not None:
        assert "Content-Type: application/json" in headers
        check_classify_request(body)


def check_python_api(code: str) -> None:
    compile(code, "<sample>", "exec")
    paths = re.findall(r"f\"(\{[^\"]*?\}/api/v1/[^\"]*)\"", code)
    assert paths or re.search(r"job\[[\"']url[\"']\]", code), "no API URL found"
    for sample in paths:
        path = re.sub(r"/\{[^}]+\}$", "/" + "0" * 8 + "-0000-0000-0000-" + "0" * 12, sample)
        method_pattern = "POST" if ".post(" in code and "classify" in path else "GET"
        assert any(m == method_pattern and p.match(_api_path(path)) for m, p in API_ROUTES), path
    assert "f\"Bearer {os.environ['PORTAL_API_KEY']}\"" in code or "HEADERS" in code
    for body in python_dicts(code):
        if "model" in body:
            check_classify_request(body)


@pytest.mark.parametrize(("source", "sample"), _unique("api"))
def test_api_sample_matches_the_contract(source, sample):
    """The shape of every API call; test_samples_live.py runs them for real."""
    if sample.lang == "sh":
        for args in shell_commands(sample.code):
            check_curl(args)
    else:
        assert sample.lang == "python"
        check_python_api(sample.code)
    if sample.attrs.get("playground") == "1":
        assert classify_request(sample.code, sample.lang) is not None


@pytest.mark.parametrize(("source", "sample"), _unique("output"))
def test_example_output_matches_the_contract(source, sample):
    name = sample.attrs.get("shape", "")
    assert name in SHAPES, f"{source.display_path}:{sample.line}: shape={name!r} is not known"
    SHAPES[name](json.loads(sample.code) if sample.lang == "json" else sample.code)


def _api_problem_types() -> dict[str, int]:
    """Every problem type the API can answer with, from the code that answers."""
    from apps.core import errors, problems

    found = {
        cls.type: cls.status
        for cls in vars(errors).values()
        if isinstance(cls, type) and issubclass(cls, errors.ProblemError) and cls is not errors.ProblemError
    }
    # The framework's exceptions, as the one exception handler maps them; a status of None
    # is the catch-all for unexpected framework errors, which is not documented.
    for _classes, kind, _title, status, _detail in problems._PROBLEMS:
        if status is not None:
            found[kind] = status
    return found


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_errors_page_lists_every_problem_type_the_api_returns(language):
    page = (CONTENT / language / "docs" / "errors.md").read_text()
    documented = {kind: int(status) for kind, status in re.findall(r"^\| `([a-z_]+)` \| (\d{3}) \|", page, re.M)}
    assert documented == _api_problem_types()
    assert documented == PROBLEM_TYPES


def test_the_documented_key_check_agrees_with_the_portal():
    from apps.apikeys import keyformat

    sample = next(s for source, s in SAMPLES if s.id == "auth-key-check")
    namespace: dict[str, Any] = {}
    exec(compile(sample.code, "<auth-key-check>", "exec"), namespace)  # noqa: S102 (the project's own sample)
    for _ in range(20):
        key = keyformat.generate().raw
        assert namespace["looks_like_a_real_key"](key)
        assert not namespace["looks_like_a_real_key"](key[:-1] + ("A" if key[-1] != "A" else "B"))


def test_every_sample_is_checked_by_one_of_the_tests_above():
    checks = {sample.check for _, sample in SAMPLES}
    assert checks <= {"run", "parse", "api", "output"}
    counted = sum(len(_unique(check)) for check in checks)
    assert counted == len({(s.id, s.code) for _, s in SAMPLES})


def test_the_content_directory_is_the_projects():
    assert Path(CONTENT).is_dir() and (CONTENT / "en" / "docs" / "quickstart.md").is_file()
