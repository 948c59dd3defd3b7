"""Clients that exercise a TCP echo server, for the echo image's tests.

    from tests import echo_client
    echo_client.wait_for_port("127.0.0.1", 8007, timeout=60)
    echo_client.round_trips("127.0.0.1", 8007, count=100)
    echo_client.concurrent("127.0.0.1", 8007, connections=200, rounds_each=5)
    echo_client.vanishing_clients("127.0.0.1", 8007, count=40)

Every function checks every echoed byte and raises AssertionError with a
message saying which connection, round and byte went wrong; every socket
has a timeout (SOCKET_TIMEOUT_S without progress), so a server that stops
answering fails the test instead of hanging it. Standard library only.

HostEchoServer is a small threaded echo server on the host, to test these
clients and //tools:tcp_rr without QEMU; it can also misbehave on purpose.
By hand:

    python3 tests/echo_client.py serve --port=8007      # a host echo server
    python3 tests/echo_client.py check --port=8007      # run every client
"""

import argparse
import math
import random
import selectors
import socket
import statistics
import struct
import sys
import threading
import time

SOCKET_TIMEOUT_S = 30.0
MAX_MESSAGE = 64 * 1024


# ------------------------------------------------------------ helpers


def _connect(host, port, timeout=SOCKET_TIMEOUT_S):
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except OSError as e:
        raise AssertionError("cannot connect to %s:%d: %s" % (host, port, e)) from e
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _first_difference(got, want):
    n = min(len(got), len(want))
    for i in range(n):
        if got[i] != want[i]:
            return i
    return n


def _check(got, want, where):
    if got != want:
        i = _first_difference(got, want)
        raise AssertionError(
            "%s: echo differs at byte %d of %d: got %s, expected %s" % (
                where, i, len(want), ("0x%02x" % got[i]) if i < len(got) else "end",
                ("0x%02x" % want[i]) if i < len(want) else "end"))


def _exchange(sock, data, where, timeout=SOCKET_TIMEOUT_S):
    """Sends data and reads back exactly len(data) bytes, sending and
    receiving at once so a large message cannot fill both directions'
    buffers and deadlock. Raises AssertionError on EOF, error or timeout."""
    got = bytearray()
    sent = 0
    sock.setblocking(False)
    with selectors.DefaultSelector() as sel:
        sel.register(sock, selectors.EVENT_READ | selectors.EVENT_WRITE)
        try:
            while len(got) < len(data):
                if sent == len(data):
                    sel.modify(sock, selectors.EVENT_READ)
                if not sel.select(timeout):
                    raise AssertionError("%s: no progress for %g s (sent %d of %d bytes, "
                                         "%d echoed)" % (where, timeout, sent, len(data), len(got)))
                if sent < len(data):
                    try:
                        sent += sock.send(data[sent:sent + MAX_MESSAGE])
                    except BlockingIOError:
                        pass
                try:
                    chunk = sock.recv(len(data) - len(got))
                except BlockingIOError:
                    continue
                if not chunk:
                    raise AssertionError("%s: server closed the connection after echoing %d of "
                                         "%d bytes" % (where, len(got), len(data)))
                got += chunk
        except OSError as e:
            raise AssertionError("%s: %s (sent %d of %d bytes, %d echoed)" % (
                where, e, sent, len(data), len(got))) from e
        finally:
            sock.setblocking(True)
            sock.settimeout(timeout)
    _check(bytes(got), data, where)


def _percentile(sorted_values, p):
    return sorted_values[max(0, min(len(sorted_values) - 1, int(p * len(sorted_values) + 0.5) - 1))]


# ------------------------------------------------------------ clients


def wait_for_port(host, port, timeout=60.0):
    """Waits until host:port echoes a byte back; returns the seconds it took.

    A successful connect is not enough: QEMU's user-net port forward accepts
    on the host before the guest listens, then closes or resets the
    connection. So each try is a 1-byte round trip on a fresh connection.
    """
    start = time.monotonic()
    deadline = start + timeout
    last_error = "no attempt"
    attempt = 0
    while True:
        attempt += 1
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError("no echo from %s:%d within %g s (%d tries; last: %s)" % (
                host, port, timeout, attempt - 1, last_error))
        probe = bytes([attempt % 256])
        try:
            with socket.create_connection((host, port), timeout=min(remaining, 5.0)) as sock:
                sock.sendall(probe)
                got = sock.recv(1)
            if got == probe:
                return time.monotonic() - start
            last_error = "closed without an echo" if not got else "echoed %r for %r" % (got, probe)
        except OSError as e:  # refused, reset, timed out
            last_error = str(e) or type(e).__name__
        time.sleep(min(0.1, max(0.0, deadline - time.monotonic())))


