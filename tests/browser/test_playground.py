"""The playground in Debian's chromium against the live server, with a real worker where a
job has to finish. Screenshots of the main states go to test-results/screenshots/."""

import csv
import io
import json
import re
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings as django_settings
from django.utils import timezone
from playwright.sync_api import expect

from apps.inference.models import InferenceJob, JobSource
from apps.inference.results import given_up_error
from apps.inference.services import inference_job_submit, inference_jobs_record
from apps.mlmodels.models import VersionStatus
from apps.playground.models import Run
from apps.playground.services import playground_run_create
from bench.playground import CLICK

from ..apikeys.conftest import KeyClient, make_key
from ..factories import PASSWORD, UserFactory
from ..models import EXPECTED, make_version
from ..playground.conftest import DEMO, build_gamma_head_artifact
from .conftest import PHONE, log_in, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DONE_TIMEOUT = 120_000  # a cold worker loads the model on its first job


@pytest.fixture(scope="session")
def gamma_head_artifact(fixed_head_artifact):
    return build_gamma_head_artifact(
        fixed_head_artifact, Path(django_settings.MODEL_ARTIFACTS_DIR) / "tests" / "gamma-head"
    )


@pytest.fixture
def no_workers(worker_pair):
    """Stop the suite's shared workers if an earlier test started them: the job must wait."""
    worker_pair.stop()


def _demo(artifact, **options):
    version = make_version(artifact, slug=DEMO, **options)
    version.model.example_inputs = ["The docs are great.", "Support never answered."]
    version.model.description = "Positive or negative? A small demo model."
    version.model.save()
    return version


def _open(page, path="/playground/"):
    page.goto(page.base + path)
    page.locator("[data-playground][data-ready=true]").wait_for()


def _no_horizontal_scroll(page):
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def _watch_status(page):
    page.evaluate("""() => {
        const status = document.getElementById("pg-status");
        window.statusLog = [];
        new MutationObserver(() => window.statusLog.push(status.textContent))
            .observe(status, {childList: true, characterData: true, subtree: true});
    }""")


@pytest.mark.worker
def test_a_developer_runs_the_demo_model_on_a_sentence_and_sees_label_bars_and_timing(
    worker, page, fixed_head_artifact
):
    _demo(fixed_head_artifact)
    user = UserFactory(username="ada")
    log_in(page, user.email, PASSWORD)
    _open(page)

    info = page.locator("#pg-model-info")
    expect(info).to_contain_text("Text classification")
    for label in ("alpha", "beta", "gamma"):
        expect(info.locator(".badge", has_text=label)).to_have_count(1)
    expect(info.get_by_role("link", name=re.compile("Model page"))).to_have_attribute("href", f"/models/{DEMO}/")
    expect(page.locator("#pg-limits")).to_contain_text("10,000 inputs a month")

    info.get_by_role("button", name="The docs are great.").click()  # an example, one click
    textarea = page.get_by_label("Text to classify")
    expect(textarea).to_have_value("The docs are great.")
    expect(page.locator("#pg-counter")).to_have_text("1 of 32 inputs · longest 19 of 2,000 characters")
    textarea.press("Control+Enter")

    status = page.locator("#pg-status")
    expect(status).to_contain_text("Done in", timeout=DONE_TIMEOUT)

    scores = page.locator(".pg-result .pg-score")
    expect(scores).to_have_count(3)
    expect(scores.first).to_have_class(re.compile("is-winner"))
    expect(scores.first.locator(".pg-score-label")).to_have_text("beta")
    expect(scores.first.locator(".pg-top")).to_have_text("Top label")
    values = [float(v.strip("%")) for v in page.locator(".pg-result .pg-score-value").all_inner_texts()]
    assert values == sorted(values, reverse=True)
    assert abs(values[0] - EXPECTED["beta"] * 100) < 0.1
    meter = float(page.locator(".pg-result meter").first.get_attribute("value"))
    assert abs(meter - EXPECTED["beta"]) < 1e-3

    timing = page.locator("#pg-timing")
    for term in ("Queue wait", "Inference", "Total", "Batch size"):
        expect(timing).to_contain_text(term)
    total = timing.locator(".pg-timing-total dd").inner_text()
    assert re.fullmatch(r"[\d,]+(\.\d)? ms", total), total

    expect(page.locator("#pg-history .pg-history-item").first).to_contain_text("The docs are great.")
    expect(page.locator("#pg-history .pg-history-item .badge-success").first).to_have_text("beta")
    screenshot(page, "playground-result")

    job = InferenceJob.objects.get()
    assert job.owner == user
    assert job.source == JobSource.PLAYGROUND
    assert Run.objects.get().job == job
    assert page.js_errors == []


