#!/usr/bin/env python3
"""Measures how much host CPU a QEMU guest burns while idle and after a burst.

    bazel build //images:ringbench
    python3 tools/idle_cpu.py [--seconds=20] -- bazel-bin/images/ringbench [IMAGE FLAGS...]
    python3 tools/idle_cpu.py --burst [--sample-ms=100] -- bazel-bin/images/ringbench [...]

A measurement tool, not a test. It asks the image's launcher for the QEMU
command line (IMAGE FLAGS... --print-command), starts QEMU itself so it knows
QEMU's PID, timestamps every serial line, and samples QEMU's CPU time
(all threads) every --sample-ms. CPU% is of one host core: 100% = one core
busy for the whole interval.

Protocol (serial lines printed by the guest; a line matches if it contains
the text):
  idle (default)  `ringbench: ready`, then the tool waits 1 s to settle and
                  measures for --seconds: total CPU% and one row per second.
  --burst         `ringbench: burst start` ... `ringbench: burst end`; the
                  tool samples from QEMU start to 3 s after the end and
                  reports the idle second before the start, the burst, and
                  [end, end+1 s], [end+1 s, end+2 s], [end+2 s, end+3 s],
                  then every sample interval as `t_ms cpu_percent` rows
                  (t_ms = end of the interval, relative to burst end).
Whatever makes the guest start the burst is up to the image and its flags.

CPU time source (--source=auto picks the first that works; the report says
which one was used):
  clock      clock_gettime() on QEMU's process CPU-time clock: ns
             resolution, all threads including ones that already exited.
  schedstat  sum over /proc/PID/task/*/schedstat (ns); a thread that exits
             keeps its last sampled value, so up to one sample interval of
             its CPU time can be lost.
  stat       utime+stime of /proc/PID/stat in clock ticks (usually 10 ms):
             over 20 s one tick is 0.05% of a core, so figures carry a
             +/- one-tick resolution.
Every sample also records the stat ticks, and every window reports them,
as a cross-check in the kernel's own coarse accounting.

Results go to stdout (--json: one JSON document instead of text); progress
and errors go to stderr. --verbose also copies the serial console to stderr.

Exit status: 0 measured; 1 QEMU exited before the measurement finished, or
the QEMU command could not be obtained (the last 30 serial lines are
printed); 124 an expected line did not arrive within --timeout seconds of
QEMU start; 2 bad usage; 130 interrupted. QEMU is stopped (SIGTERM, SIGKILL
after 2 s) on every path.

The QEMU command comes from the launcher's --print-command (images/run.py
prints it shell-quoted on stdout and exits without booting).
"""

import argparse
import collections
import json
import math
import os
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time

READY = "ringbench: ready"
BURST_START = "ringbench: burst start"
BURST_END = "ringbench: burst end"
MARKERS = (("ready", READY), ("burst_start", BURST_START), ("burst_end", BURST_END))

SETTLE_S = 1.0          # idle mode: wait this long after `ready` (--settle)
BEFORE_BURST_S = 1.0    # burst mode: the idle window before `burst start`
AFTER_BURST_S = 3.0     # burst mode: keep sampling this long after `burst end`
TAIL_LINES = 30
STOP_GRACE_S = 2.0
PRINT_COMMAND_TIMEOUT_S = 60.0

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_TIMEOUT = 124
EXIT_INTERRUPTED = 130

QEMU_DEFAULT = "qemu-system-x86_64"

Sample = collections.namedtuple("Sample", "t cpu ticks kind")
"""t: time.monotonic() s; cpu: QEMU CPU s by the chosen source; ticks: stat
utime+stime; kind: "grid" (periodic) or "marker:NAME" (taken on a serial line)."""


