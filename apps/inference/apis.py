"""POST /api/v1/classify and GET /api/v1/jobs/{id}.

Callers: an API key, the signed-in session (the playground, with CSRF), or a visitor's
browser without an account, which may run only ``PLAYGROUND_ANONYMOUS_MODELS`` a few
times an hour (see apps/core/api.py). A visitor's jobs have no owner; their ids are kept
in the visitor's session, and only that session can read them back.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from apps.apikeys.limits import quota_consume, quota_refund
from apps.apikeys.models import APIKey, IdempotencyRecord
from apps.core.api import PortalAPIView, anonymous_browser, anonymous_models, subject_of
from apps.core.api_docs import RATE_HEADERS, problems
from apps.core.errors import (
    AuthenticationRequired,
    ConcurrencyLimited,
    IdempotencyConflict,
    InvalidInput,
    ModelNotAllowed,
    NotFound,
    QuotaExceeded,
)
from apps.mlmodels.models import VersionStatus
from apps.mlmodels.selectors import model_version_serving

from .models import OPEN_STATUSES, InferenceJob, JobSource, JobStatus
from .selectors import job_get_visible, worker_list_live
from .services import inference_inputs_validate, inference_job_outcome, inference_job_submit, inference_job_wait

MAX_WAIT = 30
MAX_VERSION = 2**31 - 1
IDEMPOTENCY_WINDOW = timedelta(hours=24)
# A visitor's session remembers this many of its latest job ids.
ANONYMOUS_JOBS_KEPT = 50
ANONYMOUS_JOBS_SESSION_KEY = "inference:anonymous_jobs"


class ResultSerializer(serializers.Serializer):
    label = serializers.CharField()
    score = serializers.FloatField()
    scores = serializers.DictField(child=serializers.FloatField(), help_text="Every label's probability.")
    truncated = serializers.BooleanField(help_text="The input was cut to the model's maximum length.")


class TimingSerializer(serializers.Serializer):
    queued_ms = serializers.FloatField(allow_null=True)
    inference_ms = serializers.FloatField(allow_null=True)
    total_ms = serializers.FloatField(allow_null=True)


class JobErrorSerializer(serializers.Serializer):
    type = serializers.CharField()
    detail = serializers.CharField()


class JobSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=JobStatus.values)
    model = serializers.CharField()
    version = serializers.IntegerField()
    results = ResultSerializer(many=True, required=False)
    timing = TimingSerializer()
    batch_size = serializers.IntegerField(allow_null=True)
    error = JobErrorSerializer(required=False)
    warnings = serializers.ListField(child=serializers.CharField(), required=False)


class QueueSerializer(serializers.Serializer):
    jobs_ahead = serializers.IntegerField(help_text="Queued jobs that were sent before this one.")
    position = serializers.IntegerField(help_text="This job's place in the queue (jobs_ahead + 1).")
    workers_online = serializers.IntegerField(help_text="Inference workers with a fresh heartbeat; 0: none online.")


class PendingSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.CharField()
    url = serializers.URLField()
    model = serializers.CharField(required=False)
    version = serializers.IntegerField(required=False)
    queue = QueueSerializer(required=False, help_text="Where the job stands while it waits or runs.")
    worker = serializers.CharField(required=False, help_text="The worker running the job (status running).")
    batch_size = serializers.IntegerField(
        required=False, allow_null=True, help_text="Inputs in the batch that is running it (status running)."
    )
    warnings = serializers.ListField(child=serializers.CharField(), required=False)


class ClassifyRequest(serializers.Serializer):
    model = serializers.CharField(help_text="A model id from GET /api/v1/models.")
    version = serializers.IntegerField(
        min_value=1,
        max_value=MAX_VERSION,
        required=False,
        help_text="A published or deprecated version of the model; without it the newest published one answers.",
    )
    inputs = serializers.ListField(
        # Text with at least one visible character and no NUL, 1-2000 characters.
        child=serializers.RegexField(r"^[^\x00]*[^\x00\s][^\x00]*$", min_length=1, max_length=2000),
        min_length=1,
        max_length=32,
    )
    wait = serializers.IntegerField(min_value=0, max_value=MAX_WAIT, default=10, required=False)


def _ms(later: float | None, earlier: float | None) -> float | None:
    if later is None or earlier is None:
        return None
    return round(max(later - earlier, 0) * 1000, 1)


def _warnings(job: InferenceJob) -> list[str]:
    if job.model_version.status == VersionStatus.DEPRECATED:
        return [f"{job.model_version} is deprecated and will be retired; move to a newer version."]
    return []


def queue_json(job: InferenceJob) -> dict[str, int]:
    """Where an open job stands: queued jobs sent before it, and live inference workers."""
    from portal.celery import INFERENCE_QUEUE

    ahead = InferenceJob.objects.filter(status=JobStatus.QUEUED, queued_at__lt=job.queued_at).count()
    workers = worker_list_live(queue=INFERENCE_QUEUE)
    return {"jobs_ahead": ahead, "position": ahead + 1, "workers_online": len(workers)}


def job_json(job: InferenceJob, outcome: dict[str, Any] | None, request: Request) -> tuple[dict[str, Any], int]:
    """The job as the API shows it, from the worker's outcome when there is one, else
    from the row; with the HTTP status (200 finished, 202 not yet)."""
    finished = outcome is not None or job.status in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)
    if not finished:
        url = request.build_absolute_uri(reverse("api-v1:job", kwargs={"job_id": job.id}))
        body: dict[str, Any] = {
            "id": str(job.id),
            "status": job.status,
            "url": url,
            "model": job.model_version.model.slug,
            "version": job.model_version.version,
            "queue": queue_json(job),
        }
        if job.status == JobStatus.RUNNING:
            body["worker"] = job.worker
            body["batch_size"] = job.batch_size
        if warnings := _warnings(job):
            body["warnings"] = warnings
        return body, 202
    if outcome is not None:
        status, results, error = outcome["status"], outcome.get("results"), outcome.get("error")
        queued_at = outcome.get("queued_at") or job.queued_at.timestamp()
        timing = {
            "queued_ms": _ms(outcome.get("started_at"), queued_at),
            "inference_ms": outcome.get("inference_ms"),
            "total_ms": _ms(outcome.get("finished_at"), queued_at),
        }
        batch_size = outcome.get("batch_size")
    else:
        status, results, error = job.status, job.results, job.error
        timing = {"queued_ms": job.queued_ms, "inference_ms": job.inference_ms, "total_ms": job.total_ms}
        batch_size = job.batch_size
    body = {
        "id": str(job.id),
        "status": status,
        "model": job.model_version.model.slug,
        "version": job.model_version.version,
        "timing": timing,
        "batch_size": batch_size,
    }
    if results is not None:
        body["results"] = results
    if error:
        body["error"] = error
    if warnings := _warnings(job):
        body["warnings"] = warnings
    return body, 200


def _body_hash(data: dict[str, Any]) -> str:
    canonical = {"model": data.get("model"), "inputs": data.get("inputs")}
    if data.get("version") is not None:  # absent: the same hash as before `version` existed
        canonical["version"] = data.get("version")
    return hashlib.sha256(json.dumps(canonical, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def anonymous_job_ids(request: Request) -> list[str]:
    """The ids of the jobs this visitor's session sent, newest last."""
    session = getattr(request, "session", None)
    return list(session.get(ANONYMOUS_JOBS_SESSION_KEY, [])) if session is not None else []