def round_trips(host, port, count, min_size=1, max_size=MAX_MESSAGE, seed=0, log_sizes=False):
    """count messages of random sizes in [min_size, max_size] on one
    connection, each sent, read back exactly and compared. Returns stats.
    log_sizes: sizes uniform on a log scale (as many 1-9 B messages as
    10-99 B ones, ...), so every size class is covered without the bytes of
    the largest dominating the run."""
    rng = random.Random(seed)

    def size():
        if not log_sizes:
            return rng.randint(min_size, max_size)
        return min(max_size, int(math.exp(rng.uniform(math.log(min_size), math.log(max_size + 1)))))

    latencies = []
    total = 0
    start = time.monotonic()
    with _connect(host, port) as sock:
        for i in range(count):
            data = rng.randbytes(size())
            t0 = time.monotonic()
            _exchange(sock, data, "round trip %d (%d bytes)" % (i, len(data)))
            latencies.append(time.monotonic() - t0)
            total += len(data)
    latencies.sort()
    return {
        "round_trips": count,
        "bytes": total,
        "seconds": time.monotonic() - start,
        "median_us": statistics.median(latencies) * 1e6 if latencies else 0.0,
        "p99_us": _percentile(latencies, 0.99) * 1e6 if latencies else 0.0,
        "max_us": latencies[-1] * 1e6 if latencies else 0.0,
    }


class _Conn:
    """One connection of concurrent(): its rounds and where it is in one."""

    def __init__(self, index, sock, rng, rounds, size_range):
        self.index, self.sock, self.rng, self.rounds_left = index, sock, rng, rounds
        self.size_range = size_range
        self.round = -1
        self.next_round()

    def next_round(self):
        self.round += 1
        self.rounds_left -= 1
        self.data = self.rng.randbytes(self.rng.randint(*self.size_range))
        self.sent = 0
        self.got = bytearray()

    def where(self):
        return "connection %d, round %d (%d bytes; sent %d, %d echoed)" % (
            self.index, self.round, len(self.data), self.sent, len(self.got))


def concurrent(host, port, connections, rounds_each, size_range=(1, 4096), seed=0,
               timeout=SOCKET_TIMEOUT_S):
    """Opens all connections first, then runs rounds_each echo rounds on each,
    all at once from one selector loop. Returns stats."""
    start = time.monotonic()
    socks = []
    try:
        for i in range(connections):
            try:
                socks.append(_connect(host, port, timeout))
            except AssertionError as e:
                raise AssertionError("connection %d of %d: %s" % (i, connections, e)) from e
        connected_s = time.monotonic() - start
        conns = {}
        with selectors.DefaultSelector() as sel:
            for i, sock in enumerate(socks):
                sock.setblocking(False)
                conns[sock] = _Conn(i, sock, random.Random(seed * 100003 + i), rounds_each,
                                    size_range)
                sel.register(sock, selectors.EVENT_READ | selectors.EVENT_WRITE)
            total = 0
            while conns:
                events = sel.select(timeout)
                if not events:
                    stuck = sorted(conns.values(), key=lambda c: c.index)
                    raise AssertionError("no progress for %g s on %d of %d connections; first: %s"
                                         % (timeout, len(stuck), connections, stuck[0].where()))
                for key, mask in events:
                    c = conns[key.fileobj]
                    try:
                        if mask & selectors.EVENT_WRITE and c.sent < len(c.data):
                            c.sent += c.sock.send(c.data[c.sent:c.sent + MAX_MESSAGE])
                            if c.sent == len(c.data):
                                sel.modify(c.sock, selectors.EVENT_READ)
                        if not mask & selectors.EVENT_READ:
                            continue
                        chunk = c.sock.recv(len(c.data) - len(c.got))
                    except BlockingIOError:
                        continue
                    except OSError as e:
                        raise AssertionError("%s: %s" % (c.where(), e)) from e
                    if not chunk:
                        raise AssertionError("%s: server closed the connection" % c.where())
                    c.got += chunk
                    _check(bytes(c.got), c.data[:len(c.got)], c.where())
                    if len(c.got) < len(c.data):
                        continue
                    total += len(c.data)
                    if c.rounds_left == 0:
                        sel.unregister(c.sock)
                        del conns[c.sock]
                    else:
                        c.next_round()
                        sel.modify(c.sock, selectors.EVENT_READ | selectors.EVENT_WRITE)
    finally:
        for sock in socks:
            sock.close()
    return {
        "connections": connections,
        "rounds": connections * rounds_each,
        "bytes": total,
        "connect_seconds": connected_s,
        "seconds": time.monotonic() - start,
    }


VANISHING_KINDS = ("close_after_connect", "half_message", "big_unread", "rst_mid_transfer")


