"""The suite's network guard (tests/conftest.py): loopback and unix sockets only, besides
the configured services; anything else fails loudly before a packet leaves."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import pytest

from ..conftest import NetworkBlocked

# TEST-NET-1 (RFC 5737): never routed, so nothing answers there even without the guard.
OUTSIDE = ("192.0.2.1", 9)

pytestmark = pytest.mark.embedded


def _echo_once(server: socket.socket) -> threading.Thread:
    def serve() -> None:
        conn, _ = server.accept()
        with conn:
            conn.sendall(conn.recv(16))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return thread


def test_a_connect_outside_loopback_fails_with_an_error_naming_the_address():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        with pytest.raises(NetworkBlocked, match=r"192\.0\.2\.1.*refused"):
            sock.connect(OUTSIDE)
        with pytest.raises(NetworkBlocked, match=r"192\.0\.2\.1"):
            sock.connect_ex(OUTSIDE)


def test_a_refused_connect_never_reaches_the_real_socket():
    # Connecting a UDP socket sends nothing but sets its peer: had the real connect run,
    # the socket would now name 192.0.2.1 as its peer.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        with pytest.raises(NetworkBlocked):
            sock.connect(OUTSIDE)
        with pytest.raises(OSError, match="not connected"):
            sock.getpeername()


def test_a_host_name_outside_is_refused_without_being_looked_up():
    # socket.connect would resolve the name itself; the guard refuses it first.
    with (
        socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock,
        pytest.raises(NetworkBlocked, match=r"example\.com"),
    ):
        sock.connect(("example.com", 80))


def test_an_ipv4_mapped_outside_address_is_refused():
    with (
        socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as sock,
        pytest.raises(NetworkBlocked, match=r"ffff:192\.0\.2\.1"),
    ):
        sock.connect(("::ffff:192.0.2.1", 9))


def test_loopback_still_carries_bytes_both_ways():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        thread = _echo_once(server)
        with socket.create_connection(("localhost", server.getsockname()[1]), timeout=5) as client:
            client.sendall(b"ping")
            assert client.recv(16) == b"ping"
        thread.join(timeout=5)


def test_the_whole_loopback_block_and_ipv6_loopback_are_allowed():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.connect(("127.1.2.3", 9))
        assert sock.getpeername() == ("127.1.2.3", 9)
    if not socket.has_ipv6:
        return
    try:
        sock6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    except OSError:
        return  # IPv6 disabled on this machine
    with sock6:
        try:
            sock6.connect(("::1", 9))
        except OSError:
            return  # no ::1 configured
        assert sock6.getpeername()[:2] == ("::1", 9)


def test_a_unix_socket_still_connects(tmp_path: Path):
    path = str(tmp_path / "echo.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(path)
        server.listen(1)
        thread = _echo_once(server)
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.connect(path)
            client.sendall(b"pong")
            assert client.recv(16) == b"pong"
        thread.join(timeout=5)
