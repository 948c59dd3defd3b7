#!/usr/bin/env python3
"""Measures how long an image takes from QEMU start to a given line.

    bazel build //images:hello
    python3 tools/boot_time.py --runs=10 --expect=2 -- bazel-bin/images/hello

Starts the command RUNS times, timestamps every line it prints, and reports
the time from start to the last line matching --until (default: the last
"hello from cpu" line of a run) and to process exit: min, median, max.

With --http=URL it measures start to the first HTTP 200 from URL instead,
then stops the VM (SIGTERM). It also timestamps the console: the first line
(the kernel is running: QEMU's start and the firmware are behind it) and
what the kernel says of itself, `boot took N us` and the web server's
`N ms after boot` (both from the kernel's first instruction).

Several commands, each after its own `--`, are run in turn (one run of
each, RUNS times), so that a busy machine's load falls on all of them
alike; each is reported under its QEMU -machine. The web server on
microvm against pc, QEMU started directly (no runner):

    bazel build //images:webserver
    m=$(bazel-bin/images/webserver --machine=microvm --port=8097 --print-command | tail -1)
    p=$(bazel-bin/images/webserver --machine=pc --port=8097 --print-command | tail -1)
    eval "python3 tools/boot_time.py --runs=20 --http=http://127.0.0.1:8097/ -- $m -- $p"

(eval: the printed commands are shell-quoted.) The last command is the
reference: the summary gives each median as a fraction of its median.
"""

import argparse
import re
import select
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse


def one_run(command, pattern, expected):
    start = time.monotonic()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            stdin=subprocess.DEVNULL, text=True)
    last_match = None
    matches = 0
    for line in proc.stdout:
        if pattern.search(line):
            matches += 1
            last_match = time.monotonic() - start
    status = proc.wait()
    total = time.monotonic() - start
    if status != 0 or last_match is None or (expected and matches != expected):
        sys.exit("boot_time: run failed (exit %d, %d matching lines)" % (status, matches))
    return last_match, total


POLL_INTERVAL_S = 0.005


class Console:
    """The command's output, each line with its time since `start`."""

    def __init__(self, stream, start):
        self.lines = []
        self.thread = threading.Thread(target=self._read, args=(stream, start), daemon=True)
        self.thread.start()

    def _read(self, stream, start):
        for line in iter(stream.readline, b""):
            self.lines.append((time.monotonic() - start, line.decode(errors="replace")))

    def first_line_s(self):
        return self.lines[0][0] if self.lines else None

    def number(self, pattern):
        for _, line in self.lines:
            match = re.search(pattern, line)
            if match:
                return float(match.group(1))
        return None


def one_http_run(command, url):
    """A dict: seconds from start to the first 200 from `url` ("200") and to
    the first console line ("first_line"), the kernel's own "boot_us" and
    "listening_ms" (None where the console did not say). The VM is stopped.

    Overlapping attempts, a new one every 5 ms, each waited for up to 2 s:
    before the guest answers, QEMU's user networking accepts a connection
    and may hold it unanswered for a while (its SYN to the guest goes
    nowhere yet), so waiting on one attempt at a time would count that
    hold (up to the attempt's timeout) against the machine. The first
    attempt answered with a 200 ends the run."""
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme != "http" or not parsed.hostname:
        sys.exit("boot_time: --http takes an http:// URL, not %r" % url)
    address = (parsed.hostname, parsed.port or 80)
    request = ("GET %s HTTP/1.0\r\nHost: %s\r\n\r\n" % (
        parsed.path or "/", parsed.netloc)).encode()
    start = time.monotonic()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            stdin=subprocess.DEVNULL)
    console = Console(proc.stdout, start)
    attempts = {}  # socket -> [started, sent, answer so far]
    next_attempt = start
    try:
        while proc.poll() is None and time.monotonic() - start < 120:
            now = time.monotonic()
            if now >= next_attempt:
                next_attempt = now + POLL_INTERVAL_S
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                sock.setblocking(False)
                sock.connect_ex(address)
                attempts[sock] = [now, False, b""]
            for sock, state in list(attempts.items()):
                if now - state[0] > 2:
                    sock.close()
                    del attempts[sock]
            readable, writable, _ = select.select(
                [s for s, st in attempts.items() if st[1]],
                [s for s, st in attempts.items() if not st[1]],
                [], max(0, next_attempt - time.monotonic()))
            for sock in writable:
                try:
                    if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) != 0:
                        raise OSError
                    sock.send(request)
                    attempts[sock][1] = True
                except OSError:
                    sock.close()
                    del attempts[sock]
            for sock in readable:
                try:
                    data = sock.recv(64)
                except OSError:
                    data = b""
                if not data:
                    sock.close()
                    del attempts[sock]
                    continue
                answer = attempts[sock][2] + data
                attempts[sock][2] = answer
                if re.match(rb"HTTP/1\.[01] 200 ", answer):
                    ok = time.monotonic() - start
                    time.sleep(0.05)  # the console's last lines
                    return {"200": ok, "first_line": console.first_line_s(),
                            "boot_us": console.number(r"boot took (\d+) us"),
                            "listening_ms": console.number(r"listening .* (\d+) ms after boot")}
                if len(answer) >= 13:  # a status line that is not 200: keep trying
                    sock.close()
                    del attempts[sock]
        sys.exit("boot_time: no 200 from %s (the VM %s)" % (
            url, "exited %d" % proc.returncode if proc.poll() is not None else "timed out"))
    finally:
        for sock in attempts:
            sock.close()
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # the runner stops QEMU first
            proc.wait(timeout=30)
        console.thread.join(timeout=5)


