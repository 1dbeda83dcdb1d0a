"""POST /api/v1/classify and GET /api/v1/jobs/{id}.

Callers: an API key, the signed-in session (the playground, with CSRF), or a visitor's
browser without an account, which may run only ``PLAYGROUND_ANONYMOUS_MODELS`` a few
times an hour (see apps/apikeys/limits.py). A visitor's jobs have no owner; their ids are kept
in the visitor's session, and only that session can read them back.
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from apps.apikeys.api import PortalAPIView, anonymous_browser, subject_of
from apps.apikeys.limits import anonymous_models
from apps.apikeys.models import APIKey
from apps.core.api_docs import RATE_HEADERS, problems
from apps.core.clients import REDIS_UNAVAILABLE
from apps.core.errors import AuthenticationRequired, InvalidInput, ModelNotAllowed, NotFound
from apps.core.serializers import JSONIntegerField, StrictSerializer
from apps.mlmodels.models import VersionStatus

from .models import OPEN_STATUSES, InferenceJob, JobStatus
from .selectors import job_get_visible, worker_list_live
from .services import (
    MAX_CHARS,
    MAX_INPUTS,
    Payer,
    inference_classify,
    inference_inputs_validate,
    inference_job_outcome,
    inference_job_wait,
)

MAX_WAIT = 30
MAX_VERSION = 2**31 - 1
MODEL_ID_MAX = 100
# A visitor's session remembers this many of its latest job ids.
ANONYMOUS_JOBS_KEPT = 50
ANONYMOUS_JOBS_SESSION_KEY = "inference:anonymous_jobs"


class ResultSerializer(serializers.Serializer[Any]):
    # A declared field (DRF's metaclass takes it off the class), not Field.label.
    label = serializers.CharField()  # type: ignore[assignment]
    score = serializers.FloatField()
    scores = serializers.DictField(child=serializers.FloatField(), help_text="Every label's probability.")
    truncated = serializers.BooleanField(help_text="The input was cut to the model's maximum length.")


class TimingSerializer(serializers.Serializer[Any]):
    queued_ms = serializers.FloatField(allow_null=True)
    inference_ms = serializers.FloatField(allow_null=True)
    total_ms = serializers.FloatField(allow_null=True)


class JobErrorSerializer(serializers.Serializer[Any]):
    type = serializers.CharField()
    detail = serializers.CharField()


class JobSerializer(serializers.Serializer[Any]):
    id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=JobStatus.values)
    model = serializers.CharField()
    version = serializers.IntegerField()
    results = ResultSerializer(many=True, required=False)
    timing = TimingSerializer()
    batch_size = serializers.IntegerField(allow_null=True)
    error = JobErrorSerializer(required=False)
    warnings = serializers.ListField(child=serializers.CharField(), required=False)


class QueueSerializer(serializers.Serializer[Any]):
    jobs_ahead = serializers.IntegerField(help_text="Queued jobs that were sent before this one.")
    position = serializers.IntegerField(help_text="This job's place in the queue (jobs_ahead + 1).")
    workers_online = serializers.IntegerField(help_text="Inference workers with a fresh heartbeat; 0: none online.")


class PendingSerializer(serializers.Serializer[Any]):
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


class ClassifySerializer(StrictSerializer):
    """The body of POST /classify; validating it is the only input check (one definition
    of the limits: ``services.MAX_INPUTS`` and ``MAX_CHARS``)."""

    model = serializers.CharField(max_length=MODEL_ID_MAX, help_text="A model id from GET /api/v1/models.")
    version = JSONIntegerField(
        min_value=1,
        max_value=MAX_VERSION,
        required=False,
        help_text="A published or deprecated version of the model; without it the newest published one answers.",
    )
    inputs = serializers.ListField(
        child=serializers.CharField(
            max_length=MAX_CHARS, allow_blank=True, trim_whitespace=False, help_text="Text with a visible character."
        ),
        min_length=1,
        max_length=MAX_INPUTS,
        help_text=f"1-{MAX_INPUTS} texts of 1-{MAX_CHARS} characters.",
    )
    wait = JSONIntegerField(min_value=0, max_value=MAX_WAIT, default=10, required=False)

    def validate_inputs(self, inputs: list[str]) -> list[str]:
        try:
            return inference_inputs_validate(inputs)
        except InvalidInput as exc:
            raise serializers.ValidationError(exc.detail) from None


def _ms(later: float | None, earlier: float | None) -> float | None:
    if later is None or earlier is None:
        return None
    return round(max(later - earlier, 0) * 1000, 1)


def _warnings(job: InferenceJob) -> list[str]:
    if job.model_version.status == VersionStatus.DEPRECATED:
        return [f"{job.model_version} is deprecated and will be retired; move to a newer version."]
    return []


def queue_json(job: InferenceJob) -> dict[str, int] | None:
    """Where an open job stands: queued jobs sent before it, and live inference workers;
    None while the cache that holds the workers' heartbeats cannot be reached."""
    from portal.celery import INFERENCE_QUEUE

    try:
        workers = worker_list_live(queue=INFERENCE_QUEUE)
    except REDIS_UNAVAILABLE:
        return None
    ahead = InferenceJob.objects.filter(status=JobStatus.QUEUED, queued_at__lt=job.queued_at).count()
    return {"jobs_ahead": ahead, "position": ahead + 1, "workers_online": len(workers)}


