"""Who is on the other end of a request: the client's address, and the network a rate
limit should count it by."""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest
from rest_framework.request import Request


def client_ip(request: HttpRequest | Request) -> str | None:
    """The client's address. Behind NUM_PROXIES proxies it is that many entries from the
    end of X-Forwarded-For (each proxy appends the peer it saw); earlier entries are
    whatever the client chose to send, so they never count."""
    proxies = settings.NUM_PROXIES
    if proxies > 0:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if len(hops) >= proxies:
            return hops[-proxies]
    return request.META.get("REMOTE_ADDR") or None


def address_group(ip: str | None) -> str:
    """What to count a visitor at ``ip`` by: the address, or for IPv6 its /64 network (one
    IPv6 visitor usually holds a whole /64)."""
    if not ip:
        return "unknown"
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip[:45]
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False).network_address)
    return str(address)
