"""//images:webserver end to end, under QEMU (TCG by default, see
qemu_boot.ACCEL), serving a generated site through --site=DIR:

- every file fetched with curl matches byte for byte; directories serve
  their index.html, and a directory without the slash is redirected;
- HEAD, 304 (If-None-Match, If-Modified-Since), 206 and 416 ranges;
- a corpus of malformed requests each gets a 4xx (or 5xx where the
  protocol says so) and the server keeps serving;
- 500 keep-alive connections open at once, each doing two requests;
- a slowloris client does not hold up others, and is cut off;
- a 50 MB file downloads whole with curl --limit-rate 2M (~25 s, longer
  than the request limit) while slowloris clients are cut off (408 or
  closed) and others are served;
- a long directory path without its slash is redirected, Location exact;
- with the connection limit lowered: idle connections cannot keep others
  out, and when every slot is busy a new client gets the whole 503;
- with no site, the built-in status page.

(Booted with 32 MiB, 1,000 connections at once: tests/tap_hostile_test.py.)

tests/BUILD runs the classes as two targets side by side, each naming
its classes in `args`.
"""

import hashlib
import http.client
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import unittest.mock
import urllib.parse

import echo_client
import qemu_boot

HOST = "127.0.0.1"


def free_port():
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def make_site(root):
    """A small site: pages, assets of several types and sizes, nested
    folders with and without index.html, a symlink. Returns {path: bytes}."""
    rng = random.Random(7)
    files = {
        "/index.html": b"<!doctype html><title>site</title><h1>hello from the site</h1>\n" * 9,
        "/style.css": b"body { color: #333 }\n" * 40,
        "/app.js": b"console.log('hi');\n" * 100,
        "/data.json": b'{"k": [1, 2, 3]}\n',
        "/empty.txt": b"",
        "/docs/index.html": b"<h1>docs</h1>\n",
        "/docs/a/b/c/deep.txt": b"deep\n",
        "/noindex/file.txt": b"no index here\n",
        "/big.bin": rng.randbytes(3 * 1024 * 1024 + 17),
        "/img/logo.png": rng.randbytes(20000),
    }
    for i in range(60):
        files["/many/f%03d.txt" % i] = rng.randbytes(rng.choice([1, 100, 4095, 4096, 4097, 70000]))
    for path, data in files.items():
        full = os.path.join(root, path.lstrip("/"))
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "wb") as f:
            f.write(data)
    os.symlink("style.css", os.path.join(root, "link.css"))
    files["/link.css"] = files["/style.css"]
    # A directory whose path, percent-encoded, is longer than 1 KiB.
    long_dir = os.path.join(root, *LONG_DIR.strip("/").split("/"))
    os.makedirs(long_dir)
    with open(os.path.join(long_dir, "index.html"), "wb") as f:
        f.write(b"<h1>far down</h1>\n")
    return files


# Four levels of 200-byte names, half spaces: 804 bytes, 1,604 encoded.
LONG_DIR = "/long" + "".join("/" + "d " * 100 for _ in range(4))