def _vanish(host, port, kind, rng):
    """One client that leaves rudely. Errors from the server's side of the
    rudeness (reset, closed) are expected; a refused connect is not."""
    sock = _connect(host, port)
    try:
        if kind == "half_message":
            # Half of what a client would send, then gone without reading.
            sock.sendall(rng.randbytes(rng.randint(1, MAX_MESSAGE // 2)))
        elif kind == "big_unread":
            # As much of 1 MiB as fits in the buffers within 0.5 s; closing
            # with the echo unread makes the host kernel send a reset.
            sock.settimeout(0.5)
            data = rng.randbytes(1 << 20)
            sent = 0
            try:
                while sent < len(data):
                    sent += sock.send(data[sent:sent + MAX_MESSAGE])
            except socket.timeout:
                pass
        elif kind == "rst_mid_transfer":
            # Read part of an echo, then abort with RST (SO_LINGER 0).
            data = rng.randbytes(rng.randint(2, MAX_MESSAGE))
            sock.sendall(data)
            sock.recv(len(data) // 2)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        return "ok"
    except (ConnectionError, socket.timeout):
        return "server_gone_first"
    finally:
        sock.close()


def vanishing_clients(host, port, count, seed=0, check_every=10):
    """count clients that vanish in nasty ways, cycling VANISHING_KINDS; after
    every check_every of them and at the end, a fresh connection must still
    echo correctly. Returns {kind: count, ...}."""
    rng = random.Random(seed)
    stats = {kind: 0 for kind in VANISHING_KINDS}
    stats["server_gone_first"] = 0
    for i in range(count):
        kind = VANISHING_KINDS[i % len(VANISHING_KINDS)]
        try:
            if _vanish(host, port, kind, rng) != "ok":
                stats["server_gone_first"] += 1
        except AssertionError as e:
            raise AssertionError("vanishing client %d (%s): %s" % (i, kind, e)) from e
        stats[kind] += 1
        if (i + 1) % check_every == 0 or i + 1 == count:
            try:
                round_trips(host, port, 3, 1, MAX_MESSAGE, seed=seed + i)
            except AssertionError as e:
                raise AssertionError("after %d vanishing clients (last: %s), a fresh client "
                                     "failed: %s" % (i + 1, kind, e)) from e
    return stats


# ------------------------------------------------------------ host server


class HostEchoServer:
    """A threaded echo server on the host, one thread per connection.

    behaviour: "echo"; "close" accepts and closes at once (QEMU's port
    forward when the guest does not listen); "corrupt" echoes but flips
    byte corrupt_at of every connection's stream.
    """

    def __init__(self, host="127.0.0.1", port=0, behaviour="echo", corrupt_at=0):
        self.behaviour = behaviour
        self.corrupt_at = corrupt_at
        self.listener = socket.create_server((host, port), backlog=1024)
        self.host, self.port = self.listener.getsockname()[:2]
        self.lock = threading.Lock()
        self.clients = set()
        self.stopping = False
        self.thread = threading.Thread(target=self._accept_loop, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        with self.lock:
            self.stopping = True
            clients = list(self.clients)
        self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        for sock in clients:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.thread.join(5)

    def _accept_loop(self):
        while True:
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            if self.behaviour == "close":
                sock.close()
                continue
            with self.lock:
                if self.stopping:
                    sock.close()
                    return
                self.clients.add(sock)
            threading.Thread(target=self._serve, args=(sock,), daemon=True).start()

    def _serve(self, sock):
        offset = 0
        try:
            while True:
                data = sock.recv(MAX_MESSAGE)
                if not data:
                    break
                if self.behaviour == "corrupt" and offset <= self.corrupt_at < offset + len(data):
                    data = bytearray(data)
                    data[self.corrupt_at - offset] ^= 0x5a
                offset += len(data)
                sock.sendall(data)
        except OSError:
            pass  # the client reset or vanished
        finally:
            with self.lock:
                self.clients.discard(sock)
            sock.close()


# ------------------------------------------------------------ by hand


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="echo_client.py", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["serve", "check"])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8007)
    parser.add_argument("--wait", type=float, default=30.0,
                        help="check: seconds to wait for the first echo (default 30)")
    args = parser.parse_args(argv)
    if args.command == "serve":
        with HostEchoServer(args.host, args.port) as server:
            print("echo server on %s:%d; Ctrl-C stops it" % (server.host, server.port))
            try:
                server.thread.join()
            except KeyboardInterrupt:
                pass
        return 0
    print("up after %.3f s" % wait_for_port(args.host, args.port, args.wait))
    print("round_trips:", round_trips(args.host, args.port, 100))
    print("concurrent:", concurrent(args.host, args.port, 200, 5))
    print("vanishing_clients:", vanishing_clients(args.host, args.port, 40))
    return 0


if __name__ == "__main__":
    sys.exit(main())