def _pending_json(job: InferenceJob, request: Request) -> dict[str, Any]:
    """An open job: where to poll it, where it stands in the queue, who runs it."""
    body: dict[str, Any] = {
        "id": str(job.id),
        "status": job.status,
        "url": request.build_absolute_uri(reverse("api-v1:job", kwargs={"job_id": job.id})),
        "model": job.model_version.model.slug,
        "version": job.model_version.version,
    }
    if (queue := queue_json(job)) is not None:
        body["queue"] = queue
    if job.status == JobStatus.RUNNING:
        body["worker"] = job.worker
        body["batch_size"] = job.batch_size
    if warnings := _warnings(job):
        body["warnings"] = warnings
    return body


def _outcome_fields(job: InferenceJob, outcome: dict[str, Any]) -> dict[str, Any]:
    queued_at = outcome.get("queued_at") or job.queued_at.timestamp()
    timing = {
        "queued_ms": _ms(outcome.get("started_at"), queued_at),
        "inference_ms": outcome.get("inference_ms"),
        "total_ms": _ms(outcome.get("finished_at"), queued_at),
    }
    return {
        "status": outcome["status"],
        "results": outcome.get("results"),
        "error": outcome.get("error"),
        "timing": timing,
        "batch_size": outcome.get("batch_size"),
    }


def _row_fields(job: InferenceJob) -> dict[str, Any]:
    timing = {"queued_ms": job.queued_ms, "inference_ms": job.inference_ms, "total_ms": job.total_ms}
    return {
        "status": job.status,
        "results": job.results,
        "error": job.error,
        "timing": timing,
        "batch_size": job.batch_size,
    }


def _finished_json(job: InferenceJob, outcome: dict[str, Any] | None) -> dict[str, Any]:
    """A finished job, from the worker's outcome when there is one, else from the row."""
    fields = _outcome_fields(job, outcome) if outcome is not None else _row_fields(job)
    results, error = fields.pop("results"), fields.pop("error")
    body = {
        "id": str(job.id),
        "status": fields.pop("status"),
        "model": job.model_version.model.slug,
        "version": job.model_version.version,
        **fields,
    }
    if results is not None:
        body["results"] = results
    if error:
        body["error"] = error
    if warnings := _warnings(job):
        body["warnings"] = warnings
    return body