def split_commands(words):
    """`-- A a -- B b` (or `A a -- B b`) -> [[A, a], [B, b]]."""
    commands, current = [], []
    for word in words[1:] if words[:1] == ["--"] else words:
        if word == "--":
            commands.append(current)
            current = []
        else:
            current.append(word)
    commands.append(current)
    return commands


def label(command, index):
    text = " ".join(command)
    match = re.search(r"-machine (\w+)|--machine=(\w+)", text)
    return match.group(1) or match.group(2) if match else "command %d" % (index + 1)


def summary(values, unit="ms"):
    values = [v for v in values if v is not None]
    if not values:
        return "-"
    return "median %7.1f %s (min %.1f, max %.1f)" % (
        statistics.median(values), unit, min(values), max(values))


def http_main(args, commands):
    results = [[] for _ in commands]
    for i in range(args.runs):
        for c, command in enumerate(commands):
            r = one_http_run(command, args.http)
            results[c].append(r)
            print("run %2d %-10s first 200 at %7.1f ms, first console line at %s ms, "
                  "kernel: boot %s us, listening %s ms" % (
                      i + 1, label(command, c), r["200"] * 1000,
                      "%.1f" % (r["first_line"] * 1000) if r["first_line"] is not None else "-",
                      "%.0f" % r["boot_us"] if r["boot_us"] is not None else "-",
                      "%.0f" % r["listening_ms"] if r["listening_ms"] is not None else "-"),
                  file=sys.stderr)
    medians = []
    for c, command in enumerate(commands):
        rows = results[c]
        medians.append(statistics.median(r["200"] * 1000 for r in rows))
        print("%s (%d runs)" % (label(command, c), len(rows)))
        print("  to first 200          %s" % summary([r["200"] * 1000 for r in rows]))
        print("  to first console line %s" % summary(
            [r["first_line"] * 1000 if r["first_line"] is not None else None for r in rows]))
        print("  kernel: boot took     %s" % summary(
            [r["boot_us"] / 1000 if r["boot_us"] is not None else None for r in rows]))
        print("  kernel: listening at  %s" % summary([r["listening_ms"] for r in rows]))
    if len(commands) > 1:
        print("medians to first 200 as a fraction of %s's: %s" % (
            label(commands[-1], len(commands) - 1),
            ", ".join("%s %.2f" % (label(command, c), medians[c] / medians[-1])
                      for c, command in enumerate(commands))))


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--until", default=r"^hello from cpu",
                        help="regex of the line that ends the measurement (last match counts)")
    parser.add_argument("--expect", type=int, default=0,
                        help="fail unless exactly this many lines match (0: any)")
    parser.add_argument("--http", metavar="URL",
                        help="measure to the first HTTP 200 from URL instead of a line")
    parser.add_argument("command", nargs=argparse.REMAINDER,
                        help="-- then the command to run (--http: several, each after --)")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    commands = split_commands(args.command)
    if any(not command for command in commands):
        parser.error("give the command to run after --")
    if args.http:
        http_main(args, commands)
        return
    if len(commands) > 1:
        parser.error("several commands: only with --http")
    command = commands[0]
    pattern = re.compile(args.until)
    firsts, totals = [], []
    for i in range(args.runs):
        line_s, total_s = one_run(command, pattern, args.expect)
        firsts.append(line_s * 1000)
        totals.append(total_s * 1000)
        print("run %2d: last line at %7.1f ms, exited at %7.1f ms" % (i + 1, firsts[-1], totals[-1]),
              file=sys.stderr)
    for name, values in (("to last line", firsts), ("to exit", totals)):
        print("%-13s min %7.1f ms  median %7.1f ms  max %7.1f ms  (%d runs)" % (
            name, min(values), statistics.median(values), max(values), len(values)))


if __name__ == "__main__":
    main()
