"""Settings an inference worker refuses to start with (Celery's ``worker_init`` signal)."""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)


class WorkerConfigError(RuntimeError):
    pass


def check_worker_config() -> None:
    """Refuse to run with settings that would lose jobs.

    - Redis must not evict keys (``maxmemory-policy noeviction``): an evicted queue entry
      or unacked record is a lost job.
    - Broker and result backend must share one visibility timeout, longer than the
      inference hard time limit, or a slow batch is delivered twice while it runs.
    """
    from portal.celery import INFERENCE_QUEUE, app, time_limits

    broker_options = app.conf.broker_transport_options or {}
    if app.conf.broker_url.startswith(("redis://", "rediss://")):
        import redis

        from apps.core.clients import redis_client

        client = redis_client(app.conf.broker_url, socket_timeout=5)
        try:
            policy = client.config_get("maxmemory-policy").get("maxmemory-policy")
        except redis.ResponseError:
            policy = None  # CONFIG is disabled on some managed Redis; say so and go on
            logger.warning("cannot read Redis maxmemory-policy; make sure it is noeviction")
        if policy is not None and policy != "noeviction":
            raise WorkerConfigError(
                f"Redis maxmemory-policy is {policy!r}; the inference queue needs 'noeviction' "
                "(evicted keys are lost jobs). Run: redis-cli CONFIG SET maxmemory-policy noeviction"
            )
        broker_timeout = broker_options.get("visibility_timeout")
        result_options = app.conf.result_backend_transport_options or {}
        result_timeout = result_options.get("visibility_timeout", broker_timeout)
        if str(app.conf.result_backend or "").startswith("redis") and result_timeout != broker_timeout:
            raise WorkerConfigError(
                f"broker visibility_timeout ({broker_timeout}) and result backend visibility_timeout "
                f"({result_timeout}) disagree; set CELERY_VISIBILITY_TIMEOUT once for both"
            )
        hard_limit = time_limits(INFERENCE_QUEUE)[1]
        if broker_timeout is None or broker_timeout <= hard_limit:
            raise WorkerConfigError(
                f"visibility_timeout ({broker_timeout}) must exceed the inference hard time limit ({hard_limit:g} s)"
            )
