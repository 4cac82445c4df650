"""Which TCP ports a process tree listens on, read from the operating system (Linux ``/proc``).

The security tests ask the kernel, not the configuration, where the local stack listens:

* ``/proc/<pid>/stat`` gives each process's parent, hence the tree under a given pid;
* ``/proc/<pid>/fd/*`` links read ``socket:[<inode>]`` for the sockets a process holds;
* ``/proc/net/tcp`` and ``/proc/net/tcp6`` give, per socket inode, the local address, the port
  and the state (``0A`` is LISTEN).

A process or descriptor may go away while it is being read: such races are skipped.
"""

from __future__ import annotations

import os
import socket
import struct
import sys
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
TCP_LISTEN = "0A"
#: the addresses a loopback-only listener may show (an IPv4-mapped loopback on a v6 socket too)
LOOPBACK_ADDRESSES = frozenset({"127.0.0.1", "::1", "::ffff:127.0.0.1"})


def supported() -> bool:
    return sys.platform.startswith("linux") and (PROC / "net" / "tcp").exists()


@dataclass(frozen=True)
class Listener:
    pid: int
    address: str
    port: int
    family: str  # "tcp" or "tcp6"

    def __str__(self) -> str:
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"{host}:{self.port} ({self.family}, pid {self.pid})"


def parent_pids() -> dict[int, int]:
    """pid -> parent pid of every process now visible in /proc."""
    parents: dict[int, int] = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ")"
        fields = stat[stat.rindex(")") + 2 :].split()
        parents[int(entry.name)] = int(fields[1])
    return parents


def process_tree(root: int) -> set[int]:
    """``root`` and every descendant of it."""
    children: dict[int, list[int]] = {}
    for pid, ppid in parent_pids().items():
        children.setdefault(ppid, []).append(pid)
    tree, todo = {root}, [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in tree:
                tree.add(child)
                todo.append(child)
    return tree


def socket_inodes(pid: int) -> set[int]:
    """Inodes of the sockets ``pid`` holds open."""
    inodes: set[int] = set()
    try:
        fds = os.listdir(PROC / str(pid) / "fd")
    except OSError:
        return inodes
    for fd in fds:
        try:
            target = os.readlink(PROC / str(pid) / "fd" / fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(int(target[len("socket:[") : -1]))
    return inodes


def _address(hex_address: str) -> str:
    """The kernel prints each 32-bit word of the address as a host-order integer in hex."""
    words = [int(hex_address[i : i + 8], 16) for i in range(0, len(hex_address), 8)]
    packed = b"".join(struct.pack("=I", word) for word in words)
    return socket.inet_ntop(socket.AF_INET if len(packed) == 4 else socket.AF_INET6, packed)


def listening_sockets() -> dict[int, tuple[str, str, int]]:
    """inode -> (family, address, port) of every TCP socket in LISTEN state in this network namespace."""
    found: dict[int, tuple[str, str, int]] = {}
    for family in ("tcp", "tcp6"):
        table = PROC / "net" / family
        if not table.exists():
            continue
        for line in table.read_text().splitlines()[1:]:
            fields = line.split()
            if len(fields) < 10 or fields[3] != TCP_LISTEN:
                continue
            hex_address, hex_port = fields[1].split(":")
            found[int(fields[9])] = (family, _address(hex_address), int(hex_port, 16))
    return found


def listeners_of_tree(root: int | None = None) -> list[Listener]:
    """Every TCP listener held by ``root`` (this process when None) or any of its descendants."""
    sockets = listening_sockets()
    found: set[Listener] = set()
    for pid in process_tree(os.getpid() if root is None else root):
        for inode in socket_inodes(pid):
            if inode in sockets:
                family, address, port = sockets[inode]
                found.add(Listener(pid, address, port, family))
    return sorted(found, key=lambda item: (item.port, item.pid, item.family))
