"""Container health check for the web image: exit 0 when the local gunicorn answers /healthz.

The request carries the first allowed host as its Host header: Django answers 400 to any
host outside DJANGO_ALLOWED_HOSTS, and "127.0.0.1" is usually not in it in production.
Only the standard library is used, so the check costs no extra package in the image.
"""

import os
import sys
import urllib.request

URL = "http://127.0.0.1:8000/healthz"


def allowed_host() -> str:
    hosts = [h.strip() for h in os.environ.get("DJANGO_ALLOWED_HOSTS", "").split(",")]
    for host in hosts:
        if host and host != "*":
            return host.lstrip(".")  # ".example.com" allows example.com itself
    return "localhost"


def main() -> int:
    request = urllib.request.Request(URL, headers={"Host": allowed_host()})
    try:
        with urllib.request.urlopen(request, timeout=4) as response:  # noqa: S310 (fixed http URL)  # noqa: S310 - fixed http:// URL
            return 0 if response.status == 200 else 1
    except OSError as exc:  # connection refused, timeout, HTTP error status
        print(f"healthcheck: {URL}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