def read_response(s):
    """One HTTP response from socket `s`: (status, headers, body), reading
    exactly Content-Length bytes of body."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            raise AssertionError("closed before a whole head: %r" % data[:300])
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = dict(line.split(": ", 1) for line in lines[1:])
    length = int(headers.get("Content-Length", "0"))
    while len(body) < length:
        chunk = s.recv(65536)
        if not chunk:
            raise AssertionError("closed after %d of %d body bytes" % (len(body), length))
        body += chunk
    return status, headers, body


class Server:
    def __init__(self, *flags):
        self.port = free_port()
        self.vm = subprocess.Popen(
            [qemu_boot.image("images/webserver"), "--timeout=900", "--accel=" + qemu_boot.ACCEL,
             "--port=%d" % self.port] + list(flags),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.output = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        deadline = time.monotonic() + 120
        while "webserver: listening" not in self.text():
            if self.vm.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("the server did not come up:\n" + self.text())
            time.sleep(0.05)
        self.wait_http()

    def _read(self):
        for line in iter(self.vm.stdout.readline, b""):
            self.output.append(line.decode(errors="replace").replace("\r", ""))

    def text(self):
        return "".join(self.output)

    def wait_http(self, timeout=60):
        # hostfwd accepts before the guest listens; a real response proves it.
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.get("/")
                return
            except (OSError, http.client.HTTPException):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def get(self, path, headers=None, method="GET"):
        conn = http.client.HTTPConnection(HOST, self.port, timeout=30)
        try:
            conn.request(method, path, headers=headers or {})
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            conn.close()

    def raw(self, data, timeout=10):
        """Sends raw bytes, returns everything until the server closes."""
        with socket.create_connection((HOST, self.port), timeout=timeout) as s:
            s.sendall(data)
            out = b""
            try:
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    out += chunk
            except socket.timeout:
                pass
            return out

    def stop(self):
        if self.vm.poll() is None:
            self.vm.send_signal(signal.SIGTERM)
            self.vm.wait(timeout=30)
        self.reader.join(timeout=10)
        sys.stderr.write(self.text()[-20000:])


class WebServerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR"))
        cls.site = os.path.join(cls.tmp, "site")
        cls.files = make_site(cls.site)
        cls.server = Server("--site=" + cls.site)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def still_serving(self):
        self.assertIsNone(self.server.vm.poll(), "the VM stopped:\n" + self.server.text())
        status, _, body = self.server.get("/index.html")
        self.assertEqual(status, 200)
        self.assertEqual(body, self.files["/index.html"])
        self.assertNotIn("PANIC", self.server.text())

    def test_every_file_with_curl(self):
        out = os.path.join(self.tmp, "curl.out")
        for path, data in sorted(self.files.items()):
            result = subprocess.run(
                ["curl", "-sS", "-o", out, "-w", "%{http_code} %{content_type}",
                 "http://%s:%d%s" % (HOST, self.server.port, path)],
                stdout=subprocess.PIPE, text=True, timeout=60)
            self.assertEqual(result.returncode, 0, path)
            code, _, content_type = result.stdout.partition(" ")
            self.assertEqual(code, "200", path)
            with open(out, "rb") as f:
                self.assertEqual(f.read(), data, path)
            if path.endswith(".html"):
                self.assertTrue(content_type.startswith("text/html"), content_type)
            if path.endswith(".png"):
                self.assertEqual(content_type, "image/png")

    def test_directories(self):
        status, _, body = self.server.get("/")
        self.assertEqual((status, body), (200, self.files["/index.html"]))
        status, _, body = self.server.get("/docs/")
        self.assertEqual((status, body), (200, self.files["/docs/index.html"]))
        status, headers, _ = self.server.get("/docs")
        self.assertEqual(status, 301)
        self.assertTrue(headers["Location"].endswith("/docs/"), headers)
        status, _, _ = self.server.get("/noindex/")
        self.assertEqual(status, 404)

    def test_head_and_errors(self):
        status, headers, body = self.server.get("/big.bin", method="HEAD")
        self.assertEqual(status, 200)
        self.assertEqual(int(headers["Content-Length"]), len(self.files["/big.bin"]))
        self.assertEqual(body, b"")
        self.assertEqual(self.server.get("/missing.html")[0], 404)
        status, headers, _ = self.server.get("/index.html", method="POST")
        self.assertEqual(status, 405)
        self.assertIn("GET", headers.get("Allow", ""))

    def test_conditional_and_ranges(self):
        status, headers, body = self.server.get("/big.bin")
        self.assertEqual(status, 200)
        etag, modified = headers["ETag"], headers["Last-Modified"]
        self.assertEqual(self.server.get("/big.bin", {"If-None-Match": etag})[0], 304)
        self.assertEqual(self.server.get("/big.bin", {"If-Modified-Since": modified})[0], 304)
        self.assertEqual(self.server.get("/big.bin", {"If-None-Match": '"other"'})[0], 200)
        data = self.files["/big.bin"]
        status, headers, body = self.server.get("/big.bin", {"Range": "bytes=100-199"})
        self.assertEqual((status, body), (206, data[100:200]))
        self.assertEqual(headers["Content-Range"], "bytes 100-199/%d" % len(data))
        status, _, body = self.server.get("/big.bin", {"Range": "bytes=-10"})
        self.assertEqual((status, body), (206, data[-10:]))
        status, _, body = self.server.get("/big.bin", {"Range": "bytes=%d-" % (len(data) - 5)})
        self.assertEqual((status, body), (206, data[-5:]))
        status, headers, _ = self.server.get("/big.bin", {"Range": "bytes=%d-" % len(data)})
        self.assertEqual(status, 416)
        self.assertEqual(headers["Content-Range"], "bytes */%d" % len(data))

    FILE_BYTES = re.compile(r"file bytes: (\d+) by reference, (\d+) copied")

    def counter(self, pattern):
        """The groups of `pattern` in the counters the console's `s` key prints."""
        start = len(self.server.output)
        self.server.vm.stdin.write(b"s")
        self.server.vm.stdin.flush()
        deadline = time.monotonic() + 30
        while True:
            m = pattern.search("".join(self.server.output[start:]))
            if m:
                return tuple(int(g) for g in m.groups())
            self.assertLess(time.monotonic(), deadline, "no %s after `s`:\n" % pattern.pattern +
                            self.server.text()[-3000:])
            time.sleep(0.05)

    def test_file_bytes_go_by_reference(self):
        # Bodies are sent from the fs cache's pages, never copied before the
        # NIC (lending is far from its limits here); heads and 304s carry none.
        data = self.files["/big.bin"]
        before = self.counter(self.FILE_BYTES)
        self.assertEqual(self.server.get("/big.bin"), (200, unittest.mock.ANY, data))
        status, _, body = self.server.get("/big.bin", {"Range": "bytes=5000-70000"})
        self.assertEqual((status, body), (206, data[5000:70001]))
        self.assertEqual(self.server.get("/big.bin", method="HEAD")[0], 200)
        after = self.counter(self.FILE_BYTES)
        self.assertEqual(after[0] - before[0], len(data) + 65001)
        self.assertEqual(after[1] - before[1], 0)

    TIME_WAIT_REOPENED = re.compile(r"(\d+) time-wait reopened")

    def test_a_client_reusing_its_port_after_the_server_closed(self):
        # The server closes first and holds TIME-WAIT for 60 s; the client's
        # side is closed at once, and its next connection from the same port
        # (QEMU's user networking keeps the client's port) must be served,
        # not acknowledged as the old connection until the TIME-WAIT ends.
        with socket.socket() as probe:
            probe.bind((HOST, 0))
            client_port = probe.getsockname()[1]
        before = self.counter(self.TIME_WAIT_REOPENED)[0]
        for _ in range(3):
            with socket.socket() as s:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.settimeout(30)
                s.bind((HOST, client_port))
                s.connect((HOST, self.server.port))
                s.sendall(b"GET /index.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                reply = b""
                while chunk := s.recv(65536):
                    reply += chunk
            self.assertTrue(reply.startswith(b"HTTP/1.1 200 "), reply[:200])
            self.assertTrue(reply.endswith(self.files["/index.html"]))
        self.assertEqual(self.counter(self.TIME_WAIT_REOPENED)[0] - before, 2)

    def test_malformed_requests(self):
        corpus = [
            (b"GARBAGE\r\n\r\n", "400"),
            (b"GET\r\n\r\n", "400"),
            (b"GET / HTTP/9.9\r\n\r\n", "505"),
            (b"GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n", "400"),
            (b"GET /%2e%2e/%2e%2e/etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n", "400"),
            (b"GET /a%2fb HTTP/1.1\r\nHost: x\r\n\r\n", "400"),
            (b"GET /a%00b HTTP/1.1\r\nHost: x\r\n\r\n", "400"),
            (b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", "414"),
            (b"GET / HTTP/1.1\r\n" + b"X-Long: " + b"b" * 10000 + b"\r\n\r\n", "431"),
            (b"GET / HTTP/1.1\r\n" + b"".join(b"H%d: v\r\n" % i for i in range(200)) + b"\r\n",
             "431"),
            (b"GET / HTTP/1.1\r\nBad Header\r\n\r\n", "400"),
            (b"GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", "400"),
            # The method is refused from the request line, before the length.
            (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n", "405"),
            (b"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", "501"),
            (b"\x00\x01\x02\x03\xff\xfe\r\n\r\n", "400"),
        ]
        for request, code in corpus:
            reply = self.server.raw(request)
            match = re.match(rb"HTTP/1\.[01] (\d{3}) ", reply)
            self.assertIsNotNone(match, "no status line for %r: %r" % (request[:60], reply[:200]))
            self.assertEqual(match.group(1).decode(), code,
                             "%r -> %r" % (request[:60], reply[:80]))
        self.still_serving()

    def test_pipelined_requests(self):
        reply = self.server.raw(b"GET /data.json HTTP/1.1\r\nHost: x\r\n\r\n"
                                b"GET /empty.txt HTTP/1.1\r\nHost: x\r\n\r\n"
                                b"GET /data.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        self.assertEqual(len(re.findall(rb"HTTP/1\.1 200 ", reply)), 3, reply[:500])
        self.assertEqual(reply.count(self.files["/data.json"]), 2)

    def test_500_keep_alive_connections(self):
        # Each connection does its first request as it opens (QEMU's user
        # networking accepts host connections from a backlog of 1, so a
        # burst of bare connects mostly waits out SYN retransmits); then all
        # 500, open at once, send a second request before any is read.
        request = b"GET /data.json HTTP/1.1\r\nHost: x\r\n\r\n"
        want = self.files["/data.json"]

        def read_response(s, i):
            reply = b""
            while not reply.endswith(want):
                chunk = s.recv(4096)
                self.assertTrue(chunk, "connection %d closed early: %r" % (i, reply))
                reply += chunk
            self.assertTrue(reply.startswith(b"HTTP/1.1 200 "), reply[:100])

        socks = []
        try:
            for i in range(500):
                s = socket.create_connection((HOST, self.server.port), timeout=60)
                socks.append(s)
                s.sendall(request)
                read_response(s, i)
            for s in socks:
                s.sendall(request)
            for i, s in enumerate(socks):
                read_response(s, i)
        finally:
            for s in socks:
                s.close()
        self.still_serving()

    def test_slowloris_does_not_block_others(self):
        slow = socket.create_connection((HOST, self.server.port), timeout=60)
        try:
            slow.sendall(b"GET / HTTP/1.1\r\n")
            start = time.monotonic()
            for _ in range(5):
                slow.sendall(b"X-a: b\r\n")
                self.still_serving()  # others are answered meanwhile
                time.sleep(0.5)
            # The server gives a request 10 s: the slow one is cut off.
            slow.settimeout(30)
            try:
                while True:
                    slow.sendall(b"X-a: b\r\n")
                    time.sleep(1)
                    if time.monotonic() - start > 40:
                        self.fail("the slow client was never cut off")
            except OSError:
                pass
        finally:
            slow.close()
        self.still_serving()

    def test_long_directory_redirect(self):
        target = urllib.parse.quote(LONG_DIR)
        self.assertGreater(len(target), 1024)
        reply = self.server.raw(("GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                                 % target).encode())
        head = reply.partition(b"\r\n\r\n")[0].decode("latin-1")
        self.assertTrue(head.startswith("HTTP/1.1 301 "), head[:200])
        self.assertIn("\r\nLocation: %s/\r\n" % target, head)
        status, _, body = self.server.get(target + "/")
        self.assertEqual((status, body), (200, b"<h1>far down</h1>\n"))


class HugeDownloadTest(unittest.TestCase):
    """Issue 13: a 50 MB file downloads whole at 2 MB/s (curl --limit-rate
    2M, about 25 s) while slowloris clients, opened meanwhile, are cut off
    and a plain client is served. The request limit is lowered to 5 s
    (--request_timeout_ms) so the slow clients are cut well before the
    download ends; the download still outlasts it five times over."""
    SIZE = 50 * 1000 * 1000
    REQUEST_TIMEOUT_S = 5
    SLOW_CLIENTS = 3
    # How long a slow client keeps dribbling before the test says it was
    # never cut off: the limit plus room for a loaded host, not a speed.
    GIVE_UP_S = REQUEST_TIMEOUT_S + 25

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR"))
        cls.site = os.path.join(cls.tmp, "site")
        os.makedirs(cls.site)
        cls.page = b"<!doctype html><title>huge</title><h1>still serving</h1>\n"
        with open(os.path.join(cls.site, "index.html"), "wb") as f:
            f.write(cls.page)
        # Random bytes, written and hashed in 1 MB pieces; the runner's ext2
        # image of the site (~73 MB) goes to TMPDIR, the test's own under Bazel.
        rng = random.Random(50)
        digest = hashlib.sha256()
        with open(os.path.join(cls.site, "huge"), "wb") as f:
            for _ in range(cls.SIZE // 1000000):
                piece = rng.randbytes(1000000)
                digest.update(piece)
                f.write(piece)
        cls.want_sha256 = digest.hexdigest()
        cls.server = Server("--site=" + cls.site,
                            "--request_timeout_ms=%d" % (cls.REQUEST_TIMEOUT_S * 1000))

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def slowloris(self, results, i):
        """Sends a request head a byte a second and never finishes it.
        Records (how it ended, seconds until then, what the server sent)."""
        reply = b""
        opened = time.monotonic()
        how = "never cut off"
        try:
            with socket.create_connection((HOST, self.server.port), timeout=30) as s:
                s.sendall(b"GET /index.html HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                s.settimeout(1)
                while time.monotonic() - opened < self.GIVE_UP_S:
                    s.sendall(b"z")
                    try:
                        chunk = s.recv(4096)
                    except socket.timeout:
                        continue
                    if not chunk:
                        how = "closed"
                        break
                    reply += chunk
        except OSError as e:  # reset, or a broken pipe on the next byte
            how = "closed (%s)" % type(e).__name__
        results[i] = (how, time.monotonic() - opened, reply)

    def test_50mb_at_2mbps_while_slowloris_clients_are_cut_off(self):
        out = os.path.join(self.tmp, "huge.out")
        curl = subprocess.Popen(
            ["curl", "-sS", "--limit-rate", "2M", "-o", out, "-w", "%{http_code}",
             "http://%s:%d/huge" % (HOST, self.server.port)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            # The slow clients come once the download is under way.
            while not (os.path.exists(out) and os.path.getsize(out) > 0):
                self.assertIsNone(curl.poll(), "curl ended before any byte: %r"
                                  % (curl.communicate(),))
                time.sleep(0.1)
            results = [None] * self.SLOW_CLIENTS
            threads = [threading.Thread(target=self.slowloris, args=(results, i))
                       for i in range(self.SLOW_CLIENTS)]
            for thread in threads:
                thread.start()
            # Others are served while the download and the slow clients run.
            served = 0
            while any(thread.is_alive() for thread in threads):
                status, _, body = self.server.get("/index.html")
                self.assertEqual((status, body), (200, self.page))
                served += 1
                time.sleep(1)
            for thread in threads:
                thread.join()
            sys.stderr.write("slow clients: %r; pages served meanwhile: %d\n"
                             % ([(how, round(t, 1), reply[:40]) for how, t, reply in results],
                                served))
            for how, seconds, reply in results:
                self.assertTrue(how.startswith("closed"),
                                "a slow client was %s after %.0f s" % (how, seconds))
                if reply:
                    self.assertTrue(reply.startswith(b"HTTP/1.1 408 "), reply[:100])
            self.assertGreater(served, 0)
            stdout, stderr = curl.communicate(timeout=300)
        finally:
            if curl.poll() is None:
                curl.kill()
                curl.wait()
        self.assertEqual((curl.returncode, stdout, stderr), (0, "200", ""))
        digest = hashlib.sha256()
        with open(out, "rb") as f:
            for piece in iter(lambda: f.read(1 << 20), b""):
                digest.update(piece)
        self.assertEqual(os.path.getsize(out), self.SIZE)
        self.assertEqual(digest.hexdigest(), self.want_sha256)
        self.assertNotIn("PANIC", self.server.text())


class LimitsTest(unittest.TestCase):
    """The connection limit lowered to 8 (--max_connections=8)."""
    LIMIT = 8

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR"))
        cls.site = os.path.join(cls.tmp, "site")
        cls.files = make_site(cls.site)
        cls.server = Server("--site=" + cls.site, "--max_connections=%d" % cls.LIMIT)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def connect(self):
        return socket.create_connection((HOST, self.server.port), timeout=30)

    def wait_accepted(self, count):
        # The guest accepts asynchronously; a request on a fresh connection
        # is answered only after every earlier one was accepted.
        time.sleep(1 + count * 0.05)

    def test_idle_connections_do_not_keep_others_out(self):
        idle = []
        try:
            for _ in range(self.LIMIT + 4):
                idle.append(self.connect())
            self.wait_accepted(len(idle))
            for i in range(5):
                status, _, body = self.server.get("/data.json")
                self.assertEqual((status, body), (200, self.files["/data.json"]), i)
            # The idle ones that made room were closed by the server.
            closed = 0
            for s in idle:
                s.settimeout(0.2)
                try:
                    if s.recv(1) == b"":
                        closed += 1
                except socket.timeout:
                    pass
                except OSError:
                    closed += 1
            self.assertGreaterEqual(closed, 5)
        finally:
            for s in idle:
                s.close()

    def test_busy_answer_arrives_whole(self):
        # Every slot holds a request that is still arriving (not idle, so
        # nobody can be cut to make room): a new client gets 503, whole,
        # even though it is still sending its request when the answer goes.
        busy = []
        try:
            for _ in range(self.LIMIT):
                s = self.connect()
                s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
                busy.append(s)
            self.wait_accepted(len(busy))
            outcomes = []
            for i in range(10):
                with self.connect() as s:
                    try:
                        s.sendall(b"GET /index.html HTTP/1.1\r\nHost: x\r\n")
                        for _ in range(10):
                            s.sendall(b"X-Filler: " + b"f" * 500 + b"\r\n")
                            time.sleep(0.03)
                        status, headers, body = read_response(s)
                        outcomes.append((status, headers.get("Connection"), body.count(b"503")))
                    except OSError as e:
                        outcomes.append(repr(e))
            self.assertEqual(outcomes, [(503, "close", 2)] * 10)
        finally:
            for s in busy:
                s.close()
        self.server.wait_http()


class OtherMachineTest(unittest.TestCase):
    # The site on the machine the other tests do not use (they run on the
    # runner's default, microvm, unless UK_MACHINE says otherwise): pc's
    # virtio-pci with MSI-X, or microvm's virtio-mmio (docs/drivers.md).
    # Every file byte for byte, and a range.
    def test_every_file_on_the_other_machine(self):
        machine = "microvm" if os.environ.get("UK_MACHINE") == "pc" else "pc"
        interrupt = r"MMIO gsi \d+" if machine == "microvm" else r"MSI-X"
        tmp = tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR"))
        server = None
        try:
            site = os.path.join(tmp, "site")
            files = make_site(site)
            server = Server("--site=" + site, "--machine=" + machine)
            self.assertRegex(server.text(), r"virtio-net: .*" + interrupt)
            self.assertRegex(server.text(), r"virtio-blk: .*" + interrupt)
            for path, data in sorted(files.items()):
                status, _, body = server.get(path)
                self.assertEqual((status, body), (200, data), path)
            data = files["/big.bin"]
            status, _, body = server.get("/big.bin", {"Range": "bytes=1000-99999"})
            self.assertEqual((status, body), (206, data[1000:100000]))
        finally:
            if server is not None:
                server.stop()
            shutil.rmtree(tmp, ignore_errors=True)


class BuiltInSiteTest(unittest.TestCase):
    # The memory lines of the `s` key and the status page (docs/webserver.md).
    MEMORY = re.compile(
        r"memory: heap (\d+) bytes in use \(high (\d+)\), pages (\d+) free of (\d+) "
        r"\(low (\d+)\)")
    NET = re.compile(
        r"net: lwip heap (\d+) of (\d+) bytes \(high (\d+)\), pool (\d+) of (\d+) "
        r"\(high (\d+)\), tcp (\d+) active (\d+) time-wait (\d+) listening, "
        r"sockets (\d+) open")
    WEBSERVER = re.compile(
        r"webserver: (\d+) connections open, (\d+) served, (\d+) refused busy, "
        r"(\d+) refused memory, (\d+) evicted, \d+ refused per client \| per request: "
        r"\d+\.\d\d ring messages, \d+\.\d\d publishes")

    def check_memory_lines(self, text):
        m = self.MEMORY.search(text)
        self.assertIsNotNone(m, text[-3000:])
        heap, high, free, total, low = map(int, m.groups())
        self.assertGreater(heap, 0)
        self.assertGreaterEqual(high, heap)
        self.assertLessEqual(free, total)
        self.assertLessEqual(low, free)
        self.assertGreater(total, 0)
        m = self.NET.search(text)
        self.assertIsNotNone(m, text[-3000:])
        (lwip, lwip_size, lwip_high, pool, pool_size, pool_high, _, _, listening,
         sockets) = map(int, m.groups())
        self.assertLessEqual(lwip, lwip_high)
        self.assertLessEqual(lwip_high, lwip_size)
        self.assertLessEqual(pool, pool_high)
        self.assertLessEqual(pool_high, pool_size)
        self.assertEqual(listening, 1)
        self.assertGreaterEqual(sockets, 1)  # the listener
        m = self.WEBSERVER.search(text)
        self.assertIsNotNone(m, text[-3000:])
        return int(m.group(2))  # served

    def test_status_page(self):
        server = Server()
        try:
            status, headers, body = server.get("/")
            self.assertEqual(status, 200)
            self.assertTrue(headers["Content-Type"].startswith("text/html"))
            self.assertIn(b"per-core counters", body.lower())
            self.assertIn(b"cpu1:", body)
            self.assertIn(b"<h2>Memory</h2>", body)
            self.check_memory_lines(body.decode())
            self.assertEqual(server.get("/nothing-here")[0], 404)

            # The same lines on the console's `s` key, the served count
            # including the pages above.
            start = len(server.output)
            server.vm.stdin.write(b"s")
            server.vm.stdin.flush()
            deadline = time.monotonic() + 30
            while not self.WEBSERVER.search("".join(server.output[start:])):
                self.assertLess(time.monotonic(), deadline, "no webserver: line after `s`:\n" +
                                server.text()[-3000:])
                time.sleep(0.05)
            self.assertGreaterEqual(self.check_memory_lines("".join(server.output[start:])), 2)
        finally:
            server.stop()


if __name__ == "__main__":
    unittest.main()
