#!/usr/bin/env python3
"""Measures how long an image takes from QEMU start to a given line.

    bazel build //images:hello
    python3 tools/boot_time.py --runs=10 -- bazel-bin/images/hello --smp=4

Starts the command RUNS times, timestamps every line it prints, and reports
the time from start to the last line matching --until (default: the last
"hello from cpu" line of a run) and to process exit: min, median, max.

With --http=URL it measures QEMU start to the first HTTP 200 from URL
instead, then stops the VM (SIGTERM to the runner):

    bazel build //images:webserver
    python3 tools/boot_time.py --runs=10 --http=http://127.0.0.1:8080/ \
        -- bazel-bin/images/webserver --machine=microvm
"""

import argparse
import re
import signal
import statistics
import subprocess
import sys
import time
import urllib.request


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


def one_http_run(command, url):
    """Seconds from start to the first 200 from `url`; the VM is stopped."""
    start = time.monotonic()
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            stdin=subprocess.DEVNULL)
    try:
        while proc.poll() is None and time.monotonic() - start < 120:
            try:
                # Short: before the guest listens, QEMU's user networking may
                # accept the connection and then hold it without an answer.
                with urllib.request.urlopen(url, timeout=0.1) as response:
                    if response.status == 200:
                        return time.monotonic() - start
            except OSError:
                time.sleep(0.002)
        sys.exit("boot_time: no 200 from %s (the VM %s)" % (
            url, "exited %d" % proc.returncode if proc.poll() is not None else "timed out"))
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # the runner stops QEMU first
            proc.wait(timeout=30)


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
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- then the command to run")
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command to run after --")
    if args.http:
        times = []
        for i in range(args.runs):
            times.append(one_http_run(command, args.http) * 1000)
            print("run %2d: first 200 at %7.1f ms" % (i + 1, times[-1]), file=sys.stderr)
        print("to first 200  min %7.1f ms  median %7.1f ms  max %7.1f ms  (%d runs)" % (
            min(times), statistics.median(times), max(times), len(times)))
        return
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
