"""Gunicorn settings for the web container (`gunicorn portal.wsgi:application -c deploy/gunicorn.conf.py`).

Threaded workers: a classify call may wait up to 30 s for its result, and a waiting
request should hold a thread, not a whole process.
"""

import multiprocessing
import os


def _int_from_env(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


bind = "0.0.0.0:8000"

worker_class = "gthread"
# 2 x cores + 1 is gunicorn's rule of thumb; the cap keeps a large host from starting
# dozens of processes that each hold Django in memory.
workers = _int_from_env("WEB_CONCURRENCY", min(2 * multiprocessing.cpu_count() + 1, 8))
threads = _int_from_env("GUNICORN_THREADS", 8)

# Longer than the longest API wait (30 s) plus the work around it. nginx waits longer
# still (proxy_read_timeout), so the client sees gunicorn's answer, not nginx's 504.
timeout = 60
# A restart lets in-flight waits finish before workers are killed.
graceful_timeout = 35
# nginx keeps upstream connections open; close them after nginx would (its default is 60 s).
keepalive = 75

# Recycle workers now and then so slow memory growth cannot build up; the jitter keeps
# them from restarting all at once.
max_requests = 2000
max_requests_jitter = 200

# The heartbeat file lives in memory: on an overlay filesystem a slow write can look like
# a hung worker.
worker_tmp_dir = "/dev/shm"  # noqa: S108 - tmpfs, private to the container

# Logs go to the container's stdout/stderr. The client address is the one nginx reports:
# the peer address is always nginx itself.
accesslog = "-"
errorlog = "-"
access_log_format = '%({x-forwarded-for}i)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s"'

# X-Forwarded-For/-Proto are trusted from these addresses only. Compose sets "*" because
# gunicorn is reachable from nginx alone on its private network.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# Nothing in this deployment uses gunicorn's control socket.
control_socket_disable = True