@pytest.mark.worker
def test_a_three_line_batch_runs_as_one_job_with_a_table_and_exports(worker, page, fixed_head_artifact):
    _demo(fixed_head_artifact)
    user = UserFactory()
    log_in(page, user.email, PASSWORD)
    _open(page)
    long_line = "Third line, " + "and it goes on " * 60  # longer than the model's 128 tokens
    page.get_by_label("Text to classify").fill(f"First line.\nSecond line.\n\n{long_line}")
    expect(page.locator("#pg-counter")).to_contain_text("3 of 32 inputs")
    page.get_by_role("button", name="Run", exact=True).click()
    expect(page.locator("#pg-status")).to_contain_text("Done in", timeout=DONE_TIMEOUT)
    expect(page.locator(".pg-result")).to_have_count(3)
    expect(page.locator("#pg-summary")).to_have_text("Results for 3 inputs")
    expect(page.locator(".pg-result").nth(2).locator(".pg-truncated")).to_contain_text("cut to the model's maximum")
    expect(page.locator(".pg-result").nth(0).locator(".pg-truncated")).to_have_count(0)
    expect(page.locator("#pg-timing")).to_contain_text("Batch size")

    page.get_by_role("button", name="Table").click()
    rows = page.locator(".pg-table tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.nth(1)).to_contain_text("Second line.")
    expect(rows.nth(2).locator(".pg-winner")).to_have_text("beta")
    screenshot(page, "playground-batch-table")

    with page.expect_download() as download:
        page.get_by_role("button", name="Export CSV").click()
    table = list(csv.reader(io.StringIO(Path(download.value.path()).read_text())))
    assert table[0] == ["input", "label", "score", "alpha", "beta", "gamma", "truncated"]
    assert [row[0] for row in table[1:]] == ["First line.", "Second line.", long_line.strip()]
    assert [row[-1] for row in table[1:]] == ["no", "no", "yes"]
    assert {row[1] for row in table[1:]} == {"beta"}
    with page.expect_download() as download:
        page.get_by_role("button", name="Export JSON").click()
    exported = json.loads(Path(download.value.path()).read_text())
    assert len(exported["runs"][0]["results"]) == 3

    job = InferenceJob.objects.get()  # one job for the whole batch
    assert job.inputs == ["First line.", "Second line.", long_line.strip()]
    assert job.batch_size >= 3
    assert page.js_errors == []


def test_view_code_shows_the_request_as_curl_python_and_javascript_and_copies_it(page, fixed_head_artifact, client):
    _demo(fixed_head_artifact)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=page.base)
    _open(page)
    page.get_by_label("Text to classify").fill("Copy me, please.\nAnd me.")
    toggle = page.get_by_role("button", name="View code")
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")

    curl = page.locator("#pg-code-curl")
    expect(curl).to_contain_text(page.base + "/api/v1/classify")
    expect(curl).to_contain_text("Authorization: Bearer $PORTAL_API_KEY")
    expect(page.get_by_role("link", name="Create an API key")).to_have_attribute("href", "/account/keys/")
    page.locator("#pg-panel-curl").get_by_role("button", name="Copy").click()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.startswith("# export PORTAL_API_KEY=pk_")
    body = json.loads(re.search(r"-d '(.*)'$", copied).group(1))
    assert body == {"model": DEMO, "inputs": ["Copy me, please.", "And me."], "wait": 10}
    # The copied request is one the API accepts from a program with a key.
    _key, raw = make_key(UserFactory())
    assert KeyClient(client, raw).post("classify", {**body, "wait": 0}).status_code == 202

    page.get_by_role("tab", name="Python").click()
    python = page.locator("#pg-code-python")
    expect(python).to_be_visible()
    expect(python).to_contain_text("requests.post(")
    expect(python).to_contain_text("os.environ['PORTAL_API_KEY']")
    page.keyboard.press("ArrowRight")
    expect(page.get_by_role("tab", name="JavaScript")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#pg-code-js")).to_contain_text("body: JSON.stringify({")
    screenshot(page, "playground-code")
    assert page.js_errors == []


def test_a_too_long_input_shows_the_error_and_nothing_is_queued(page, fixed_head_artifact):
    _demo(fixed_head_artifact)
    user = UserFactory()
    log_in(page, user.email, PASSWORD)
    _open(page)
    textarea = page.get_by_label("Text to classify")
    textarea.fill("x" * 2001)
    counter = page.locator("#pg-counter")
    expect(counter).to_have_class(re.compile("is-over"))
    expect(counter).to_contain_text("longest 2,001 of 2,000 characters")
    page.get_by_role("button", name="Run", exact=True).click()
    error = page.locator("#pg-input-error")
    expect(error).to_have_text("The input has 2,001 characters; the limit is 2,000. Shorten it.")
    expect(textarea).to_have_attribute("aria-invalid", "true")
    expect(textarea).to_be_focused()
    screenshot(page, "playground-too-long")
    assert InferenceJob.objects.count() == 0

    textarea.fill("x" * 2000)
    expect(error).to_be_hidden()
    expect(textarea).not_to_have_attribute("aria-invalid", "true")
    textarea.fill("  \n ")
    page.get_by_role("button", name="Run", exact=True).click()
    expect(error).to_have_text("Type or paste some text first: the input is empty.")
    assert InferenceJob.objects.count() == 0
    assert page.js_errors == []


def test_an_error_from_the_api_is_stated_plainly(page, fixed_head_artifact):
    version = _demo(fixed_head_artifact)
    user = UserFactory()
    log_in(page, user.email, PASSWORD)
    _open(page)
    page.get_by_label("Text to classify").fill("Hello there.")
    version.status = VersionStatus.RETIRED  # retired while the page was open
    version.save()
    page.get_by_role("button", name="Run", exact=True).click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("This model was retired")
    expect(alert).to_contain_text("Pick another model or version.")
    expect(page.locator("#pg-status")).to_have_text("Nothing was queued.")
    assert InferenceJob.objects.count() == 0


def test_the_chinese_playground_is_the_same_page_translated(page, fixed_head_artifact):
    _demo(fixed_head_artifact)
    _open(page, "/playground/")
    english_ids = page.evaluate("Array.from(document.querySelectorAll('[data-playground] [id]')).map(e => e.id)")
    _open(page, "/zh-hans/playground/")
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    expect(page.get_by_role("heading", level=1)).to_have_text("体验场")
    expect(page.get_by_role("button", name="运行", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="查看代码")).to_be_visible()
    expect(page.locator("#pg-status")).to_contain_text("准备就绪")
    page.get_by_label("要分类的文本").fill("这个接口很好用。\n文档也很清楚。")
    expect(page.locator("#pg-counter")).to_contain_text("输入 2 / 32 条")
    expect(page.locator("#pg-model-info")).to_contain_text("标签")
    chinese_ids = page.evaluate("Array.from(document.querySelectorAll('[data-playground] [id]')).map(e => e.id)")
    assert chinese_ids == english_ids  # the same page, translated
    screenshot(page, "playground-zh-hans")
    assert page.js_errors == []


@pytest.mark.worker
def test_a_visitor_on_a_phone_tries_the_demo_then_is_asked_to_sign_in(worker, page, fixed_head_artifact, settings):
    settings.PLAYGROUND_ANONYMOUS_RUNS_PER_HOUR = 1
    _demo(fixed_head_artifact)
    page.set_viewport_size(PHONE)
    _open(page)
    _no_horizontal_scroll(page)
    expect(page.locator("#pg-anon-left")).to_have_text("1 of 1 free run left this hour.")
    page.get_by_label("Text to classify").fill("I love this little demo.")
    page.get_by_role("button", name="Run", exact=True).click()
    expect(page.locator("#pg-status")).to_contain_text("Done in", timeout=DONE_TIMEOUT)
    expect(page.locator(".pg-result .pg-score")).to_have_count(3)
    expect(page.locator("#pg-anon-left")).to_have_text("0 of 1 free runs left this hour.")
    _no_horizontal_scroll(page)
    screenshot(page, "playground-phone-visitor-result")

    page.get_by_role("button", name="Run", exact=True).click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Free runs used up for this hour")
    expect(alert.get_by_role("link", name="Sign in")).to_have_attribute("href", re.compile(r"^/accounts/login/\?next="))
    _no_horizontal_scroll(page)
    screenshot(page, "playground-phone-visitor-limit")
    job = InferenceJob.objects.get()
    assert job.owner is None
    # The browser logs the refused request itself; the page's own code raised nothing.
    assert [e for e in page.js_errors if "status of 429" not in e] == []


@pytest.mark.worker
def test_comparing_two_versions_highlights_the_differing_predictions(
    worker, page, fixed_head_artifact, gamma_head_artifact
):
    _demo(fixed_head_artifact, version=1)
    make_version(gamma_head_artifact, slug=DEMO, version=2)
    user = UserFactory()
    log_in(page, user.email, PASSWORD)
    _open(page)
    page.get_by_label("Compare with another model or version").check()
    expect(page.get_by_label("Second model")).to_have_value(DEMO)
    expect(page.locator("#pg-version-b")).to_have_value("1")
    page.get_by_label("Text to classify").fill("One.\nTwo.")
    page.get_by_role("button", name="Run", exact=True).click()
    expect(page.locator("#pg-status")).to_contain_text("Done in", timeout=DONE_TIMEOUT)
    expect(page.locator("#pg-summary")).to_have_text("The two disagree on 2 of 2 inputs.")
    expect(page.locator(".pg-result.is-different")).to_have_count(2)
    sides = page.locator(".pg-result").first.locator(".pg-side")
    expect(sides.nth(0).locator(".is-winner .pg-score-label")).to_have_text("gamma")
    expect(sides.nth(1).locator(".is-winner .pg-score-label")).to_have_text("beta")
    screenshot(page, "playground-compare")
    page.get_by_role("button", name="Table").click()
    expect(page.locator(".pg-table tbody tr.is-different")).to_have_count(2)
    expect(page.locator("#pg-history .pg-history-item").first).to_contain_text("sentiment-demo v2 ↔ sentiment-demo v1")
    run = Run.objects.get()
    assert run.compare_job.model_version.version == 1
    assert run.job.model_version.version == 2
    assert page.js_errors == []


@pytest.mark.worker
def test_on_an_idle_queue_the_result_comes_on_a_request_held_by_the_server_not_a_polling_timer(
    worker, page, fixed_head_artifact
):
    _demo(fixed_head_artifact)
    user = UserFactory()
    log_in(page, user.email, PASSWORD)
    _open(page)
    textarea = page.get_by_label("Text to classify")
    textarea.fill("Warm the worker up.")  # a cold worker loads the model on its first job
    page.get_by_role("button", name="Run", exact=True).click()
    expect(page.locator("#pg-status")).to_contain_text("Done in", timeout=DONE_TIMEOUT)

    job_gets: list[str] = []
    page.on("request", lambda request: job_gets.append(request.url) if "/api/v1/jobs/" in request.url else None)
    textarea.fill("The docs are great.")
    click = page.evaluate(CLICK)
    # Measured, not held to a figure (bench/playground.py reports p50/p95 over many clicks).
    print(f"click to result on an idle queue: {click['ms']:.0f} ms, states {click['seen']}")
    assert click["seen"][-1] == "done"
    expect(page.locator(".pg-result .pg-score")).to_have_count(3)
    # The page asked for the job with a wait (answered when the job finished), never by polling.
    assert job_gets, "the result came with the POST"
    assert all(parse_qs(urlsplit(url).query).get("wait") for url in job_gets), job_gets
    assert page.js_errors == []


def test_without_a_worker_the_job_waits_and_the_page_says_where_it_stands_until_it_is_done(
    no_workers, worker_pair, page, fixed_head_artifact
):
    _demo(fixed_head_artifact)
    user = UserFactory()
    log_in(page, user.email, PASSWORD)
    _open(page)
    _watch_status(page)
    page.get_by_label("Text to classify").fill("Waiting for a worker.")
    page.get_by_role("button", name="Run", exact=True).click()
    status = page.locator("#pg-status")
    detail = page.locator("#pg-status-detail")
    expect(status).to_have_text(
        "Queued for sentiment-demo v1, but no worker is online: the job waits until one starts."
    )
    expect(detail).to_contain_text("next in line")
    expect(page.locator(".playground")).to_have_attribute("aria-busy", "true")
    screenshot(page, "playground-no-worker")
    item = page.locator("#pg-history .pg-history-item").first
    expect(item).to_contain_text("Waiting for a worker.")
    expect(item).to_contain_text("Queued")

    # A worker's report that it runs the job (the report a worker sends for a long flush,
    # through the web side's recording service): the page says where and in what batch.
    job = InferenceJob.objects.get()
    report = {"job_id": str(job.id), "status": "running", "worker": "gpu-1@host", "batch_size": 1, "attempt": 1}
    assert inference_jobs_record(outcomes=[{**report, "started_at": time.time()}]) == 1
    expect(status).to_have_text("Running on sentiment-demo v1…")
    expect(detail).to_have_text("Worker gpu-1@host, in a batch of 1 input")

    # Real workers start, take the job from the queue and finish it.
    worker_pair.ensure()
    expect(status).to_contain_text("Done in", timeout=DONE_TIMEOUT)
    expect(page.locator(".pg-result .pg-score")).to_have_count(3)
    seen = [text.split(":")[0].split(" v1")[0] for text in page.evaluate("window.statusLog")]
    assert seen[:3] == ["Sending the request…", "Queued for sentiment-demo", "Running on sentiment-demo"], seen
    assert seen[-1].startswith("Done in"), seen
    assert page.js_errors == []


def test_a_run_is_shared_read_only_then_deleted_from_the_history(page, browser, fixed_head_artifact):
    _demo(fixed_head_artifact)
    user = UserFactory()
    log_in(page, user.email, PASSWORD)
    _open(page)
    page.get_by_label("Text to classify").fill("A run worth sharing.")
    page.get_by_role("button", name="Run", exact=True).click()
    item = page.locator("#pg-history .pg-history-item").first
    expect(item).to_contain_text("A run worth sharing.")

    page.get_by_label("Text to classify").fill("")
    item.get_by_role("button", name=re.compile("^Re-run")).click()  # the inputs come back and run again
    expect(page.locator("#pg-history .pg-history-item")).to_have_count(2)
    expect(page.get_by_label("Text to classify")).to_have_value("A run worth sharing.")
    assert [job.inputs for job in InferenceJob.objects.order_by("queued_at")] == [["A run worth sharing."]] * 2
    page.locator("#pg-history .pg-history-item").nth(0).get_by_role("button", name="Delete").click()
    page.locator("#pg-history .pg-history-item").nth(0).locator(".pg-confirm").get_by_role(
        "button", name="Delete"
    ).click()
    expect(page.locator("#pg-history .pg-history-item")).to_have_count(1)
    item = page.locator("#pg-history .pg-history-item").first

    share = item.get_by_role("button", name="Share")
    share.click()
    item = page.locator("#pg-history .pg-history-item").first
    expect(item.locator(".pg-share-state")).to_have_text(re.compile("^Shared: anyone with the link"))
    link = item.get_by_label("Share link")
    expect(link).to_be_visible()
    url = link.input_value()
    assert "/playground/runs/" in url
    screenshot(page, "playground-history-shared")

    outsider = browser.new_context()
    try:
        other = outsider.new_page()
        response = other.goto(url)
        assert response.status == 200
        expect(other.locator("main")).to_contain_text("A run worth sharing.")
        expect(other.locator("main form")).to_have_count(0)  # read-only
        screenshot(other, "playground-shared-run-page")

        item.get_by_role("button", name="Delete").click()
        item.locator(".pg-confirm").get_by_role("button", name="Delete").click()
        expect(page.locator("#pg-history .pg-history-item")).to_have_count(0)
        expect(page.locator("#pg-history-empty")).to_be_visible()
        assert other.goto(url).status == 404
    finally:
        outsider.close()
    assert Run.objects.count() == 0
    assert page.js_errors == []


def test_a_csv_file_loads_a_batch_and_the_limits_show_before_they_are_hit(page, fixed_head_artifact):
    _demo(fixed_head_artifact)
    _open(page)
    rows = "\n".join(f'{n % 2},"Review {n}, with a comma"' for n in range(40))
    page.locator("#pg-file").set_input_files(
        files=[{"name": "reviews.csv", "mimeType": "text/csv", "buffer": f"label_id,text\n{rows}".encode()}]
    )
    # The header names the text column; the first column is used when none does.
    note = page.locator("#pg-file-note")
    expect(note).to_have_text(
        "Loaded 32 inputs from reviews.csv. The file has 40 rows; only the first 32 fit in one request."
    )
    textarea = page.get_by_label("Text to classify")
    lines = textarea.input_value().split("\n")
    assert len(lines) == 32
    assert lines[0] == "Review 0, with a comma"
    counter = page.locator("#pg-counter")
    expect(counter).to_contain_text("32 of 32 inputs")
    expect(counter).to_have_class(re.compile("is-near"))
    textarea.press("End")
    textarea.type("\nOne too many")
    expect(counter).to_have_class(re.compile("is-over"))
    page.get_by_role("button", name="Run", exact=True).click()
    expect(page.locator("#pg-input-error")).to_have_text(
        "33 inputs is too many: a request takes at most 32. Remove some lines."
    )
    page.locator("#pg-file").set_input_files(
        files=[{"name": "notes.txt", "mimeType": "text/plain", "buffer": b"one\n\n two \nthree\n"}]
    )
    expect(textarea).to_have_value("one\ntwo\nthree")
    page.evaluate("""() => {
        const files = new DataTransfer();
        files.items.add(new File(["dropped one\\ndropped two\\n"], "dropped.txt", {type: "text/plain"}));
        document.querySelector("[data-drop]").dispatchEvent(
            new DragEvent("drop", {dataTransfer: files, bubbles: true, cancelable: true}));
    }""")
    expect(textarea).to_have_value("dropped one\ndropped two")
    expect(note).to_have_text("Loaded 2 inputs from dropped.txt.")
    assert InferenceJob.objects.count() == 0
    assert page.js_errors == []


def test_an_exhausted_quota_is_stated_with_where_to_ask_for_more(page, fixed_head_artifact):
    from apps.apikeys.plans import plan_default

    _demo(fixed_head_artifact)
    plan = plan_default()
    plan.inputs_per_month = 2
    plan.save()
    user = UserFactory()
    log_in(page, user.email, PASSWORD)
    _open(page)
    expect(page.locator("#pg-limits")).to_contain_text("2 inputs a month (2 left this month)")
    page.get_by_label("Text to classify").fill("one\ntwo\nthree")
    page.get_by_role("button", name="Run", exact=True).click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Monthly quota used up")
    expect(alert.get_by_role("link", name="Request a higher quota")).to_have_attribute("href", "/account/keys/")
    screenshot(page, "playground-quota")
    assert InferenceJob.objects.count() == 0


def test_a_rate_limit_is_stated_with_when_to_retry(page, fixed_head_artifact):
    from apps.apikeys.plans import plan_default

    _demo(fixed_head_artifact)
    plan = plan_default()
    plan.requests_per_minute = 1  # the page's own usage check takes it
    plan.save()
    user = UserFactory()
    log_in(page, user.email, PASSWORD)
    _open(page)
    expect(page.locator("#pg-limits")).to_contain_text("1 requests a minute")
    page.get_by_label("Text to classify").fill("one")
    page.get_by_role("button", name="Run", exact=True).click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Too many requests")
    expect(alert).to_contain_text(re.compile(r"You can run again in \d+ s\."))
    expect(page.get_by_role("button", name="Run", exact=True)).to_be_disabled()
    assert InferenceJob.objects.count() == 0


def test_a_job_given_up_after_stopping_its_worker_is_stated_plainly(no_workers, page, fixed_head_artifact):
    _demo(fixed_head_artifact)
    user = UserFactory()
    log_in(page, user.email, PASSWORD)
    _open(page)
    page.get_by_label("Text to classify").fill("This one stops its worker.")
    page.get_by_role("button", name="Run", exact=True).click()
    expect(page.locator("#pg-status")).to_contain_text("no worker is online")
    # The row exactly as the worker and the reconciler leave a poison job: its worker was
    # lost on each of its attempts, then it was failed with this detail
    # (apps/inference/results.py ``given_up_error``, written by the worker and the reconciler).
    attempts = django_settings.INFERENCE_MAX_ATTEMPTS
    InferenceJob.objects.update(
        status="failed",
        attempts=attempts,
        finished_at=timezone.now(),
        error=given_up_error(attempts),
    )
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("The job was given up", timeout=30_000)
    expect(alert).to_contain_text("Its worker stopped, or ran past the time limit, each time it ran it.")
    expect(page.locator("#pg-status")).to_have_text("The job failed.")
    expect(page.locator(".playground")).not_to_have_attribute("aria-busy", "true")


def test_share_after_a_reload_keeps_the_link_and_stop_sharing_revokes_it(page, browser, fixed_head_artifact):
    _demo(fixed_head_artifact)
    user = UserFactory()
    job = inference_job_submit(owner=user, model=DEMO, inputs=["A run shared twice."])
    playground_run_create(owner=user, job_id=job.id)
    log_in(page, user.email, PASSWORD)
    _open(page)
    item = page.locator("#pg-history .pg-history-item").first
    expect(item).to_contain_text("A run shared twice.")
    expect(item.get_by_role("button", name="Stop sharing")).to_have_count(0)

    item.get_by_role("button", name="Share", exact=True).click()
    link = item.get_by_label("Share link")
    expect(link).to_be_visible()
    url = link.input_value()

    _open(page)  # the page draws the run's sharing state from the server
    item = page.locator("#pg-history .pg-history-item").first
    expect(item.locator(".pg-share-state")).to_have_text(re.compile("^Shared: anyone with the link"))
    item.get_by_role("button", name="Share", exact=True).click()  # to fetch the link again
    expect(page.locator("#live-region")).to_have_text("Sharing is on: anyone with the link can see this run.")
    expect(item.get_by_label("Share link")).to_have_value(url)
    outsider = browser.new_context()
    try:
        other = outsider.new_page()
        assert other.goto(url).status == 200
        assert Run.objects.get().shared

        item.get_by_role("button", name="Stop sharing").click()
        expect(item.get_by_label("Share link")).to_have_count(0)
        expect(item.get_by_role("button", name="Stop sharing")).to_have_count(0)
        assert other.goto(url).status == 404
    finally:
        outsider.close()
    _open(page)
    expect(page.locator("#pg-history .pg-history-item").first.locator(".pg-share-state")).to_have_count(0)
    assert page.js_errors == []


def test_timings_are_shown_to_one_decimal_without_float_noise(page, fixed_head_artifact):
    _demo(fixed_head_artifact)
    _open(page)
    shown = page.evaluate("""async () => {
        const base = document.querySelector('script[src*="playground.js"]').src;
        const { renderTiming } = await import(new URL("../playground/results.js", base));
        const { translator } = await import(new URL("../playground/util.js", base));
        const t = translator(JSON.parse(document.getElementById("playground-strings").textContent), "en");
        const box = document.createElement("div");
        const timing = {
            queued_ms: 0.30000000000000004, inference_ms: 41.449999999999996, total_ms: 1173.3100000000002,
        };
        const job = { version: 1, timing, batch_size: 1 };
        renderTiming({ t, el: { timing: box } }, [{ side: { model: "m" }, job }]);
        return Array.from(box.querySelectorAll("dd"), (dd) => dd.textContent);
    }""")
    assert shown == ["0.3 ms", "41.4 ms", "1,173.3 ms", "1"]