class GuestFailure(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


# ---------------------------------------------------------------- pure parts


def parse_stat(text):
    """Parses /proc/PID/stat content: {"pid", "comm", "state", "utime", "stime"}.

    comm is in parentheses and may itself hold spaces and parentheses, so
    the fields after it are taken from the last ')'. utime and stime (fields
    14 and 15, counting from 1) are in clock ticks.
    """
    open_paren = text.index("(")
    close_paren = text.rindex(")")
    rest = text[close_paren + 1:].split()
    # rest[0] is field 3 (state); field N is rest[N - 3].
    if len(rest) < 13:
        raise ValueError("short /proc/PID/stat line: %r" % text)
    return {
        "pid": int(text[:open_paren]),
        "comm": text[open_paren + 1:close_paren],
        "state": rest[0],
        "utime": int(rest[14 - 3]),
        "stime": int(rest[15 - 3]),
    }


def cpu_percent(cpu_seconds, wall_seconds):
    """CPU use over an interval as a percentage of one core."""
    if wall_seconds <= 0:
        raise ValueError("empty interval")
    return cpu_seconds / wall_seconds * 100.0


def resolution_percent(resolution_seconds, wall_seconds):
    """How many percent of one core one unit of the counter is over wall_seconds.

    A difference of two readings of a counter that truncates to units of
    resolution_seconds is off by less than one unit either way.
    """
    return cpu_percent(resolution_seconds, wall_seconds)


def nearest(samples, t, slack, after=None):
    """The sample closest to time t, at most slack away (and later than
    after, if given), or None. Ties go to the earlier sample."""
    best = None
    for s in samples:
        if abs(s.t - t) > slack or (after is not None and s.t <= after):
            continue
        if best is None or abs(s.t - t) < abs(best.t - t):
            best = s
    return best


def window(samples, start, end, slack, clk_tck=100):
    """CPU use between times start and end from a time-ordered sample list.

    Uses the sample nearest start and the one nearest end, each within slack
    of its boundary (samples are taken on a grid and on marker lines, so a
    boundary normally has a sample within a few ms). Returns None when there
    are not two distinct samples; otherwise a dict with the interval the
    samples really cover (t_start, t_end, wall_s), cpu_s, percent, ticks and
    ticks_percent (the same from /proc/PID/stat) and ticks_resolution_percent.
    """
    a = nearest(samples, start, slack)
    if a is None:
        return None
    b = nearest(samples, end, slack, after=a.t)
    if b is None:
        return None
    wall = b.t - a.t
    cpu = b.cpu - a.cpu
    ticks = b.ticks - a.ticks
    return {
        "t_start": a.t,
        "t_end": b.t,
        "wall_s": wall,
        "cpu_s": cpu,
        "percent": cpu_percent(cpu, wall),
        "ticks": ticks,
        "ticks_percent": cpu_percent(ticks / clk_tck, wall),
        "ticks_resolution_percent": resolution_percent(1.0 / clk_tck, wall),
    }


ALL_KINDS = ("grid",) + tuple("marker:" + name for name, _ in MARKERS)


def series(samples, origin, kinds=("grid",)):
    """[(t_ms, percent)] for consecutive samples of the given kinds.

    t_ms is the end of each interval relative to origin; percent is the CPU
    use over (previous sample, this sample].
    """
    picked = [s for s in samples if s.kind in kinds]
    rows = []
    for a, b in zip(picked, picked[1:]):
        if b.t > a.t:
            rows.append(((b.t - origin) * 1000.0, cpu_percent(b.cpu - a.cpu, b.t - a.t)))
    return rows


def idle_windows(samples, t0, seconds, slack, clk_tck=100):
    """The whole idle window [t0, t0+seconds] and one window per full second."""
    total = window(samples, t0, t0 + seconds, slack, clk_tck)
    per_second = [window(samples, t0 + i, t0 + i + 1, slack, clk_tck)
                  for i in range(int(seconds + 1e-9))]
    return total, per_second


def burst_windows(samples, start, end, slack, clk_tck=100):
    """[(label, window)] for the idle second before the burst, the burst, and
    the seconds after it."""
    spans = [("idle 1 s before start", start - BEFORE_BURST_S, start),
             ("burst", start, end)]
    for i in range(int(AFTER_BURST_S)):
        spans.append(("end+%d s .. end+%d s" % (i, i + 1), end + i, end + i + 1))
    return [(label, window(samples, lo, hi, slack, clk_tck)) for label, lo, hi in spans]


def grid_next(origin, step, now):
    """The first time origin + k*step (k any integer) strictly after now."""
    k = math.floor((now - origin) / step + 1e-9) + 1  # 1e-9: now on a tick is not before it
    return origin + k * step


def guest_status_text(qemu_status):
    """How images/run.py reads a QEMU exit status (kernel/arch/power.h)."""
    if qemu_status >= 3 and qemu_status % 2 == 1:
        return ": guest status %d" % ((qemu_status >> 1) - 1)
    if qemu_status == 0:
        return ": no guest status, triple fault or monitor quit"
    return ""


def command_from_output(stdout):
    """QEMU's argv from a launcher's --print-command output: its last
    non-empty stdout line, shell-quoted. None if there is none."""
    lines = [line for line in stdout.splitlines() if line.strip()]
    if not lines:
        return None
    try:
        return shlex.split(lines[-1])
    except ValueError:
        return None


# ------------------------------------------------------------ CPU time sources


class StatSource:
    name = "stat"
    description = "utime+stime from /proc/PID/stat, clock ticks"

    def __init__(self, pid):
        self.path = "/proc/%d/stat" % pid
        self.clk_tck = os.sysconf("SC_CLK_TCK")
        self.resolution = 1.0 / self.clk_tck
        self.read_ticks()

    def read_ticks(self):
        with open(self.path) as f:
            fields = parse_stat(f.read())
        return fields["utime"] + fields["stime"]

    def read(self):
        return self.read_ticks() / self.clk_tck


class ClockSource:
    name = "clock"
    description = ("clock_gettime on QEMU's process CPU-time clock, ns, "
                   "all threads including exited ones")
    resolution = 1e-9

    def __init__(self, pid):
        # Linux's clock id for another process's CPU time, what
        # clock_getcpuclockid(3) returns: MAKE_PROCESS_CPUCLOCK(pid, CPUCLOCK_SCHED).
        self.clock_id = ((~pid) << 3) | 2
        self.read()

    def read(self):
        return time.clock_gettime(self.clock_id)


class SchedstatSource:
    name = "schedstat"
    description = ("sum of /proc/PID/task/*/schedstat run times, ns; an exiting "
                   "thread loses at most its last sample interval")
    resolution = 1e-9

    def __init__(self, pid):
        self.task_dir = "/proc/%d/task" % pid
        self.last = {}      # tid -> last run time seen, ns
        self.retired = 0    # ns of tids that were reused by a new thread
        if not os.path.exists("/proc/%d/schedstat" % pid):
            raise OSError("no schedstat (kernel without CONFIG_SCHEDSTATS?)")
        self.read()

    def read(self):
        for tid in os.listdir(self.task_dir):
            try:
                with open(os.path.join(self.task_dir, tid, "schedstat")) as f:
                    ns = int(f.read().split()[0])
            except (OSError, ValueError, IndexError):
                continue  # the thread exited meanwhile
            old = self.last.get(tid)
            if old is not None and ns < old:
                self.retired += old  # tid reused by a new thread
            self.last[tid] = ns
        return (sum(self.last.values()) + self.retired) / 1e9


SOURCES = {"clock": ClockSource, "schedstat": SchedstatSource, "stat": StatSource}


def open_source(choice, pid):
    order = ["clock", "schedstat", "stat"] if choice == "auto" else [choice]
    errors = []
    for name in order:
        try:
            return SOURCES[name](pid)
        except (OSError, ValueError) as e:
            errors.append("%s: %s" % (name, e))
    raise GuestFailure(EXIT_FAILED, "no CPU time source works: " + "; ".join(errors))


class Sampler:
    """Time-ordered samples of QEMU's CPU time, safe to take from two threads."""

    def __init__(self, source, stat):
        self.source = source
        self.stat = stat
        self.lock = threading.Lock()
        self.samples = []

    def sample(self, kind):
        with self.lock:
            try:
                # The read is timed at its midpoint; a read that took long
                # (this thread was descheduled, or waited for the GIL) is
                # repeated, so short intervals stay meaningful.
                for _ in range(3):
                    t1 = time.monotonic()
                    if self.source is self.stat:
                        ticks = self.stat.read_ticks()
                        cpu = ticks / self.stat.clk_tck
                    else:
                        cpu = self.source.read()
                    t2 = time.monotonic()
                    if t2 - t1 < 0.0005:
                        break
                if self.source is not self.stat:
                    ticks = self.stat.read_ticks()
            except (OSError, ValueError):
                return None  # QEMU is gone
            s = Sample((t1 + t2) / 2, cpu, ticks, kind)
            self.samples.append(s)
            return s

    def snapshot(self):
        with self.lock:
            return list(self.samples)


# ------------------------------------------------------------------- QEMU


def launcher_env():
    """Our environment minus Bazel runfiles variables: under `bazel run` they
    point at this tool's runfiles, and the image launcher would look for its
    kernel there."""
    env = dict(os.environ)
    for name in ("RUNFILES_DIR", "RUNFILES_MANIFEST_FILE", "JAVA_RUNFILES", "PYTHON_RUNFILES"):
        env.pop(name, None)
    return env


def qemu_command(image_argv):
    """Runs IMAGE FLAGS --print-command and returns QEMU's argv."""
    cmd = list(image_argv) + ["--print-command"]
    try:
        result = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                errors="replace", env=launcher_env(),
                                timeout=PRINT_COMMAND_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise GuestFailure(EXIT_FAILED, "cannot run %s: %s" % (shlex.join(cmd), e))
    argv = command_from_output(result.stdout) if result.returncode == 0 else None
    if not argv:
        raise GuestFailure(EXIT_FAILED,
                           "no QEMU command from %s (exit status %s)\nstdout:\n%s\nstderr:\n%s" % (
                               shlex.join(cmd), result.returncode, result.stdout, result.stderr))
    if shutil.which(argv[0]) is None:
        raise GuestFailure(EXIT_FAILED, "%s not found; install it with: apt-get install "
                           "qemu-system-x86" % argv[0])
    return argv


class Guest:
    """QEMU with its serial console read line by line on a thread."""

    def __init__(self, argv, verbose, keyboard=False):
        self.argv = argv
        self.verbose = verbose
        self.keyboard = keyboard                     # stdin a pipe, for type_key
        self.lines = collections.deque(maxlen=1000)  # (t, text)
        self.events = {}                             # marker name -> time
        self.wake = threading.Event()                # set on marker lines and EOF
        self.proc = None
        self.reader = None
        self.on_marker = None
        self.start_t = None

    def start(self):
        self.start_t = time.monotonic()
        try:
            self.proc = subprocess.Popen(
                self.argv, stdin=subprocess.PIPE if self.keyboard else subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
        except OSError as e:
            raise GuestFailure(EXIT_FAILED, "cannot start %s: %s" % (self.argv[0], e))

    def start_reader(self, on_marker):
        self.on_marker = on_marker
        self.reader = threading.Thread(target=self._read, name="serial", daemon=True)
        self.reader.start()

    def _read(self):
        for raw in iter(self.proc.stdout.readline, b""):
            t = time.monotonic()
            text = raw.decode("utf-8", "replace").rstrip("\r\n")
            for name, needle in MARKERS:
                if name not in self.events and needle in text:
                    s = self.on_marker("marker:" + name)
                    self.events[name] = s.t if s else t
                    self.wake.set()
            self.lines.append((t, text))
            if self.verbose:
                sys.stderr.write(text + "\n")
                sys.stderr.flush()
        self.wake.set()

    def type_key(self, key):
        """Types `key` on the serial console (needs keyboard=True)."""
        try:
            self.proc.stdin.write(key.encode())
            self.proc.stdin.flush()
        except (OSError, ValueError, AttributeError):
            pass

    def exited(self):
        """QEMU's exit status once it has exited and its output is read, else None."""
        if self.proc.poll() is None:
            return None
        self.reader.join(STOP_GRACE_S)
        return self.proc.returncode

    def tail(self, n=TAIL_LINES):
        return [text for _, text in list(self.lines)[-n:]]

    def _signal_group(self, sig):
        # QEMU leads its own process group (start_new_session); anything it
        # started, which could hold the serial pipe open, is in it too.
        try:
            os.killpg(self.proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self._signal_group(signal.SIGTERM)
            try:
                self.proc.wait(STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                self.proc.wait()
        if self.reader is not None:
            self.reader.join(STOP_GRACE_S)
            if self.reader.is_alive():  # a leftover child still holds the pipe
                self._signal_group(signal.SIGKILL)
                self.reader.join(STOP_GRACE_S)


def run_until(guest, sampler, done, origin, step, deadline, what):
    """Samples every step s on a grid through origin until done() is true.

    Raises GuestFailure(1) if QEMU exits first and GuestFailure(124) at the
    deadline (None: no deadline).
    """
    next_t = grid_next(origin, step, time.monotonic())
    while True:
        guest.wake.clear()
        if done():
            return
        status = guest.exited()
        if status is not None:
            if done():  # the line was still in the pipe
                return
            raise GuestFailure(EXIT_FAILED, "QEMU exited (status %d%s) %.2f s after start, %s"
                               % (status, guest_status_text(status),
                                  time.monotonic() - guest.start_t, what))
        now = time.monotonic()
        if deadline is not None and now >= deadline:
            raise GuestFailure(EXIT_TIMEOUT, "timed out after %g s %s"
                               % (deadline - guest.start_t, what))
        if now >= next_t:
            sampler.sample("grid")
            next_t = grid_next(origin, step, max(now, next_t))
            continue
        wait = next_t - now
        if deadline is not None:
            wait = min(wait, max(0.0, deadline - now))
        guest.wake.wait(wait)


def sampled_past(sampler, t):
    def check():
        samples = sampler.samples
        return bool(samples) and samples[-1].t >= t - 1e-6
    return check


def event_seen(guest, name):
    return lambda: name in guest.events


# ------------------------------------------------------------------- report


def source_line(source):
    return "source: %s (%s)" % (source.name, source.description)


def format_window(label, w, source, clk_tck):
    if w is None:
        return "%-22s  n/a (not enough samples)" % label
    text = "%-22s %7.3f %10.3f %8.3f%%" % (label, w["wall_s"], w["cpu_s"] * 1000, w["percent"])
    if source.name == "stat":
        text += " +/- %.3f%%" % w["ticks_resolution_percent"]
    text += "   %4d ticks = %.3f%% +/- %.3f%%" % (
        w["ticks"], w["ticks_percent"], w["ticks_resolution_percent"])
    return text


def window_header(clk_tck):
    return "%-22s %7s %10s %9s   stat cross-check (1 tick = %g ms)" % (
        "window", "wall_s", "cpu_ms", "cpu_%", 1000.0 / clk_tck)


def relative(w, origin):
    if w is None:
        return None
    w = dict(w)
    w["t_start"] -= origin
    w["t_end"] -= origin
    return w


def report(args, guest, sampler, source, result):
    clk_tck = sampler.stat.clk_tck
    samples = sampler.snapshot()
    start = guest.start_t
    doc = {
        "mode": "burst" if args.burst else "idle",
        "source": source.name,
        "source_description": source.description,
        "clk_tck": clk_tck,
        "sample_ms": args.sample_ms,
        "qemu_pid": guest.proc.pid,
        "command": guest.argv,
        "events_s": {name: t - start for name, t in sorted(guest.events.items())},
        "samples": [[s.t - start, s.cpu, s.ticks, s.kind] for s in samples],
        "times": "seconds relative to QEMU start unless noted",
    }
    doc.update(result(samples, doc))
    if args.json:
        json.dump(doc, sys.stdout, indent=1)
        sys.stdout.write("\n")
        return
    out = []
    out.append(source_line(source))
    out.append("QEMU pid %d; %s" % (guest.proc.pid, ", ".join(
        "%s at %.3f s" % (name, t) for name, t in sorted(doc["events_s"].items(),
                                                           key=lambda kv: kv[1]))))
    header = window_header(clk_tck)
    if not args.burst:
        w = doc["idle"]
        if w is None:
            out.append("idle: n/a (not enough samples)")
        else:
            res = (" +/- %.3f%%" % w["ticks_resolution_percent"]) if source.name == "stat" else ""
            out.append("idle %.3f s from %.3f s: %.6f s CPU = %.3f%%%s of one core "
                       "(stat: %d ticks = %.3f%% +/- %.3f%%)" % (
                           w["wall_s"], w["t_start"], w["cpu_s"], w["percent"], res,
                           w["ticks"], w["ticks_percent"], w["ticks_resolution_percent"]))
        out.append("")
        out.append("per second (second 1 starts %.1f s after ready):" % args.settle)
        out.append(header)
        for i, w in enumerate(doc["per_second"]):
            out.append(format_window("second %d" % (i + 1), w, source, clk_tck))
    else:
        out.append("")
        out.append(header)
        for item in doc["windows"]:
            out.append(format_window(item["label"], item["window"], source, clk_tck))
        for note in doc["notes"]:
            out.append("note: " + note)
        out.append("")
        out.append("# CPU%% of one core over each interval between samples (every %d ms, "
                   "and at the marker lines); t_ms = interval end relative to burst end"
                   % args.sample_ms)
        out.append("t_ms cpu_percent")
        for row in doc["series"]:
            out.append("%.0f %.3f" % (row["t_ms"], row["cpu_percent"]))
    print("\n".join(out))


# ------------------------------------------------------------------- modes


def measure_idle(args, guest, sampler, step, slack):
    deadline = guest.start_t + args.timeout
    run_until(guest, sampler, event_seen(guest, "ready"), guest.start_t, step, deadline,
              "waiting for %r" % READY)
    t0 = guest.events["ready"] + args.settle
    end = t0 + args.seconds
    print("idle_cpu: %r after %.3f s; measuring %g s from %.3f s" % (
        READY, guest.events["ready"] - guest.start_t, args.seconds, t0 - guest.start_t),
        file=sys.stderr)
    run_until(guest, sampler, sampled_past(sampler, end), t0, step, None,
              "during the idle measurement")
    clk_tck = sampler.stat.clk_tck

    def result(samples, doc):
        total, per_second = idle_windows(samples, t0, args.seconds, slack, clk_tck)
        ready = guest.events["ready"]
        boot = window(samples, guest.start_t, ready, slack, clk_tck)
        return {
            "seconds": args.seconds,
            "idle": relative(total, guest.start_t),
            "per_second": [relative(w, guest.start_t) for w in per_second],
            "boot_to_ready": relative(boot, guest.start_t),
            "series_origin": "idle start (ready + %g s)" % args.settle,
            "series": [{"t_ms": t, "cpu_percent": p} for t, p in series(samples, t0)],
        }
    return result


def measure_burst(args, guest, sampler, step, slack):
    deadline = guest.start_t + args.timeout
    run_until(guest, sampler, event_seen(guest, "burst_start"), guest.start_t, step, deadline,
              "waiting for %r" % BURST_START)
    run_until(guest, sampler, event_seen(guest, "burst_end"), guest.start_t, step, deadline,
              "waiting for %r" % BURST_END)
    start, end = guest.events["burst_start"], guest.events["burst_end"]
    print("idle_cpu: burst %.3f s .. %.3f s after QEMU start; sampling %g s more" % (
        start - guest.start_t, end - guest.start_t, AFTER_BURST_S), file=sys.stderr)
    run_until(guest, sampler, sampled_past(sampler, end + AFTER_BURST_S), end, step, None,
              "within %g s after %r" % (AFTER_BURST_S, BURST_END))
    clk_tck = sampler.stat.clk_tck

    def result(samples, doc):
        notes = []
        ready = guest.events.get("ready")
        if start - BEFORE_BURST_S < guest.start_t:
            notes.append("the burst started %.3f s after QEMU start: the 'before' window "
                         "is boot time" % (start - guest.start_t))
        elif ready is not None and ready > start - BEFORE_BURST_S:
            notes.append("%r came %.3f s before the burst: the 'before' window includes boot"
                         % (READY, start - ready))
        if end < start:
            notes.append("%r came before %r" % (BURST_END, BURST_START))
        return {
            "windows": [{"label": label, "window": relative(w, guest.start_t)}
                        for label, w in burst_windows(samples, start, end, slack, clk_tck)],
            "notes": notes,
            "series_origin": "burst end",
            "series": [{"t_ms": t, "cpu_percent": p}
                       for t, p in series(samples, end, kinds=ALL_KINDS)],
        }
    return result


# ------------------------------------------------------------------- main


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="idle_cpu.py",
        usage="%(prog)s [options] -- IMAGE [IMAGE FLAGS...]",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=20.0,
                        help="idle mode: how long to measure after `ready` + --settle (default 20)")
    parser.add_argument("--settle", type=float, default=SETTLE_S,
                        help="idle mode: seconds to wait after `ready` before measuring (default "
                             "%g; e.g. 12 to skip a network image's ARP timer, which runs for "
                             "10 s after its last traffic)" % SETTLE_S)
    parser.add_argument("--burst", action="store_true",
                        help="measure around `burst start` / `burst end` instead of idle")
    parser.add_argument("--sample-ms", type=int, default=100,
                        help="sample QEMU's CPU time every this many ms (default 100)")
    parser.add_argument("--timeout", type=float, default=120.0,
                        help="seconds from QEMU start for each expected line (default 120)")
    parser.add_argument("--source", choices=["auto", "clock", "schedstat", "stat"],
                        default="auto", help="CPU time source (default: auto, see above)")
    parser.add_argument("--ready", default=READY, metavar="TEXT",
                        help="idle mode: the serial text that means the guest is up "
                             "(default %r; e.g. 'echo: listening' for //images:echo)" % READY)
    parser.add_argument("--json", action="store_true",
                        help="print everything as one JSON document instead of text")
    parser.add_argument("--verbose", action="store_true",
                        help="copy the guest's serial output to stderr")
    parser.add_argument("image", nargs=argparse.REMAINDER,
                        help="-- then the image launcher and its flags")
    args = parser.parse_args(argv)
    if args.image[:1] == ["--"]:
        args.image = args.image[1:]
    if not args.image:
        parser.error("give the image after --, e.g. -- bazel-bin/images/ringbench")
    if not args.seconds > 0:
        parser.error("--seconds must be positive")
    if not args.settle >= 0:
        parser.error("--settle must not be negative")
    if args.sample_ms < 1:
        parser.error("--sample-ms must be at least 1")
    if not args.timeout > 0:
        parser.error("--timeout must be positive")
    if not args.ready:
        parser.error("--ready must not be empty")
    set_ready_text(args.ready)
    return args


def set_ready_text(text):
    """The idle mode's start marker; the serial reader looks for MARKERS."""
    global READY, MARKERS
    READY = text
    MARKERS = (("ready", READY), ("burst_start", BURST_START), ("burst_end", BURST_END))


def on_sigterm(signum, frame):
    raise SystemExit(128 + signum)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    # Under `bazel run`, relative paths are the user's.
    if os.environ.get("BUILD_WORKING_DIRECTORY"):
        os.chdir(os.environ["BUILD_WORKING_DIRECTORY"])
    signal.signal(signal.SIGTERM, on_sigterm)
    step = args.sample_ms / 1000.0
    slack = step / 2 + 0.02
    guest = None
    try:
        qemu = qemu_command(args.image)
        print("idle_cpu: " + shlex.join(qemu), file=sys.stderr)
        guest = Guest(qemu, args.verbose)
        guest.start()
        source = open_source(args.source, guest.proc.pid)
        stat = source if isinstance(source, StatSource) else StatSource(guest.proc.pid)
        sampler = Sampler(source, stat)
        sampler.sample("grid")
        guest.start_reader(sampler.sample)
        print("idle_cpu: QEMU pid %d; %s" % (guest.proc.pid, source_line(source)),
              file=sys.stderr)
        measure = measure_burst if args.burst else measure_idle
        result = measure(args, guest, sampler, step, slack)
        guest.stop()
        report(args, guest, sampler, source, result)
        return EXIT_OK
    except GuestFailure as e:
        print("idle_cpu: " + str(e), file=sys.stderr)
        if guest is not None and guest.proc is not None:
            guest.stop()
            tail = guest.tail()
            print("idle_cpu: last %d serial lines:" % len(tail), file=sys.stderr)
            for line in tail:
                print("  " + line, file=sys.stderr)
        return e.status
    except KeyboardInterrupt:
        print("\nidle_cpu: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        if guest is not None:
            guest.stop()


if __name__ == "__main__":
    sys.exit(main())
