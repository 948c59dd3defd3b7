#!/usr/bin/env python3
"""Request-response latency and host CPU per transaction, per idle policy.

    bazel build //images:echo //tools:tcp_rr
    python3 tools/rr_cpu.py [--policies=halt,adaptive,poll] [--rounds=2] \\
        [--seconds=10] [--connections=1] [-- EXTRA IMAGE FLAGS...]

A measurement tool, not a test. For each round and each policy it boots
//images:echo with --idle_policy=POLICY (QEMU started by this tool, from the
launcher's --print-command, so it knows QEMU's PID), waits for
`echo: listening`, measures QEMU's CPU over --idle-seconds of idleness, then
runs //tools:tcp_rr for --seconds (after its warm-up) and reads QEMU's CPU
time at the start and the end of tcp_rr's measured window (timed from
tcp_rr's start, so to within a few ms). Host CPU per
transaction = QEMU CPU time in that window / transactions in it (QEMU's
process CPU-time clock, all threads; idle_cpu.py's ClockSource).

Policies run interleaved (halt, adaptive, poll, halt, ...) so drift on a
shared host spreads over all of them. Prints one row per run and a median
row per policy, each with the host's 1-minute load average before the boot
(other work on the host skews everything); --json prints JSON instead.
Idle CPU is % of one host core; load CPU likewise, over tcp_rr's window.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import idle_cpu  # noqa: E402  (Guest, qemu_command, CPU time sources)

READY = "echo: listening"
FIELDS = ("transactions", "tps", "median_us", "p90_us", "p99_us")


def parse_tcp_rr(stdout):
    """The numbers of tcp_rr's `tcp_rr: mode=rr ... key=value` line, or None."""
    for line in stdout.splitlines():
        if line.startswith("tcp_rr: mode=rr "):
            pairs = dict(word.split("=", 1) for word in line.split()[1:] if "=" in word)
            try:
                return {k: float(pairs[k]) for k in FIELDS}
            except (KeyError, ValueError):
                return None
    return None


def per_transaction_us(cpu_seconds, transactions):
    return cpu_seconds * 1e6 / transactions if transactions > 0 else float("nan")


def repo_path(*parts):
    return os.path.join(os.environ.get("BUILD_WORKSPACE_DIRECTORY", os.getcwd()), *parts)


def wait_ready(guest, timeout):
    deadline = time.monotonic() + timeout
    while "ready" not in guest.events:
        if guest.exited() is not None:
            raise idle_cpu.GuestFailure(1, "QEMU exited before %r" % READY)
        if time.monotonic() > deadline:
            raise idle_cpu.GuestFailure(124, "no %r within %g s" % (READY, timeout))
        guest.wake.wait(0.1)


