#!/usr/bin/env python3
"""Soak benchmark for //images:webserver (manual, not in CI; issue 13).

Boots the web server on a generated site (small pages and 64 KiB files),
warms it up, reads its memory counters (the baseline), then for --duration
seconds runs at once:

- wrk over a mix of URLs (a Lua script cycles through small pages and
  64 KiB files, three small for one large), in back-to-back runs of
  --wrk-segment seconds so a progress line comes every ~30 s;
- --slowloris clients that send a request head a byte a second and never
  finish it (each is cut off by the server's request limit, then reconnects)
  and --slow-readers that fetch 64 KiB files reading ~4 KB/s (above the
  server's floor: a send of 32 KiB may take 20 s, --send_timeout_ms);
- a SYN trickle: --syn-rate new TCP connections a second, abandoned
  without sending (closed after --syn-hold seconds). Through QEMU's user
  networking the guest sees each as a real SYN from slirp.

Then it stops the load, waits for connections to drain (TIME-WAIT is 60 s),
polls the counters until they settle, and prints a table. The counters come
from the guest console: the runner passes our piped stdin to it, and the
key `s` prints, among every core's counters:

  memory: heap N bytes in use (high N), pages N free of N (low N)
  net: lwip heap N of N bytes (high N), pool N of N (high N), tcp N active N time-wait N listening, sockets N open
  webserver: N connections open, N served, N refused busy, N refused memory, N evicted

Exit status: 0 no wrk error and memory back at its baseline (heap within
--heap-tolerance bytes, lwip heap within --lwip-tolerance, pool and open
sockets no higher); 1 wrk errors or memory not back; 2 bad usage; 3 a tool
is missing; 4 the counters' lines were not found on the console (an image
built before they existed); 5 the server did not come up or stopped.

  bazel build //images:webserver && python3 bench/soak.py            # 10 min
  python3 bench/soak.py --duration=60                                # a try
  bazel run //bench:soak -- --duration=120
"""

import argparse
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

HOST = "127.0.0.1"
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

MEMORY_LINE = re.compile(
    r"memory: heap (?P<heap>\d+) bytes in use \(high (?P<heap_high>\d+)\), "
    r"pages (?P<pages_free>\d+) free of (?P<pages>\d+) \(low (?P<pages_low>\d+)\)")
NET_LINE = re.compile(
    r"net: lwip heap (?P<lwip_heap>\d+) of (?P<lwip_heap_size>\d+) bytes "
    r"\(high (?P<lwip_heap_high>\d+)\), pool (?P<pool>\d+) of (?P<pool_size>\d+) "
    r"\(high (?P<pool_high>\d+)\), tcp (?P<tcp_active>\d+) active (?P<tcp_time_wait>\d+) "
    r"time-wait (?P<tcp_listening>\d+) listening, sockets (?P<sockets>\d+) open")
WEBSERVER_LINE = re.compile(
    r"webserver: (?P<connections>\d+) connections open, (?P<served>\d+) served, "
    r"(?P<refused_busy>\d+) refused busy, (?P<refused_memory>\d+) refused memory, "
    r"(?P<evicted>\d+) evicted")
COUNTER_LINES = (MEMORY_LINE, NET_LINE, WEBSERVER_LINE)

