"""A web server guest on a tap device in a network namespace of its own.

`enter_namespace()` moves this process into a new network namespace (the
kernel drops it, tap and all, when the process ends), makes the tap device
and gives the host end 10.77.0.1/16; the guest is 10.77.0.2. Every other
10.77.x.y address is free for spoofed peers (rawtcp.Link answers ARP for
them). Nothing the tests send leaves the namespace.

`TapGuest` boots //images:webserver on that tap with a --site folder, reads
its console, presses `s` for its counters and parses the lines
kernel/top/per_core.cc prints (memory, net, webserver).
"""

import ctypes
import http.client
import os
import re
import socket
import subprocess
import threading
import time

import qemu_boot

TAP = "uktap0"
HOST_IP = "10.77.0.1"
GUEST_IP = "10.77.0.2"
PEER_PREFIX = "10.77."
CLONE_NEWNET = 0x40000000

_entered = False


def enter_namespace():
    """Once per process: a private network namespace with the tap in it.
    Must run before any thread starts (namespaces are per thread)."""
    global _entered
    if _entered:
        return
    if os.geteuid() != 0:
        raise RuntimeError("the tap test bed needs root (it makes a network namespace and a "
                           "tap device); run the tests as root")
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNET) failed")
    for command in (["ip", "link", "set", "lo", "up"],
                    ["ip", "tuntap", "add", "dev", TAP, "mode", "tap"],
                    ["ip", "addr", "add", HOST_IP + "/16", "dev", TAP],
                    ["ip", "link", "set", TAP, "up"]):
        subprocess.run(command, check=True)
    _entered = True


COUNTER_LINES = {
    "memory": re.compile(
        r"memory: heap (?P<heap>\d+) bytes in use \(high (?P<heap_high>\d+)\), pages "
        r"(?P<pages_free>\d+) free of (?P<pages>\d+) \(low (?P<pages_low>\d+)\)"),
    "net": re.compile(
        r"net: lwip heap (?P<lwip_heap>\d+) of (?P<lwip_heap_size>\d+) bytes \(high "
        r"(?P<lwip_heap_high>\d+)\), pool (?P<pool>\d+) of (?P<pool_size>\d+) \(high "
        r"(?P<pool_high>\d+)\), tcp (?P<tcp_active>\d+) active (?P<tcp_time_wait>\d+) time-wait "
        r"(?P<tcp_listen>\d+) listening, sockets (?P<sockets>\d+) open"),
    "webserver": re.compile(
        r"webserver: (?P<open>\d+) connections open, (?P<served>\d+) served, "
        r"(?P<refused_busy>\d+) refused busy, (?P<refused_memory>\d+) refused memory, "
        r"(?P<evicted>\d+) evicted, (?P<refused_per_client>\d+) refused per client"),
}

# What must come back after a scenario (exactly, or within the slack).
BASELINE_KEYS = {"open": 0, "sockets": 0, "tcp_active": 0, "lwip_heap": 0, "pool": 0,
                 "heap": 512 * 1024}


class TapGuest:
    def __init__(self, site, *flags, mem="256M"):
        enter_namespace()
        self.lines = []
        self.cond = threading.Condition()
        command = [qemu_boot.image("images/webserver"), "--timeout=900",
                   "--accel=" + qemu_boot.ACCEL, "--mem=" + mem, "--tap=" + TAP,
                   "--ip=" + GUEST_IP, "--netmask=255.255.0.0", "--gateway=" + HOST_IP,
                   "--site=" + site] + list(flags)
        self.vm = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT)
        threading.Thread(target=self._read, daemon=True).start()
        if not self.wait_line("webserver: listening", 120):
            self.stop()
            raise AssertionError("the web server did not start:\n" + self.text())

    def _read(self):
        for raw in self.vm.stdout:
            with self.cond:
                self.lines.append(raw.decode(errors="replace").rstrip("\r\n"))
                self.cond.notify_all()
        with self.cond:
            self.lines.append(None)  # end of output
            self.cond.notify_all()

    def text(self):
        with self.cond:
            return "\n".join(line for line in self.lines if line is not None)

    def wait_line(self, needle, timeout, start=0):
        """Index of the first line from `start` containing `needle` (a
        string, or a compiled pattern that must match the line's start), or
        None."""
        found = (lambda line: needle in line) if isinstance(needle, str) else needle.match
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for i in range(start, len(self.lines)):
                    if self.lines[i] is None:
                        return None
                    if found(self.lines[i]):
                        return i
                start = len(self.lines)
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(left)

    def counters(self):
        """Presses `s` and returns every counter of the three lines."""
        with self.cond:
            mark = len(self.lines)
        self.vm.stdin.write(b"s")
        self.vm.stdin.flush()
        values = {}
        for key, pattern in COUNTER_LINES.items():
            at = self.wait_line(pattern, 20, mark)
            if at is None:
                raise AssertionError("no %r line after pressing s:\n%s" % (key, self.text()[-3000:]))
            match = pattern.match(self.lines[at])
            values.update({k: int(v) for k, v in match.groupdict().items()})
        return values

    def wait_baseline(self, base, timeout=60):
        """Polls the counters until each BASELINE_KEYS value is back at
        `base`'s (within its slack); returns the last counters, or raises
        with what stayed above."""
        deadline = time.monotonic() + timeout
        while True:
            now = self.counters()
            above = {k: (base[k], now[k]) for k, slack in BASELINE_KEYS.items()
                     if now[k] > base[k] + slack}
            if not above:
                return now
            if time.monotonic() > deadline:
                raise AssertionError("counters not back at their baseline after %gs "
                                     "(baseline, now): %s" % (timeout, above))
            time.sleep(1)

    def alive(self):
        return self.vm.poll() is None and "PANIC" not in self.text()

    def stop(self):
        if self.vm.poll() is None:
            self.vm.terminate()
            try:
                self.vm.wait(10)
            except subprocess.TimeoutExpired:
                self.vm.kill()
                self.vm.wait()


def get(path, timeout=30):
    """A legitimate client: the host's own TCP stack. Returns (status, body)."""
    connection = http.client.HTTPConnection(GUEST_IP, 80, timeout=timeout)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()