def job_json(job: InferenceJob, outcome: dict[str, Any] | None, request: Request) -> tuple[dict[str, Any], int]:
    """The job as the API shows it, with the HTTP status (200 finished, 202 not yet)."""
    finished = outcome is not None or job.status in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)
    if not finished:
        return _pending_json(job, request), 202
    return _finished_json(job, outcome), 200


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
        request=ClassifySerializer,
        parameters=[
            OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=False),
            *RATE_HEADERS,
        ],
        responses={200: JobSerializer, 202: PendingSerializer, **problems(400, 401, 403, 404, 409, 410, 429, 503)},
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
        body = ClassifySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        anonymous = not request.user.is_authenticated
        key = request.auth if isinstance(request.auth, APIKey) else None
        model_allowed(model=data["model"], anonymous=anonymous, key=key)
        subject, limits = subject_of(request)
        job = inference_classify(
            payer=Payer(
                subject=subject,
                limits=limits,
                owner=None if anonymous else request.user,
                api_key=key,
                visitor_job_ids=tuple(anonymous_job_ids(request)) if anonymous else None,
            ),
            model=data["model"],
            version=data.get("version"),
            inputs=data["inputs"],
            # A visitor's idempotency records would be shared by everyone behind one address.
            idempotency_key="" if anonymous else request.headers.get("Idempotency-Key", "").strip()[:200],
            charge=(lambda: self.take_anonymous_run(request)) if anonymous else None,
        )
        self._usage["inputs"] = len(data["inputs"])
        if anonymous:
            _anonymous_job_remember(request, job)
        return self._respond(request, job, data["wait"])

    def _respond(self, request: Request, job: InferenceJob, wait: int) -> Response:
        outcome = inference_job_wait(job=job, timeout=wait) if job.status in OPEN_STATUSES else None
        body, status = job_json(job, outcome, request)
        if outcome:
            self._usage["queue_ms"] = body["timing"]["queued_ms"]
            self._usage["inference_ms"] = body["timing"]["inference_ms"]
        return Response(body, status=status)


def model_allowed(*, model: str, anonymous: bool, key: APIKey | None) -> None:
    """Visitors may run only the playground's demo models, and a key only its own list."""
    if anonymous and model not in anonymous_models():
        allowed = ", ".join(anonymous_models()) or "none"
        raise AuthenticationRequired(
            f"Sign in or send an API key to use {model!r}. Visitors may try these models: {allowed}."
        )
    if key is not None and key.allowed_models and model not in key.allowed_models:
        raise ModelNotAllowed(f"This key may only use: {', '.join(key.allowed_models)}.")


class JobQuery(serializers.Serializer[Any]):
    """The query string of GET /jobs/{id} (other parameters are ignored, as caches and
    proxies add their own)."""

    wait = serializers.FloatField(
        min_value=0,
        max_value=MAX_WAIT,
        default=0,
        required=False,
        help_text=(
            f"Seconds (0-{MAX_WAIT}, fractions allowed) to hold the request open while the job is queued or "
            "running: the answer comes as soon as the job finishes, else when the wait runs out. "
            "Default 0: answer at once."
        ),
    )


class JobAPI(PortalAPIView):
    required_scope = "jobs:read"
    usage_endpoint = "GET /jobs/{id}"

    def anonymous_allowed(self, request: Request) -> bool:
        # Only a visitor's session that sent jobs; any other caller without a key still
        # learns that it needs one.
        return bool(anonymous_job_ids(request))

    @extend_schema(
        summary="A job you submitted",
        description=(
            "200 with the results once the job finished, else 202 with where it stands (`queue`, and "
            "`worker` and `batch_size` while it runs). With `wait` the request is held open until the job "
            "finishes or `wait` seconds pass, whichever comes first: one request instead of a polling loop, "
            "and the result as soon as it exists."
        ),
        parameters=[JobQuery],
        responses={200: JobSerializer, 202: PendingSerializer, **problems(400, 401, 403, 404, 429)},
    )
    def get(self, request: Request, job_id: str) -> Response:
        query = JobQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        wait: float = query.validated_data["wait"]
        if request.user.is_authenticated:
            job = job_get_visible(job_id=job_id, viewer=request.user)
        else:
            job = _anonymous_job_get(request, job_id)
        outcome = None
        if job.status in OPEN_STATUSES:
            outcome = inference_job_wait(job=job, timeout=wait) if wait > 0 else inference_job_outcome(job=job)
            if outcome is None and wait > 0:
                # Where the job stands now (running, on which worker), not when the wait began.
                try:
                    job.refresh_from_db(from_queryset=InferenceJob.objects.select_related("model_version__model"))
                except InferenceJob.DoesNotExist:
                    raise NotFound("No job has this id.") from None
        body, status = job_json(job, outcome, request)
        return Response(body, status=status)