def _anonymous_job_remember(request: Request, job: InferenceJob) -> None:
    ids = [*anonymous_job_ids(request), str(job.id)][-ANONYMOUS_JOBS_KEPT:]
    request.session[ANONYMOUS_JOBS_SESSION_KEY] = ids


def _anonymous_job_get(request: Request, job_id: str) -> InferenceJob:
    """A visitor's own job: its id is in the session and it has no owner; else NotFound.

    Here rather than in selectors.py because the visitor is a session, not a user."""
    import uuid

    try:
        key = uuid.UUID(str(job_id))
    except ValueError:
        raise NotFound("No job has this id.") from None
    if str(key) not in anonymous_job_ids(request):
        raise NotFound("No job has this id, or it is not yours.")
    job = InferenceJob.objects.select_related("model_version__model").filter(id=key, owner__isnull=True).first()
    if job is None:
        raise NotFound("No job has this id, or it is not yours.")
    return job


class ClassifyAPI(PortalAPIView):
    required_scope = "inference:write"
    usage_endpoint = "POST /classify"

    def anonymous_allowed(self, request: Request) -> bool:
        return anonymous_browser(request)

    @extend_schema(
        summary="Classify texts",
        description=(
            "Queues one job for 1-32 inputs and waits up to `wait` seconds (0-30, default 10) for it. "
            "Returns 200 with results when it finished in time, else 202 with the job URL to poll "
            "and where the job stands (`queue`: jobs ahead, workers online). "
            "`version` picks a published or deprecated version; without it the newest published one answers. "
            "Send `Idempotency-Key` to make retries safe: the same key and body within 24 h return the "
            "same job; the same key with another body is a 409."
        ),
        request=ClassifyRequest,
        parameters=[
            OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=False),
            *RATE_HEADERS,
        ],
        responses={200: JobSerializer, 202: PendingSerializer, **problems(400, 401, 403, 404, 409, 410, 429)},
        examples=[
            OpenApiExample(
                "Two sentences",
                value={
                    "model": "sentiment-demo",
                    "inputs": ["I love this API.", "Support never answered."],
                    "wait": 10,
                },
                request_only=True,
            )
        ],
    )
    def post(self, request: Request) -> Response:
        data = request.data if isinstance(request.data, dict) else {}
        if not isinstance(request.data, dict):
            raise InvalidInput("The body must be a JSON object with `model` and `inputs`.")
        wait = data.get("wait", 10)
        if isinstance(wait, bool) or not isinstance(wait, int) or not 0 <= wait <= MAX_WAIT:
            raise InvalidInput(f"`wait` must be a whole number of seconds from 0 to {MAX_WAIT}.")
        model = data.get("model")
        if not isinstance(model, str) or not model:
            raise InvalidInput("`model` must be a model id, e.g. sentiment-demo.")
        version = data.get("version")
        if version is not None and (
            isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= MAX_VERSION
        ):
            raise InvalidInput("`version` must be a version number (1, 2, ...), or left out for the newest.")
        inputs = inference_inputs_validate(data.get("inputs"))
        anonymous = not request.user.is_authenticated
        if anonymous and model not in anonymous_models():
            allowed = ", ".join(anonymous_models()) or "none"
            raise AuthenticationRequired(
                f"Sign in or send an API key to use {model!r}. Visitors may try these models: {allowed}."
            )
        key = request.auth if isinstance(request.auth, APIKey) else None
        if key is not None and key.allowed_models and model not in key.allowed_models:
            raise ModelNotAllowed(f"This key may only use: {', '.join(key.allowed_models)}.")
        # Not found / retired before anything is counted.
        serving = model_version_serving(slug=model, version=version, for_queue=True)
        subject, limits = subject_of(request)

        # A visitor's idempotency records would be shared by everyone behind one address.
        idempotency_key = "" if anonymous else request.headers.get("Idempotency-Key", "").strip()[:200]
        body_hash = _body_hash(data)
        if idempotency_key:
            existing = self._replay(subject, idempotency_key, body_hash)
            if existing is not None:
                return self._respond(request, existing, wait)

        open_jobs = InferenceJob.objects.filter(
            status__in=OPEN_STATUSES, queued_at__gte=timezone.now() - timedelta(minutes=10)
        )
        if anonymous:
            open_jobs = open_jobs.filter(id__in=anonymous_job_ids(request), owner__isnull=True)
        elif key:
            open_jobs = open_jobs.filter(api_key=key)
        else:
            open_jobs = open_jobs.filter(owner=request.user, api_key__isnull=True)
        if open_jobs.count() >= limits.max_concurrent_jobs:
            raise ConcurrencyLimited(
                f"At most {limits.max_concurrent_jobs} jobs may be in flight; wait for one to finish."
            )
        if anonymous:
            # After validation, so that a refused input costs the visitor no try.
            self.take_anonymous_run(request)
        quota = quota_consume(subject=subject, limit=limits.inputs_per_month, amount=len(inputs))
        if not quota.allowed:
            raise QuotaExceeded(
                f"This month's quota of {quota.limit} inputs is used up ({quota.used} used). "
                "Ask for a higher plan at /account/keys/."
            )
        try:
            # The job and its idempotency record are written together; without a key the
            # job's single INSERT needs no transaction of its own.
            with transaction.atomic() if idempotency_key else contextlib.nullcontext():
                job = inference_job_submit(
                    owner=request.user,
                    model=model,
                    inputs=inputs,
                    version=version,
                    api_key=key,
                    source=JobSource.API if key else JobSource.PLAYGROUND,
                    serving=serving,
                )
                if idempotency_key:
                    IdempotencyRecord.objects.create(subject=subject, key=idempotency_key, body_hash=body_hash, job=job)
        except IntegrityError:
            # A parallel request with the same Idempotency-Key won the race: answer with its job.
            quota_refund(subject=subject, amount=len(inputs))
            existing = self._replay(subject, idempotency_key, body_hash)
            if existing is None:
                raise
            return self._respond(request, existing, wait)
        except Exception:
            quota_refund(subject=subject, amount=len(inputs))
            raise
        self._usage["inputs"] = len(inputs)
        if anonymous:
            _anonymous_job_remember(request, job)
        return self._respond(request, job, wait)

    def _replay(self, subject: str, idempotency_key: str, body_hash: str) -> InferenceJob | None:
        record = (
            IdempotencyRecord.objects.select_related("job__model_version__model")
            .filter(subject=subject, key=idempotency_key)
            .first()
        )
        if record is None:
            return None
        if record.created_at < timezone.now() - IDEMPOTENCY_WINDOW:
            record.delete()
            return None
        if record.body_hash != body_hash:
            raise IdempotencyConflict("This Idempotency-Key was used with a different body in the last 24 hours.")
        return record.job

    def _respond(self, request: Request, job: InferenceJob, wait: int) -> Response:
        outcome = inference_job_wait(job=job, timeout=wait) if job.status in OPEN_STATUSES else None
        body, status = job_json(job, outcome, request)
        if outcome:
            self._usage["queue_ms"] = body["timing"]["queued_ms"]
            self._usage["inference_ms"] = body["timing"]["inference_ms"]
        return Response(body, status=status)


class JobAPI(PortalAPIView):
    required_scope = "jobs:read"
    usage_endpoint = "GET /jobs/{id}"

    def anonymous_allowed(self, request: Request) -> bool:
        # Only a visitor's session that sent jobs; any other caller without a key still
        # learns that it needs one.
        return bool(anonymous_job_ids(request))

    @extend_schema(
        summary="A job you submitted",
        responses={200: JobSerializer, 202: PendingSerializer, **problems(401, 403, 404, 429)},
    )
    def get(self, request: Request, job_id: str) -> Response:
        if request.user.is_authenticated:
            job = job_get_visible(job_id=job_id, viewer=request.user)
        else:
            job = _anonymous_job_get(request, job_id)
        outcome = inference_job_outcome(job=job) if job.status in OPEN_STATUSES else None
        body, status = job_json(job, outcome, request)
        return Response(body, status=status)
