"""Measurement pieces: a VM under observation, HTTP readiness, wrk, CPU windows.

CPU time comes from tools/idle_cpu.py (QEMU's process CPU-time clock via
clock_gettime, /proc/PID/stat ticks as a cross-check), sampled on a 100 ms
grid from QEMU start by a thread, for the VM's whole life.
"""

import collections
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import idle_cpu  # noqa: E402  (the repo's sampler: ClockSource, StatSource, Sampler, window)
import rr_cpu    # noqa: E402  (the parser of our guest's per-core counter lines)

STOP_GRACE_S = 2.0


def log(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


class VMFailure(Exception):
    pass


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def find_qemu_descendant(pid, deadline):
    """The pid of a qemu-system-* process under `pid` (the launcher path)."""
    while time.monotonic() < deadline:
        children = collections.defaultdict(list)
        comms = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % entry) as f:
                    text = f.read()
            except OSError:
                continue
            close = text.rindex(")")
            comms[int(entry)] = text[text.index("(") + 1:close]
            children[int(text[close + 2:].split()[1])].append(int(entry))
        todo = [pid]
        while todo:
            p = todo.pop()
            if p != pid and comms.get(p, "").startswith("qemu-system"):
                return p
            todo.extend(children.get(p, []))
        time.sleep(0.01)
    return None


class VM:
    """A QEMU process: serial console to a log file, CPU sampled every step s.

    argv is either QEMU's own command line, or (launcher=True) a launcher
    that starts QEMU as a descendant, which is then looked up by name.
    """

    def __init__(self, name, argv, serial_log, ready_text, step=0.1, launcher=False):
        self.name = name
        self.argv = argv
        self.serial_log = serial_log
        self.ready_text = ready_text
        self.step = step
        self.launcher = launcher
        self.proc = None
        self.qemu_pid = None
        self.start_t = None
        self.ready_t = None
        self.console = []                       # every line: tail() and counter reads
        self.console_changed = threading.Condition()
        self.sampler = None
        self._stop = threading.Event()
        self._threads = []

    def start(self):
        self.start_t = time.monotonic()
        try:
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        except OSError as e:
            raise VMFailure("cannot start %s: %s" % (self.argv[0], e))
        self._thread(self._read)
        if self.launcher:
            self.qemu_pid = find_qemu_descendant(self.proc.pid, self.start_t + 30)
            if self.qemu_pid is None:
                self.stop()
                raise VMFailure("%s: no qemu-system process appeared under the launcher"
                                % self.name)
        else:
            self.qemu_pid = self.proc.pid
        source = idle_cpu.open_source("auto", self.qemu_pid)
        stat = source if isinstance(source, idle_cpu.StatSource) else \
            idle_cpu.StatSource(self.qemu_pid)
        self.sampler = idle_cpu.Sampler(source, stat)
        self.source = source
        self.sampler.sample("grid")
        self._thread(self._sample_loop)

    def _thread(self, target):
        t = threading.Thread(target=target, daemon=True)
        t.start()
        self._threads.append(t)

    def _read(self):
        with open(self.serial_log, "wb") as out:
            for raw in iter(self.proc.stdout.readline, b""):
                t = time.monotonic()
                out.write(raw)
                out.flush()
                text = raw.decode("utf-8", "replace").rstrip("\r\n")
                with self.console_changed:
                    self.console.append(text)
                    self.console_changed.notify_all()
                if self.ready_t is None and self.ready_text in text:
                    self.ready_t = t

    def _sample_loop(self):
        k = 1
        while not self._stop.is_set():
            target = self.start_t + k * self.step
            delay = target - time.monotonic()
            if delay > 0 and self._stop.wait(delay):
                return
            if self.sampler.sample("grid") is None:
                return  # QEMU is gone
            k = int((time.monotonic() - self.start_t) / self.step) + 1

    def type_key(self, key):
        """Types `key` on the guest's serial console (QEMU's stdin)."""
        try:
            self.proc.stdin.write(key.encode())
            self.proc.stdin.flush()
        except (OSError, ValueError):
            pass

    def read_counters(self, cores, timeout=5.0):
        """Our guest's per-core counters: types `s` and parses the `cpuN:`
        lines it prints (tools/rr_cpu.py's parser). None if they do not all
        come within `timeout` s (e.g. a Linux guest)."""
        with self.console_changed:
            start = len(self.console)
        self.type_key("s")
        deadline = time.monotonic() + timeout
        with self.console_changed:
            while True:
                found = rr_cpu.parse_counter_lines(self.console[start:])
                if len(found) >= cores:
                    return found
                left = deadline - time.monotonic()
                if left <= 0 or not self.alive():
                    return None
                self.console_changed.wait(min(left, 0.1))

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def tail(self):
        with self.console_changed:
            return "\n".join("  " + line for line in self.console[-20:])

    def stop(self):
        self._stop.set()
        if self.proc is None:
            return
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        if self.proc.poll() is None:
            for sig in (signal.SIGTERM, signal.SIGKILL):
                try:
                    os.killpg(self.proc.pid, sig)
                except (ProcessLookupError, PermissionError):
                    pass
                try:
                    self.proc.wait(STOP_GRACE_S)
                    break
                except subprocess.TimeoutExpired:
                    continue
        for t in self._threads:
            t.join(STOP_GRACE_S)

    # ---- CPU windows, times in monotonic seconds

    def window(self, start, end):
        """idle_cpu.window over [start, end]: cpu_s, percent, ticks, ..."""
        slack = self.step / 2 + 0.05
        self.wait_sampled(end)
        return idle_cpu.window(self.sampler.snapshot(), start, end, slack,
                               self.sampler.stat.clk_tck)

    def wait_sampled(self, t):
        while self.alive():
            samples = self.sampler.samples
            if samples and samples[-1].t >= t - 1e-6:
                return
            time.sleep(0.02)

    def series(self, start, end):
        """[(t_s relative to start, cpu %)] per sample interval in [start, end]."""
        picked = [s for s in self.sampler.snapshot() if start - 1e-6 <= s.t <= end + 1e-6]
        return [((b.t - start), idle_cpu.cpu_percent(b.cpu - a.cpu, b.t - a.t))
                for a, b in zip(picked, picked[1:]) if b.t > a.t]


