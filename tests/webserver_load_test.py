"""//images:webserver keeps answering after a burst of load: the regression
test for the one-core hang (docs/net.md, "The one-core hang").

With net, fs and http on one core, QEMU 7.2's virtio-net could lose a
transmit kick when VIRTIO_F_EVENT_IDX was negotiated; transmission then
stopped for good and the server answered nothing, ever again. It showed
under ordinary load, in most boots: fetch a page and a 64 KiB file, let the
guest idle, run `wrk -t1 -c4 -d10s`, and the server was gone.

Each boot here is fresh and does exactly that. The one-core placement
boots three times, since a single boot hung only two times in three: twice
with --smp=1 and every service on core 0, once with the image's default
(2 cores, every service on core 1); the spread placement (4 cores,
services on 1, 2 and 3) boots once. After each load run, the test asserts that wrk got
at least one response, none of them an error, and that CONSECUTIVE_GETS
plain GETs in a row each return 200 and the right body within
GET_TIMEOUT_S. Nothing asserted is a speed: a working server passes on any
host, a hung one fails on every host.

QEMU is started directly (the command from the runner's --print-command),
with its console on a file and stdin on /dev/null, as in the reproduction:
nothing is typed on the console, and the log is there to print on failure.
Needs wrk (apt-get install wrk; tools/setup.sh installs it).
"""

import http.client
import os
import random
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest

import qemu_boot

HOST = "127.0.0.1"
NETWORK = ["--machine=pc", "--mem=256M", "--ip=10.0.2.15", "--netmask=255.255.255.0",
           "--gateway=10.0.2.2"]
ONE_CORE = ["--smp=1", "--net_core=0", "--fs_core=0", "--http_core=0"]
DEFAULT_PLACEMENT = []  # images/BUILD: 2 cores, net, fs and http on core 1
SPREAD = ["--smp=4", "--net_core=1", "--fs_core=2", "--http_core=3"]
BOOTS = [
    ("one core, boot 1", ONE_CORE, "net on core 0, fs on core 0, http on core 0"),
    ("one core, boot 2", ONE_CORE, "net on core 0, fs on core 0, http on core 0"),
    ("default placement", DEFAULT_PLACEMENT, "net on core 1, fs on core 1, http on core 1"),
    ("spread placement", SPREAD, "net on core 1, fs on core 2, http on core 3"),
]
IDLE_S = 5  # between the first fetches and the load (20 s when it was found)
WRK = ["wrk", "-t1", "-c4", "-d10s"]
SETTLE_S = 2  # between the load and the checks
CONSECUTIVE_GETS = 20
GET_TIMEOUT_S = 5
UP_TIMEOUT_S = 90  # boot to first 200 (under a second when the host is idle)
WRK_REQUESTS = re.compile(r"^\s*(\d+) requests in ", re.M)
WRK_ERRORS = re.compile(r"^\s*Non-2xx or 3xx responses: (\d+)", re.M)


def free_port():
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def make_site(root):
    """The reproduction's site: a small index.html and a 64 KiB file."""
    page = b"<!doctype html>\n<title>load test</title>\n<h1>still here</h1>\n"
    page += b"<p>" + (b"uk " * 200)[:587 - len(page) - 8] + b"</p>\n"
    files = {
        "/index.html": page,
        "/64k.bin": random.Random(64).randbytes(64 * 1024),
    }
    for path, data in files.items():
        with open(os.path.join(root, path.lstrip("/")), "wb") as f:
            f.write(data)
    return files


def get(port, path):
    """(status, body) of one GET on a new connection."""
    conn = http.client.HTTPConnection(HOST, port, timeout=GET_TIMEOUT_S)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


class Guest:
    """One fresh VM, its console going to `log_path`."""

    def __init__(self, flags, site, log_path):
        self.port = free_port()
        self.log_path = log_path
        printed = subprocess.run(
            [qemu_boot.image("images/webserver"), "--print-command",
             "--accel=" + qemu_boot.ACCEL, "--port=%d" % self.port, "--site=" + site]
            + NETWORK + flags,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL,
            timeout=60)
        if printed.returncode != 0:
            raise AssertionError("the runner could not print a command:\n" + printed.stderr)
        self.command = shlex.split(printed.stdout.strip().splitlines()[-1])
        with open(log_path, "wb") as log:
            # Same process group as the test: if Bazel stops the test, QEMU
            # stops with it.
            self.vm = subprocess.Popen(self.command, stdin=subprocess.DEVNULL, stdout=log,
                                       stderr=subprocess.STDOUT)

    def log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace").replace("\r", "")

    def log_excerpt(self, head=12, tail=40):
        """The boot messages (which features the drivers negotiated) and the
        last lines."""
        lines = self.log().splitlines()
        if len(lines) <= head + tail:
            return "\n".join(lines)
        return "\n".join(lines[:head] + ["[... %d lines ...]" % (len(lines) - head - tail)]
                         + lines[-tail:])

    def wait_up(self, files):
        """Waits for the listening line, then for a real 200 of /: QEMU's
        user networking accepts host connections before the guest listens."""
        deadline = time.monotonic() + UP_TIMEOUT_S
        while "webserver: listening" not in self.log():
            if self.vm.poll() is not None:
                raise AssertionError("QEMU exited with status %d before the server came up"
                                     % self.vm.returncode)
            if time.monotonic() > deadline:
                raise AssertionError("no 'webserver: listening' within %d s" % UP_TIMEOUT_S)
            time.sleep(0.05)
        while True:
            try:
                if get(self.port, "/") == (200, files["/index.html"]):
                    return
            except (OSError, http.client.HTTPException):
                pass
            if time.monotonic() > deadline:
                raise AssertionError("no 200 for / within %d s" % UP_TIMEOUT_S)
            time.sleep(0.1)

    def stop(self):
        if self.vm.poll() is None:
            self.vm.terminate()
            try:
                self.vm.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.vm.kill()
                self.vm.wait()


class LoadThenServeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR"))
        cls.site = os.path.join(cls.tmp, "site")
        os.mkdir(cls.site)
        cls.files = make_site(cls.site)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_serves_after_load(self):
        if shutil.which("wrk") is None:
            self.fail("wrk is not installed; install it with: apt-get install wrk "
                      "(or run tools/setup.sh, which installs it)")
        results = []
        for number, (label, flags, placement) in enumerate(BOOTS, 1):
            with self.subTest(boot=label):
                log_path = os.path.join(self.tmp, "serial-%d.log" % number)
                guest = Guest(flags, self.site, log_path)
                wrk_output = "(wrk did not run)"
                start = time.monotonic()
                try:
                    failure, wrk_output = self.load_then_serve(guest, placement)
                except AssertionError as e:
                    failure = str(e)
                finally:
                    guest.stop()
                requests = WRK_REQUESTS.search(wrk_output)
                results.append("%s: %s; wrk: %s responses (%.0f s)" % (
                    label, failure or "ok", requests.group(1) if requests else "no",
                    time.monotonic() - start))
                sys.stderr.write("webserver_load_test: %s\n" % results[-1])
                if failure:
                    self.fail("%s: %s\n\n--- wrk ---\n%s\n--- QEMU ---\n%s\n--- serial log ---\n%s"
                              % (label, failure, wrk_output, shlex.join(guest.command),
                                 guest.log_excerpt()))
        sys.stderr.write("webserver_load_test: summary\n  " + "\n  ".join(results) + "\n")

    def load_then_serve(self, guest, placement):
        """Runs the sequence on a booted guest. Returns (what failed or
        None, wrk's output)."""
        guest.wait_up(self.files)
        if "serving the disk; " + placement not in guest.log():
            return ("the listening line does not say 'serving the disk; %s'" % placement,
                    "(wrk did not run)")
        for path in ("/", "/64k.bin"):
            want = self.files["/index.html" if path == "/" else path]
            try:
                got = get(guest.port, path)
            except (OSError, http.client.HTTPException) as e:
                return "GET %s before the load: %r" % (path, e), "(wrk did not run)"
            if got != (200, want):
                return ("GET %s before the load: status %d, %d bytes"
                        % (path, got[0], len(got[1]))), "(wrk did not run)"
        time.sleep(IDLE_S)

        url = "http://%s:%d/" % (HOST, guest.port)
        try:
            wrk = subprocess.run(WRK + [url], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                 text=True, stdin=subprocess.DEVNULL, timeout=60)
        except subprocess.TimeoutExpired as e:
            return "wrk did not finish within 60 s", str(e.output)
        output = "$ %s\n%s" % (shlex.join(WRK + [url]), wrk.stdout)
        requests = WRK_REQUESTS.search(wrk.stdout)
        if wrk.returncode != 0 or requests is None:
            return "wrk failed (status %d)" % wrk.returncode, output
        if int(requests.group(1)) == 0:
            return "the load run got no response at all", output
        errors = WRK_ERRORS.search(wrk.stdout)
        if errors:
            return "%s of the load run's responses were not 2xx" % errors.group(1), output

        time.sleep(SETTLE_S)
        for i in range(CONSECUTIVE_GETS):
            try:
                got = get(guest.port, "/")
            except (OSError, http.client.HTTPException) as e:
                return ("GET / number %d of %d after the load: %r (no answer within %d s)"
                        % (i + 1, CONSECUTIVE_GETS, e, GET_TIMEOUT_S)), output
            if got != (200, self.files["/index.html"]):
                return ("GET / number %d of %d after the load: status %d, %d bytes (want 200, "
                        "%d bytes)" % (i + 1, CONSECUTIVE_GETS, got[0], len(got[1]),
                                       len(self.files["/index.html"]))), output
        return None, output


if __name__ == "__main__":
    unittest.main()
