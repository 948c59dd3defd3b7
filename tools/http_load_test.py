"""Runs //tools:http_load against small HTTP servers on the host (no QEMU).

Checks behaviour only: exact counts at a low rate, each error class and
each exit status. No timing thresholds: these machines are shared and noisy.
"""

import os
import socket
import subprocess
import threading
import unittest

RUN_TIMEOUT_S = 60
BODY = b"x" * 600


def tool():
    root = os.environ.get("TEST_SRCDIR", "")
    workspace = os.environ.get("TEST_WORKSPACE", "unikernel")
    return os.path.join(root, workspace, "tools", "http_load")


def run(*flags):
    result = subprocess.run([tool()] + list(flags), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL,
                            timeout=RUN_TIMEOUT_S)
    return result.returncode, result.stdout, result.stderr


def parse(stdout):
    """The numbers of the `http_load: ...` line."""
    line = [x for x in stdout.splitlines() if x.startswith("http_load: ")]
    if len(line) != 1:
        raise AssertionError("no single result line in %r" % stdout)
    return {k: float(v) for k, v in (w.split("=", 1) for w in line[0].split()[1:])}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """HTTP/1.1 on 127.0.0.1, a thread per connection. `status` is the
    answer (204 without a body); `close` answers with Connection: close
    and closes; `split` writes every other response a byte at a time (so
    responses arrive cut at every byte, among whole ones); `silent` never
    answers."""

    def __init__(self, status=200, close=False, split=False, silent=False):
        self.status, self.close, self.split, self.silent = status, close, split, silent
        self.requests = 0
        self.lock = threading.Lock()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.url = "http://127.0.0.1:%d/index.html" % self.sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        data = b""
        answered = 0
        with conn:
            while True:
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(4096)
                    if not chunk:
                        return
                    data += chunk
                _, _, data = data.partition(b"\r\n\r\n")
                with self.lock:
                    self.requests += 1
                if self.silent:
                    continue
                if self.status == 204:
                    reply = b"HTTP/1.1 204 No Content\r\n\r\n"
                else:
                    reply = (b"HTTP/1.1 %d X\r\nContent-Length: %d\r\n%s\r\n" % (
                        self.status, len(BODY), b"Connection: close\r\n" if self.close else b"")
                        + BODY)
                if self.split and answered % 2 == 0:
                    for i in range(len(reply)):
                        conn.sendall(reply[i:i + 1])
                else:
                    conn.sendall(reply)
                answered += 1
                if self.close:
                    return

    def stop(self):
        self.sock.close()


class HttpLoadTest(unittest.TestCase):
    def load(self, server, *flags):
        try:
            return run("--url=" + server.url, "--warmup_seconds=0", *flags)
        finally:
            server.stop()

    def test_counts_are_exact_at_a_low_rate(self):
        status, out, err = self.load(Server(), "--rate=200", "--seconds=1")
        self.assertEqual(status, 0, err)
        r = parse(out)
        self.assertEqual((r["sent"], r["completed"], r["non2xx"]), (200, 200, 0))
        self.assertEqual(r["connect_errors"] + r["read_errors"] + r["timeouts"], 0)
        self.assertLessEqual(r["p50_us"], r["p99_us"])
        self.assertLessEqual(r["p99_us"], r["max_us"])

    def test_responses_split_into_single_bytes(self):
        status, out, err = self.load(Server(split=True), "--rate=200", "--seconds=1")
        self.assertEqual(status, 0, err)
        r = parse(out)
        self.assertEqual((r["sent"], r["completed"], r["non2xx"]), (200, 200, 0))
        self.assertEqual(r["connect_errors"] + r["read_errors"] + r["timeouts"], 0)

    def test_connection_close_reconnects(self):
        status, out, err = self.load(Server(close=True), "--rate=100", "--seconds=1")
        self.assertEqual(status, 0, err)
        r = parse(out)
        self.assertEqual((r["sent"], r["completed"], r["read_errors"]), (100, 100, 0))

    def test_non_2xx_are_counted_and_fail(self):
        status, out, err = self.load(Server(status=404), "--rate=50", "--seconds=1")
        self.assertEqual(status, 1, err)
        r = parse(out)
        self.assertEqual((r["sent"], r["completed"], r["non2xx"]), (50, 50, 50))

    def test_204_has_no_body(self):
        status, out, err = self.load(Server(status=204), "--rate=50", "--seconds=1")
        self.assertEqual(status, 0, err)
        r = parse(out)
        self.assertEqual((r["sent"], r["completed"], r["timeouts"]), (50, 50, 0))

    def test_unanswered_requests_time_out(self):
        status, out, _ = self.load(Server(silent=True), "--rate=20", "--seconds=1",
                                   "--connections=2", "--timeout_ms=200")
        self.assertEqual(status, 1)
        r = parse(out)
        self.assertEqual(r["completed"], 0)
        self.assertEqual(r["timeouts"], 20)  # sent and timed out, or never sent

    def test_no_listener(self):
        status, out, err = run("--url=http://127.0.0.1:%d/" % free_port(), "--rate=10",
                               "--seconds=1", "--warmup_seconds=0")
        self.assertEqual(status, 3)
        self.assertIn("could not connect", err)
        self.assertEqual(out, "")

    def test_bad_flags(self):
        for flags in (["--rate=10"], ["--url=http://127.0.0.1:1/", "--rate=0"],
                      ["--url=ftp://x/", "--rate=1"], ["--url=http://host.example/", "--rate=1"],
                      ["--url=http://127.0.0.1:99999/", "--rate=1"], ["--nope=1"],
                      ["--url=http://127.0.0.1:1/", "--rate=1", "--seconds=0"],
                      ["--url=http://127.0.0.1:1/", "--rate=1", "--connections=0"],
                      ["--url=http://127.0.0.1:1/", "--rate=1", "--timeout_ms=0"],
                      ["--url=http://127.0.0.1:1/", "--rate=x"], ["positional"]):
            status, out, err = run(*flags)
            self.assertEqual(status, 2, "%s: %s" % (flags, err))
            self.assertIn("http_load:", err)
            self.assertEqual(out, "", flags)

    def test_help(self):
        status, out, err = run("--help")
        self.assertEqual(status, 0, err)
        for flag in ("--url=", "--rate=", "--seconds=10", "--warmup_seconds=1",
                     "--connections=16", "--timeout_ms=2000"):
            self.assertIn(flag, out)


if __name__ == "__main__":
    unittest.main()
