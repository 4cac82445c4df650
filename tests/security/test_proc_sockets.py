"""The /proc reader the listener check relies on sees what it must flag: a child process
listening on every interface, next to loopback listeners of this process (v4 and v6)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from tests.security import proc_sockets

pytestmark = pytest.mark.skipif(not proc_sockets.supported(), reason="reads listeners from Linux /proc")

_LISTEN_EVERYWHERE = (
    "import socket, sys\n"
    "s = socket.socket(); s.bind(('0.0.0.0', 0)); s.listen()\n"
    "print(s.getsockname()[1], flush=True); sys.stdin.read()\n"
)


def test_listeners_of_this_process_and_of_a_child_are_found_with_their_address() -> None:
    v4 = socket.socket()
    v4.bind(("127.0.0.1", 0))
    v4.listen()
    child = subprocess.Popen(
        [sys.executable, "-c", _LISTEN_EVERYWHERE], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None
        exposed_port = int(child.stdout.readline())
        found = {(item.pid, item.address, item.port) for item in proc_sockets.listeners_of_tree()}
        assert (child.pid, "0.0.0.0", exposed_port) in found
        assert (os.getpid(), "127.0.0.1", v4.getsockname()[1]) in found
        assert "0.0.0.0" not in proc_sockets.LOOPBACK_ADDRESSES
    finally:
        child.kill()
        child.wait()
        v4.close()


def test_ipv6_addresses_are_decoded() -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6 here")
    v6 = socket.socket(socket.AF_INET6)
    try:
        v6.bind(("::1", 0))
    except OSError:
        v6.close()
        pytest.skip("no IPv6 loopback here")
    try:
        v6.listen()
        found = {(item.address, item.port, item.family) for item in proc_sockets.listeners_of_tree()}
        assert ("::1", v6.getsockname()[1], "tcp6") in found
    finally:
        v6.close()