WRK_REQUESTS = re.compile(r"^\s*(\d+) requests in ([\d.]+)(m?s|m|h)", re.M)
WRK_SOCKET_ERRORS = re.compile(
    r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")
WRK_NON_2XX = re.compile(r"Non-2xx or 3xx responses: (\d+)")
WRK_ERROR_KINDS = ("connect", "read", "write", "timeout", "non-2xx")

EXIT_FAILED, EXIT_USAGE, EXIT_TOOL, EXIT_NO_COUNTERS, EXIT_SERVER = 1, 2, 3, 4, 5


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="bench/soak.py", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=600,
                        help="seconds of load (default 600)")
    parser.add_argument("--image", default=None,
                        help="the web server's launcher (default: from Bazel runfiles, "
                             "else bazel-bin/images/webserver)")
    parser.add_argument("--port", type=int, default=0, help="host port (default: a free one)")
    parser.add_argument("--mem", default="256M", help="guest memory (default 256M)")
    parser.add_argument("--wrk-connections", type=int, default=8,
                        help="wrk -c (default 8; -t1)")
    parser.add_argument("--wrk-segment", type=int, default=30,
                        help="seconds per wrk run; a progress line after each (default 30)")
    parser.add_argument("--slowloris", type=int, default=4,
                        help="clients dribbling a request head (default 4)")
    parser.add_argument("--slow-readers", type=int, default=2,
                        help="clients reading 64 KiB files slowly (default 2)")
    parser.add_argument("--syn-rate", type=float, default=3,
                        help="abandoned connections opened a second (default 3)")
    parser.add_argument("--syn-hold", type=float, default=2,
                        help="seconds an abandoned connection stays open (default 2)")
    parser.add_argument("--settle-timeout", type=int, default=180,
                        help="seconds to wait for the counters to return after the load "
                             "(default 180; TIME-WAIT alone is 60 s)")
    parser.add_argument("--heap-tolerance", type=int, default=256 * 1024,
                        help="bytes the kernel heap may stay above its baseline "
                             "(caches; default 262144)")
    parser.add_argument("--lwip-tolerance", type=int, default=4096,
                        help="bytes lwIP's heap may stay above its baseline (default 4096)")
    parser.add_argument("--out", default=None,
                        help="folder for the site, the wrk script and serial.log "
                             "(default: a temporary folder, removed unless --keep)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args(argv)
    if args.duration <= 0 or args.wrk_segment <= 0:
        parser.error("--duration and --wrk-segment must be positive")
    return args


def log(message):
    print("[%s] %s" % (time.strftime("%H:%M:%S"), message), flush=True)


def find_image(args):
    """--image, else the launcher beside this file in Bazel's runfiles
    (bazel run //bench:soak), else bazel-bin's."""
    if args.image:
        return args.image
    in_runfiles = os.path.join(REPO, "images", "webserver")
    if os.path.isfile(in_runfiles):  # in a source tree it is a folder
        # The launcher finds its runner and kernel through RUNFILES_DIR.
        os.environ["RUNFILES_DIR"] = os.path.dirname(REPO)
        return in_runfiles
    return os.path.join(REPO, "bazel-bin", "images", "webserver")


# ---- The site and the wrk script ----

def make_site(root):
    """20 small pages (0.5-4 KiB) and 8 files of 64 KiB. Returns the URL
    paths wrk cycles through, three small for one large."""
    rng = random.Random(13)
    small, large = [], []
    os.makedirs(os.path.join(root, "p"), exist_ok=True)
    os.makedirs(os.path.join(root, "f"), exist_ok=True)
    with open(os.path.join(root, "index.html"), "wb") as f:
        f.write(b"<!doctype html><title>soak</title><h1>soak</h1>\n" * 12)
    small.append("/index.html")
    for i in range(20):
        path = "/p/page%02d.html" % i
        with open(os.path.join(root, path.lstrip("/")), "wb") as f:
            f.write(b"<p>%s</p>\n" % (b"x" * rng.randint(500, 4000)))
        small.append(path)
    for i in range(8):
        path = "/f/%d.bin" % i
        with open(os.path.join(root, path.lstrip("/")), "wb") as f:
            f.write(rng.randbytes(64 * 1024))
        large.append(path)
    mix = []
    for i, path in enumerate(small):
        mix.append(path)
        if i % 3 == 2:
            mix.append(large[(i // 3) % len(large)])
    return mix, large


def write_wrk_script(path, urls):
    with open(path, "w") as f:
        f.write("-- bench/soak.py: cycles through a mix of small pages and 64 KiB files.\n")
        f.write("local paths = {%s}\n" % ", ".join('"%s"' % u for u in urls))
        f.write("local i = 0\n"
                "request = function()\n"
                "  i = i % #paths + 1\n"
                "  return wrk.format(\"GET\", paths[i])\n"
                "end\n")


# ---- The server and its console ----

class Server:
    def __init__(self, image, port, site, mem, log_path):
        self.port = port
        self.log = open(log_path, "w", errors="replace")
        self.lock = threading.Lock()
        self.lines = []
        self.vm = subprocess.Popen(
            [image, "--port=%d" % port, "--site=" + site, "--mem=" + mem],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for raw in iter(self.vm.stdout.readline, b""):
            line = raw.decode(errors="replace").replace("\r", "")
            self.log.write(line)
            with self.lock:
                self.lines.append(line)

    def line_count(self):
        with self.lock:
            return len(self.lines)

    def lines_since(self, start):
        with self.lock:
            return self.lines[start:]

    def wait_up(self, timeout=180):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.vm.poll() is not None:
                return False
            if any("webserver: listening" in line for line in self.lines_since(0)):
                try:
                    if http_get(self.port, "/index.html")[0] == 200:
                        return True
                except OSError:
                    pass
            time.sleep(0.2)
        return False

    def counters(self, timeout=15):
        """Presses `s` and returns the three lines' figures as one dict, or
        None when they do not all appear within `timeout`."""
        start = self.line_count()
        self.vm.stdin.write(b"s")
        self.vm.stdin.flush()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = {}
            for line in self.lines_since(start):
                for pattern in COUNTER_LINES:
                    match = pattern.search(line)
                    if match:
                        found[pattern.pattern] = match.groupdict()
            if len(found) == len(COUNTER_LINES):
                figures = {}
                for group in found.values():
                    figures.update({k: int(v) for k, v in group.items()})
                return figures
            time.sleep(0.2)
        return None

    def stop(self):
        if self.vm.poll() is None:
            self.vm.send_signal(signal.SIGTERM)
            try:
                self.vm.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.vm.kill()
                self.vm.wait()
        self.reader.join(timeout=10)
        self.log.close()


def free_port():
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def http_get(port, path, timeout=30):
    """One GET on a fresh connection: (status, body)."""
    with socket.create_connection((HOST, port), timeout=timeout) as s:
        s.sendall(("GET %s HTTP/1.1\r\nHost: soak\r\nConnection: close\r\n\r\n"
                   % path).encode())
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/") else 0
    return status, body


# ---- The load ----

class Tally:
    """Counts shared by the load threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.counts = {}

    def add(self, key, n=1):
        with self.lock:
            self.counts[key] = self.counts.get(key, 0) + n

    def get(self, key):
        with self.lock:
            return self.counts.get(key, 0)


def slowloris(port, stop, tally):
    """A request head a byte a second, never finished; counts each time the
    server cuts it off, then starts again."""
    while not stop.is_set():
        try:
            with socket.create_connection((HOST, port), timeout=30) as s:
                s.sendall(b"GET /index.html HTTP/1.1\r\nHost: soak\r\nX-Slow: ")
                s.settimeout(1)
                while not stop.is_set():
                    s.sendall(b"z")
                    try:
                        chunk = s.recv(4096)
                    except socket.timeout:
                        continue
                    if not chunk:
                        tally.add("slowloris cut")
                        break
                    if chunk.startswith(b"HTTP/1.1 408 "):
                        tally.add("slowloris 408")
        except OSError:
            tally.add("slowloris cut")
        stop.wait(0.5)


def slow_reader(port, paths, stop, tally):
    """Fetches 64 KiB files on one keep-alive connection through a small
    receive buffer, ~4 KB a second; counts whole bodies and cut ones (the
    server cuts a reader that takes 20 s over a 32 KiB send)."""
    rng = random.Random()
    while not stop.is_set():
        try:
            with socket.socket() as s:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                s.settimeout(60)
                s.connect((HOST, port))
                while not stop.is_set():
                    s.sendall(("GET %s HTTP/1.1\r\nHost: soak\r\n\r\n"
                               % rng.choice(paths)).encode())
                    data = b""
                    while b"\r\n\r\n" not in data:
                        chunk = s.recv(1024)
                        if not chunk:
                            raise ConnectionError("closed in the head")
                        data += chunk
                    head, _, body = data.partition(b"\r\n\r\n")
                    length = int(re.search(rb"Content-Length: (\d+)", head).group(1))
                    while len(body) < length and not stop.is_set():
                        chunk = s.recv(1024)
                        if not chunk:
                            raise ConnectionError("closed in the body")
                        body += chunk
                        time.sleep(0.25)
                    if len(body) == length:
                        tally.add("slow reads whole")
        except (OSError, ValueError, AttributeError):
            if not stop.is_set():
                tally.add("slow reads cut")
            stop.wait(0.5)


def syn_trickle(port, rate, hold, stop, tally):
    """Opens `rate` connections a second and abandons them without sending:
    each is closed `hold` seconds later."""
    held = []
    next_open = time.monotonic()
    while not stop.is_set():
        now = time.monotonic()
        if now >= next_open:
            next_open += 1.0 / rate
            s = socket.socket()
            s.setblocking(False)
            try:
                s.connect((HOST, port))
            except BlockingIOError:
                pass
            except OSError:
                s.close()
                tally.add("syn failed")
                continue
            held.append((now + hold, s))
            tally.add("syn opened")
        while held and held[0][0] <= now:
            held.pop(0)[1].close()
        stop.wait(min(0.05, max(0.0, next_open - time.monotonic())))
    for _, s in held:
        s.close()


def run_wrk(port, script, seconds, connections):
    result = subprocess.run(
        ["wrk", "-t1", "-c%d" % connections, "-d%ds" % seconds, "--timeout", "10s",
         "-s", script, "http://%s:%d/" % (HOST, port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    figures = {kind: 0 for kind in WRK_ERROR_KINDS}
    match = WRK_REQUESTS.search(result.stdout)
    if result.returncode != 0 or not match:
        figures["connect"] += 1  # wrk itself failed: count it as an error
        return 0, figures, result.stdout
    errors = WRK_SOCKET_ERRORS.search(result.stdout)
    if errors:
        for kind, value in zip(WRK_ERROR_KINDS, errors.groups()):
            figures[kind] = int(value)
    non_2xx = WRK_NON_2XX.search(result.stdout)
    if non_2xx:
        figures["non-2xx"] = int(non_2xx.group(1))
    return int(match.group(1)), figures, result.stdout


# ---- Memory: baseline and final ----

MEMORY_KEYS = [  # (key, label, comparison)
    ("heap", "kernel heap bytes in use", "tolerance"),
    ("pages_free", "free pages", "info"),
    ("lwip_heap", "lwip heap bytes", "lwip"),
    ("pool", "lwip pool entries", "no higher"),
    ("tcp_active", "tcp active", "no higher"),
    ("tcp_time_wait", "tcp time-wait", "info"),
    ("sockets", "sockets open", "no higher"),
    ("connections", "webserver connections", "no higher"),
]


def back_at_baseline(base, now, args):
    """The keys not back at their baseline (empty when all are)."""
    late = []
    for key, _, rule in MEMORY_KEYS:
        if rule == "tolerance" and now[key] > base[key] + args.heap_tolerance:
            late.append(key)
        elif rule == "lwip" and now[key] > base[key] + args.lwip_tolerance:
            late.append(key)
        elif rule == "no higher" and now[key] > base[key]:
            late.append(key)
    return late


def settle(server, base, args):
    """Polls the counters after the load until they are back at the
    baseline and unchanged twice in a row, or --settle-timeout passes.
    Returns (figures, seconds waited, keys still not back)."""
    start = time.monotonic()
    previous = None
    while True:
        now = server.counters()
        waited = time.monotonic() - start
        if now is None:
            return None, waited, ["counters"]
        late = back_at_baseline(base, now, args)
        steady = previous is not None and all(
            now[key] == previous[key] for key, _, _ in MEMORY_KEYS)
        if (not late and steady) or waited > args.settle_timeout:
            return now, waited, late
        previous = now
        time.sleep(5)


# ---- Main ----

def main(argv):
    args = parse_args(argv)
    for tool, package in (("wrk", "wrk"), ("mke2fs", "e2fsprogs")):
        if shutil.which(tool) is None:
            print("soak: %s not found; install it with: apt-get install %s (or bash "
                  "tools/setup.sh)" % (tool, package), file=sys.stderr)
            return EXIT_TOOL
    image = find_image(args)
    if not os.path.exists(image):
        print("soak: %s not found; build it with: bazel build //images:webserver" % image,
              file=sys.stderr)
        return EXIT_TOOL
    out = args.out or tempfile.mkdtemp(prefix="uk-soak-")
    os.makedirs(out, exist_ok=True)
    site = os.path.join(out, "site")
    mix, large = make_site(site)
    script = os.path.join(out, "mix.lua")
    write_wrk_script(script, mix)
    port = args.port or free_port()
    log("booting %s on port %d (serial log: %s)" % (image, port, os.path.join(out, "serial.log")))
    server = Server(image, port, site, args.mem, os.path.join(out, "serial.log"))
    try:
        return soak(args, server, script, large)
    finally:
        server.stop()
        if not args.out and not args.keep:
            shutil.rmtree(out, ignore_errors=True)
        else:
            log("kept %s" % out)


def soak(args, server, script, large):
    if not server.wait_up():
        log("the server did not come up; its console:\n" + "".join(server.lines_since(0))[-3000:])
        return EXIT_SERVER
    # Warm-up: a short wrk run fills whatever caches there are, then the
    # connections drain before the baseline.
    log("warm-up: wrk 10 s over the mix")
    run_wrk(server.port, script, 10, args.wrk_connections)
    time.sleep(5)
    base = server.counters()
    if base is None:
        log("the memory counters' lines were not found on the console after pressing `s` "
            "(the image predates them?); the load runs anyway, without the memory check")
    else:
        log("baseline: heap %(heap)d B, lwip heap %(lwip_heap)d B, pool %(pool)d, "
            "sockets %(sockets)d, connections %(connections)d" % base)

    tally = Tally()
    stop = threading.Event()
    threads = [threading.Thread(target=slowloris, args=(server.port, stop, tally))
               for _ in range(args.slowloris)]
    threads += [threading.Thread(target=slow_reader, args=(server.port, large, stop, tally))
                for _ in range(args.slow_readers)]
    if args.syn_rate > 0:
        threads.append(threading.Thread(
            target=syn_trickle, args=(server.port, args.syn_rate, args.syn_hold, stop, tally)))
    for thread in threads:
        thread.daemon = True
        thread.start()

    log("load: %d s of wrk -t1 -c%d (%d-s runs), %d slowloris, %d slow readers, "
        "%.1f abandoned connections/s" % (args.duration, args.wrk_connections,
                                          args.wrk_segment, args.slowloris,
                                          args.slow_readers, args.syn_rate))
    requests, errors, elapsed = 0, {kind: 0 for kind in WRK_ERROR_KINDS}, 0.0
    start = time.monotonic()
    while time.monotonic() - start < args.duration - 1:
        seconds = min(args.wrk_segment, max(1, round(args.duration - (time.monotonic() - start))))
        t0 = time.monotonic()
        count, figures, output = run_wrk(server.port, script, seconds, args.wrk_connections)
        elapsed += time.monotonic() - t0
        requests += count
        for kind in WRK_ERROR_KINDS:
            errors[kind] += figures[kind]
        if any(figures.values()):
            log("wrk errors in this run:\n" + output)
        log("%4d s: %d requests (%.0f/s this run), wrk errors %d, slowloris cut %d, "
            "slow reads %d whole %d cut, %d abandoned connections"
            % (time.monotonic() - start, requests, count / seconds, sum(errors.values()),
               tally.get("slowloris cut"), tally.get("slow reads whole"),
               tally.get("slow reads cut"), tally.get("syn opened")))
        if server.vm.poll() is not None:
            log("the VM stopped")
            return EXIT_SERVER
    stop.set()
    for thread in threads:
        thread.join(timeout=70)
    load_seconds = time.monotonic() - start

    final, waited, late = (None, 0.0, [])
    if base is not None:
        log("load stopped; waiting for connections to drain (up to %d s)" % args.settle_timeout)
        final, waited, late = settle(server, base, args)
    alive = server.vm.poll() is None
    try:
        after_status = http_get(server.port, "/index.html")[0]
    except OSError:
        after_status = 0

    print()
    print("| soak, %d s of load | |" % round(load_seconds))
    print("| --- | --- |")
    print("| wrk requests | %d |" % requests)
    print("| wrk requests/s | %.0f |" % (requests / elapsed if elapsed else 0))
    print("| wrk errors (connect/read/write/timeout/non-2xx) | %d (%s) |"
          % (sum(errors.values()), "/".join(str(errors[k]) for k in WRK_ERROR_KINDS)))
    print("| slowloris clients cut off (408 seen) | %d (%d) |"
          % (tally.get("slowloris cut"), tally.get("slowloris 408")))
    print("| slow reads of 64 KiB whole / cut | %d / %d |"
          % (tally.get("slow reads whole"), tally.get("slow reads cut")))
    print("| abandoned connections (failed to open) | %d (%d) |"
          % (tally.get("syn opened"), tally.get("syn failed")))
    print("| GET / after the soak | %s |" % (after_status or "no answer"))
    print()
    if base is None or final is None:
        print("memory: the counters' lines (\"memory: heap ...\", \"net: lwip heap ...\", "
              "\"webserver: N connections open ...\") were not found on the console; "
              "no memory check")
    else:
        print("| memory (after %.0f s of draining) | baseline | final | back? |" % waited)
        print("| --- | --- | --- | --- |")
        for key, label, rule in MEMORY_KEYS:
            verdict = "-" if rule == "info" else ("no" if key in late else "yes")
            print("| %s | %d | %d | %s |" % (label, base[key], final[key], verdict))
        print("(heap tolerance %d B, lwip heap tolerance %d B; pool, tcp active, sockets and "
              "connections no higher than the baseline)" % (args.heap_tolerance,
                                                            args.lwip_tolerance))
        print("served %d, refused busy %d, refused memory %d, evicted %d; heap high %d B, "
              "lwip heap high %d B, pool high %d, pages low %d"
              % (final["served"], final["refused_busy"], final["refused_memory"],
                 final["evicted"], final["heap_high"], final["lwip_heap_high"],
                 final["pool_high"], final["pages_low"]))
    print()
    if not alive or after_status != 200:
        log("FAIL: the server is not answering after the soak")
        return EXIT_SERVER
    if sum(errors.values()) > 0:
        log("FAIL: wrk reported %d errors" % sum(errors.values()))
        return EXIT_FAILED
    if base is None or final is None:
        log("no memory figures: the console has no counter lines")
        return EXIT_NO_COUNTERS
    if late:
        log("FAIL: not back at the baseline: %s" % ", ".join(late))
        return EXIT_FAILED
    log("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