def run_one(args, policy):
    image = [repo_path("bazel-bin", "images", "echo"), "--port=%d" % args.port,
             "--idle_policy=" + policy] + args.image_flags
    guest = idle_cpu.Guest(idle_cpu.qemu_command(image), args.verbose)
    try:
        loadavg = os.getloadavg()[0]  # the host's 1-min load before this boot
        guest.start()
        source = idle_cpu.ClockSource(guest.proc.pid)
        guest.start_reader(lambda kind: None)
        wait_ready(guest, args.timeout)
        time.sleep(args.settle)
        idle0 = source.read()
        time.sleep(args.idle_seconds)
        idle_cpu_s = source.read() - idle0

        rr = subprocess.Popen(
            [repo_path("bazel-bin", "tools", "tcp_rr"), "--port=%d" % args.port,
             "--seconds=%g" % args.seconds, "--warmup_seconds=%g" % args.warmup,
             "--connections=%d" % args.connections, "--size=%d" % args.size],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # QEMU's CPU time at the start and the end of tcp_rr's measured
        # window (it starts after the warm-up), not at tcp_rr's exit: a slow
        # policy can keep it waiting for a last answer well past the window.
        marks = {}
        timers = [threading.Timer(at, lambda name=name: marks.setdefault(name, source.read()))
                  for name, at in (("start", args.warmup), ("end", args.warmup + args.seconds))]
        for timer in timers:
            timer.start()
        out, err = rr.communicate(timeout=args.warmup + args.seconds + 60)
        for timer in timers:
            timer.join()
        if rr.returncode != 0 or len(marks) != 2:
            raise idle_cpu.GuestFailure(1, "tcp_rr failed (%d): %s" % (rr.returncode, err.strip()))
        numbers = parse_tcp_rr(out)
        if numbers is None:
            raise idle_cpu.GuestFailure(1, "no result line from tcp_rr:\n" + out)
        load_cpu_s = marks["end"] - marks["start"]
        return dict(policy=policy, loadavg=loadavg, idle_cpu_pct=100 * idle_cpu_s / args.idle_seconds,
                    load_cpu_pct=100 * load_cpu_s / args.seconds,
                    cpu_us_per_txn=per_transaction_us(load_cpu_s, numbers["transactions"]),
                    **numbers)
    finally:
        guest.stop()


def print_rows(rows, title):
    print(title)
    print("%-9s %8s %10s %9s %9s %9s %11s %12s %8s %5s" % (
        "policy", "txns/s", "median us", "p90 us", "p99 us", "idle CPU", "load CPU",
        "CPU us/txn", "loadavg", "runs"))
    for r in rows:
        print("%-9s %8.0f %10.0f %9.0f %9.0f %8.2f%% %10.1f%% %12.1f %8.2f %5s" % (
            r["policy"], r["tps"], r["median_us"], r["p90_us"], r["p99_us"], r["idle_cpu_pct"],
            r["load_cpu_pct"], r["cpu_us_per_txn"], r["loadavg"], r.get("runs", 1)))


def medians(rows, policies):
    out = []
    for policy in policies:
        mine = [r for r in rows if r["policy"] == policy]
        if mine:
            keys = [k for k in mine[0] if k != "policy"]
            row = {k: statistics.median(r[k] for r in mine) for k in keys}
            out.append(dict(policy=policy, runs=len(mine), **row))
    return out


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="rr_cpu.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--policies", default="halt,adaptive,poll")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=10.0, help="tcp_rr's measured window")
    parser.add_argument("--warmup", type=float, default=1.0, help="tcp_rr's warm-up")
    parser.add_argument("--connections", type=int, default=1)
    parser.add_argument("--size", type=int, default=1)
    parser.add_argument("--idle-seconds", type=float, default=5.0)
    parser.add_argument("--settle", type=float, default=2.0,
                        help="seconds after `echo: listening` before the idle window")
    parser.add_argument("--port", type=int, default=8007)
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument("image_flags", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    if args.image_flags[:1] == ["--"]:
        args.image_flags = args.image_flags[1:]
    args.policies = [p for p in args.policies.split(",") if p]
    if args.rounds < 1 or not args.policies or not args.seconds > 0:
        parser.error("need --rounds >= 1, at least one policy and --seconds > 0")
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    idle_cpu.set_ready_text(READY)
    rows = []
    try:
        for round_ in range(args.rounds):
            for policy in args.policies:
                print("rr_cpu: round %d, --idle_policy=%s" % (round_ + 1, policy), file=sys.stderr)
                rows.append(run_one(args, policy))
    except idle_cpu.GuestFailure as e:
        print("rr_cpu: " + str(e), file=sys.stderr)
        return e.status
    if args.json:
        print(json.dumps({"runs": rows, "medians": medians(rows, args.policies)}, indent=1))
        return 0
    print_rows(rows, "every run (%s)" % time.strftime("%Y-%m-%d %H:%M"))
    print()
    print_rows(medians(rows, args.policies), "medians per policy")
    return 0


if __name__ == "__main__":
    sys.exit(main())