# --------------------------------------------------------------------- HTTP


def http_get_status(port, path="/", timeout=1.0):
    """HTTP/1.0 GET; returns (status or None, body bytes read)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.settimeout(timeout)
            s.sendall(("GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n" % path).encode())
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
    except OSError:
        return None, 0
    m = re.match(rb"HTTP/1\.[01] (\d{3})", data)
    if not m:
        return None, 0
    head, _, body = data.partition(b"\r\n\r\n")
    return int(m.group(1)), len(body)


def wait_http_200(vm, port, deadline_s, interval=0.015, attempt_timeout=1.0):
    """Time (monotonic) of the first HTTP 200 for GET /, polled from QEMU start.

    A new attempt starts every `interval` s, each with its own connection
    and `attempt_timeout`: with user networking a connection made before the
    guest listens may hang until QEMU's slirp retransmits, so attempts
    overlap instead of waiting for each other. None if QEMU exits or the
    deadline passes.
    """
    done = threading.Event()
    result = []
    lock = threading.Lock()
    active = [0]

    def attempt():
        status, _ = http_get_status(port, "/", attempt_timeout)
        t = time.monotonic()
        with lock:
            active[0] -= 1
            if status == 200 and not result:
                result.append(t)
                done.set()

    deadline = vm.start_t + deadline_s
    next_t = time.monotonic()
    while not done.is_set():
        now = time.monotonic()
        if now >= deadline or not vm.alive():
            break
        if now >= next_t:
            with lock:
                busy = active[0] >= 100
                if not busy:
                    active[0] += 1
            if not busy:
                threading.Thread(target=attempt, daemon=True).start()
            next_t += interval
            if next_t < now:
                next_t = now + interval
        done.wait(max(0.0, next_t - time.monotonic()))
    done.wait(0.0)
    return result[0] if result else None


# ---------------------------------------------------------------------- wrk


def parse_duration_ms(text):
    m = re.match(r"([\d.]+)(us|ms|s|m)$", text)
    if not m:
        return None
    v, unit = float(m.group(1)), m.group(2)
    return v * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def parse_wrk(text):
    out = {"requests_per_s": None, "latency_ms": {}, "errors": {}, "non_2xx": 0,
           "requests": None}
    m = re.search(r"Requests/sec:\s*([\d.]+)", text)
    if m:
        out["requests_per_s"] = float(m.group(1))
    m = re.search(r"(\d+) requests in", text)
    if m:
        out["requests"] = int(m.group(1))
    dist = text.split("Latency Distribution", 1)
    if len(dist) == 2:
        for pct, val in re.findall(r"^\s*(\d+)%\s+(\S+)", dist[1], re.M):
            out["latency_ms"]["p%s" % pct] = parse_duration_ms(val)
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if m:
        out["errors"] = dict(zip(("connect", "read", "write", "timeout"),
                                 map(int, m.groups())))
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    if m:
        out["non_2xx"] = int(m.group(1))
    return out


def run_wrk(port, path, seconds, threads=1, connections=4, latency=True, timeout_s=2):
    """Runs wrk; returns (start, end monotonic, parsed result, raw text)."""
    cmd = ["wrk", "-t%d" % threads, "-c%d" % connections, "-d%ds" % max(1, round(seconds)),
           "--timeout", "%ds" % timeout_s]
    if latency:
        cmd.append("--latency")
    cmd.append("http://127.0.0.1:%d%s" % (port, path))
    start = time.monotonic()
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          errors="replace", stdin=subprocess.DEVNULL)
    end = time.monotonic()
    parsed = parse_wrk(proc.stdout)
    parsed["exit_status"] = proc.returncode
    parsed["command"] = " ".join(cmd)
    return start, end, parsed, proc.stdout


def check_tools():
    """[(tool, apt package)] that are missing."""
    missing = []
    for tool, package in (("qemu-system-x86_64", "qemu-system-x86"), ("wrk", "wrk"),
                          ("curl", "curl"), ("cpio", "cpio"), ("apt-get", "apt"),
                          ("dpkg-deb", "dpkg")):
        if shutil.which(tool) is None:
            missing.append((tool, package))
    return missing


# ----------------------------------------------------------------- http_load


def parse_http_load(text):
    """The key=value numbers of http_load's `http_load: ...` line, or None."""
    for line in text.splitlines():
        if line.startswith("http_load: rate="):
            out = {}
            for word in line.split()[1:]:
                key, _, value = word.partition("=")
                try:
                    out[key] = float(value)
                except ValueError:
                    out[key] = value
            return out
    return None


def run_http_load(binary, port, path, rate, seconds, warmup=1.0, connections=16,
                  timeout_ms=2000):
    """Runs tools/http_load at a fixed rate; returns (start, end of its
    measured window in monotonic s, parsed line or None, raw output)."""
    cmd = [binary, "--url=http://127.0.0.1:%d%s" % (port, path), "--rate=%g" % rate,
           "--seconds=%g" % seconds, "--warmup_seconds=%g" % warmup,
           "--connections=%d" % connections, "--timeout_ms=%d" % timeout_ms]
    start = time.monotonic()
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          errors="replace", stdin=subprocess.DEVNULL)
    parsed = parse_http_load(proc.stdout)
    if parsed is not None:
        parsed["exit_status"] = proc.returncode
        parsed["command"] = " ".join(cmd)
    return start + warmup, start + warmup + seconds, parsed, proc.stdout
