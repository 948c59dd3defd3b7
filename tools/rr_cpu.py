#!/usr/bin/env python3
"""Request-response latency and host CPU per transaction, per idle policy.

    bazel build //images:echo //tools:tcp_rr
    python3 tools/rr_cpu.py [--policies=halt,adaptive,poll] [--rounds=2] \\
        [--seconds=10] [--connections=1] [--accel=auto|tcg|kvm] [--json] \\
        [-- EXTRA IMAGE FLAGS...]

A measurement tool, not a test. For each round and each policy it boots
//images:echo with --idle_policy=POLICY (QEMU started by this tool, from the
launcher's --print-command, so it knows QEMU's PID), waits for
`echo: listening`, measures QEMU's CPU over --idle-seconds of idleness, then
runs //tools:tcp_rr for --seconds (after its warm-up) and reads QEMU's CPU
time at the start and the end of tcp_rr's measured window (timed from
tcp_rr's start, so to within a few ms). Host CPU per
transaction = QEMU CPU time in that window / transactions in it (QEMU's
process CPU-time clock, all threads; idle_cpu.py's ClockSource).

Guest counters ("exits per transaction", from the KVM talk's breakdown):
the tool types `s` on the guest's console (QEMU's stdin is a pipe) and
parses every core's `cpuN:` line (kernel/top/per_core.cc
FormatCoreCounters) twice: `before`, --counter-lead seconds before the
warm-up ends, so its few hundred bytes of console output are printed while
tcp_rr is still warming up and not in the measured window; and `after`,
right after the window's end (after the closing CPU read; tcp_rr starts no
transaction after its window ends). Both presses are timers started with
tcp_rr, like the CPU reads. Between the two reads the load ran for about
--counter-lead + --seconds, so the transactions they cover are estimated as
tcp_rr's count scaled by (time from the `before` press to the window's
end) / --seconds; each counter's difference over that estimate is a
per-transaction figure, for the whole guest and for each core:
  halts        hlt instructions executed (aborted ones are not counted)
  IPIs in      wake interrupts received (`irq wake`)
  IPIs out     wake IPIs sent (`wakeups sent`; suppressed ones are not)
  timer in     timer interrupts taken
  timer wr     timer (TSC-deadline) writes, arming or disarming
  poll hits    idle periods ended by work while polling
Under KVM each halt, IPI sent and timer write is a VM exit, so
"exits/txn (est.)" = halts + IPIs out + timer wr per transaction. It is an
estimate from the guest's own counters, not a count of exits: it leaves out
the exits of virtio-net and the console, and under TCG nothing exits at
all, but the same columns are there to compare with a KVM run
(--accel=kvm).

Policies run interleaved (halt, adaptive, poll, halt, ...) so drift on a
shared host spreads over all of them. Prints one row per run and a median
row per policy, each with the host's 1-minute load average before the boot
(other work on the host skews everything), then the same rows of guest
counters (per core too in the medians); titles say TCG or KVM, from QEMU's
command line. --json prints JSON instead: every field above per run and in
the medians, the counters under their names (halts, wake_irqs,
wakeups_sent, timer_irqs, timer_writes, poll_hits, exits_per_txn) for the
whole guest and in per_core, plus accel and counters_covered_s.
Idle CPU is % of one host core; load CPU likewise, over tcp_rr's window.
"""

import argparse
import json
import os
import re
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


COUNTER_LINE = re.compile(
    r"^cpu(?P<core>\d+): .*\| halts (?P<halts>\d+) \(aborted (?P<aborted>\d+)\) "
    r"poll-hits (?P<poll_hits>\d+) .*\| irq wake (?P<wake_irqs>\d+) timer (?P<timer_irqs>\d+) "
    r"\| timer writes (?P<timer_writes>\d+) \| wakeups sent (?P<wakeups_sent>\d+) "
    r"suppressed (?P<suppressed>\d+) \| msgs out (?P<msgs_out>\d+) ring-full \d+ (?:publishes \d+ )?"
    r"\| switches (?P<switches>\d+)")
# The counters reported per transaction, in table order, and their headings.
COUNTERS = ("halts", "wake_irqs", "wakeups_sent", "timer_irqs", "timer_writes", "poll_hits")
HEADINGS = ("halts", "IPIs in", "IPIs out", "timer in", "timer wr", "poll hits")
# A VM exit each under KVM (see the docstring).
EXIT_COUNTERS = ("halts", "wakeups_sent", "timer_writes")
EXITS = "exits_per_txn"


def parse_counter_lines(lines):
    """{core: {counter: int}} from the console's `cpuN: ...` counter lines
    (the `s` key); other lines are ignored, a later line for a core wins."""
    out = {}
    for line in lines:
        m = COUNTER_LINE.match(line.strip())
        if m:
            values = {k: int(v) for k, v in m.groupdict().items()}
            out[values.pop("core")] = values
    return out


def covered_transactions(transactions, window_s, covered_s):
    """tcp_rr's `transactions` in `window_s`, scaled to the `covered_s`
    seconds of load between the two counter reads (steady load assumed)."""
    return transactions * covered_s / window_s if window_s > 0 else 0.0


def counters_per_transaction(before, after, transactions):
    """{"total": {...}, "per_core": {core: {...}}} of COUNTERS' differences
    divided by `transactions`, each with EXITS; None without both reads of
    the same cores, with a counter that went backwards, or without
    transactions."""
    if not before or not after or set(before) != set(after) or not transactions > 0:
        return None
    per_core = {}
    for core in sorted(after):
        deltas = {k: after[core][k] - before[core][k] for k in COUNTERS}
        if min(deltas.values()) < 0:
            return None  # not the same boot, or the line was misread
        per_core[core] = with_exits({k: d / transactions for k, d in deltas.items()})
    total = with_exits({k: sum(c[k] for c in per_core.values()) for k in COUNTERS})
    return {"total": total, "per_core": per_core}


def with_exits(figures):
    figures[EXITS] = sum(figures[k] for k in EXIT_COUNTERS)
    return figures


def read_counters(guest, cores, timeout=5.0):
    """Types `s`; returns (counters, time of their last line), counters
    None unless a `cpuN:` line came from each of `cores` cores in time."""
    t0 = time.monotonic()
    guest.type_key("s")
    while time.monotonic() - t0 < timeout:
        lines = [(t, text) for t, text in list(guest.lines) if t >= t0]
        found = parse_counter_lines(text for _, text in lines)
        if len(found) >= cores:
            return found, max(t for t, text in lines if COUNTER_LINE.match(text.strip()))
        time.sleep(0.02)
    return None, None


def qemu_accel(argv):
    """The accelerator of a QEMU command line ("tcg" without -accel)."""
    if "-accel" in argv:
        return argv[argv.index("-accel") + 1].split(",")[0]
    return "tcg"


def qemu_smp(argv):
    """The vCPU count of a QEMU command line (1 without -smp)."""
    if "-smp" in argv:
        return int(argv[argv.index("-smp") + 1].split(",")[0].split("=")[-1])
    return 1


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
             "--accel=" + args.accel, "--idle_policy=" + policy] + args.image_flags
    argv = idle_cpu.qemu_command(image)
    guest = idle_cpu.Guest(argv, args.verbose, keyboard=True)
    timers = []
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
        # Timers from tcp_rr's start: the `before` counter read late in the
        # warm-up, QEMU's CPU time at the start and the end of tcp_rr's
        # measured window (not at tcp_rr's exit: a slow policy can keep it
        # waiting for a last answer well past the window), then the `after`
        # counter read.
        cores = qemu_smp(argv)
        at = {}        # name -> time.monotonic() when that step began
        cpu = {}       # "start"/"end" -> QEMU CPU seconds
        counters = {}  # "before"/"after" -> (counters, time of their last line)

        def step(name):
            at[name] = time.monotonic()
            if name in ("start", "end"):
                cpu[name] = source.read()
            if name in ("before", "end"):
                counters["after" if name == "end" else "before"] = read_counters(guest, cores)
        timers = [threading.Timer(t, step, (name,)) for name, t in (
            ("before", args.warmup - args.counter_lead), ("start", args.warmup),
            ("end", args.warmup + args.seconds))]
        for timer in timers:
            timer.start()
        out, err = rr.communicate(timeout=args.warmup + args.seconds + 60)
        for timer in timers:
            timer.join()
        if rr.returncode != 0 or len(cpu) != 2:
            raise idle_cpu.GuestFailure(1, "tcp_rr failed (%d): %s" % (rr.returncode, err.strip()))
        numbers = parse_tcp_rr(out)
        if numbers is None:
            raise idle_cpu.GuestFailure(1, "no result line from tcp_rr:\n" + out)
        load_cpu_s = cpu["end"] - cpu["start"]
        before, before_done = counters.get("before", (None, None))
        after, _ = counters.get("after", (None, None))
        if before_done is not None and before_done > at["start"]:
            print("rr_cpu: the `before` counter lines ended %.0f ms into the measured window; "
                  "raise --counter-lead" % (1000 * (before_done - at["start"])), file=sys.stderr)
        per_txn = counters_per_transaction(before, after, covered_transactions(
            numbers["transactions"], args.seconds, at["end"] - at["before"]))
        if per_txn is None:
            print("rr_cpu: no usable counter lines from the guest after `s`; their columns "
                  "are empty", file=sys.stderr)
            per_txn = {"total": {k: float("nan") for k in COUNTERS + (EXITS,)}, "per_core": {}}
        return dict(policy=policy, accel=qemu_accel(argv), loadavg=loadavg,
                    idle_cpu_pct=100 * idle_cpu_s / args.idle_seconds,
                    load_cpu_pct=100 * load_cpu_s / args.seconds,
                    cpu_us_per_txn=per_transaction_us(load_cpu_s, numbers["transactions"]),
                    counters_covered_s=at["end"] - at["before"], **numbers, **per_txn["total"],
                    per_core={str(c): v for c, v in per_txn["per_core"].items()})
    finally:
        for timer in timers:
            timer.cancel()
        guest.stop()


def print_rows(rows, title, per_core):
    """The CPU table, then the guest-counter table (with a row per core
    below each policy's whole-guest row if per_core)."""
    print(title)
    print("%-9s %8s %10s %9s %9s %9s %11s %12s %8s %5s" % (
        "policy", "txns/s", "median us", "p90 us", "p99 us", "idle CPU", "load CPU",
        "CPU us/txn", "loadavg", "runs"))
    for r in rows:
        print("%-9s %8.0f %10.0f %9.0f %9.0f %8.2f%% %10.1f%% %12.1f %8.2f %5s" % (
            r["policy"], r["tps"], r["median_us"], r["p90_us"], r["p99_us"],
            r["idle_cpu_pct"], r["load_cpu_pct"], r["cpu_us_per_txn"], r["loadavg"],
            r.get("runs", 1)))
    print()
    print("  guest counters per transaction" + (", whole guest and per core" if per_core else ""))
    print("%-9s %-5s" % ("policy", "core") + "".join(" %9s" % h for h in HEADINGS)
          + " %17s" % "exits/txn (est.)")
    for r in rows:
        cores = sorted(r["per_core"].items(), key=lambda kv: int(kv[0])) if per_core else []
        for name, figures in [("all", r)] + [("cpu" + c, f) for c, f in cores]:
            print("%-9s %-5s" % (r["policy"] if name == "all" else "", name)
                  + "".join(" %9.3f" % figures[k] for k in COUNTERS) + " %17.3f" % figures[EXITS])


def medians(rows, policies):
    """One row per policy (in `policies` order) of the medians of its runs'
    numbers, per_core included; `runs` counts them."""
    out = []
    for policy in policies:
        mine = [r for r in rows if r["policy"] == policy]
        if not mine:
            continue
        row = dict(policy=policy, runs=len(mine))
        for key, value in mine[0].items():
            if key == "per_core":
                row[key] = {c: {k: statistics.median(r[key][c][k] for r in mine if c in r[key])
                                for k in figures}
                            for c, figures in value.items()}
            elif isinstance(value, (int, float)):
                row[key] = statistics.median(r[key] for r in mine)
        out.append(row)
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
    parser.add_argument("--accel", choices=["auto", "tcg", "kvm"], default="auto",
                        help="passed to the echo launcher (images/run.py): auto = KVM if "
                             "/dev/kvm is usable, else TCG; the tables say which ran")
    parser.add_argument("--counter-lead", type=float, default=0.3,
                        help="type `s` for the `before` counters this many seconds before "
                             "the warm-up ends (default 0.3; must be below --warmup)")
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
    if not 0 < args.counter_lead < args.warmup:
        parser.error("need 0 < --counter-lead < --warmup, so the `before` counters are read "
                     "under load and outside the measured window")
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
    accel = "+".join(sorted({r["accel"] for r in rows})).upper()  # from QEMU's command line
    print_rows(rows, "every run (%s, %s)" % (time.strftime("%Y-%m-%d %H:%M"), accel),
               per_core=False)
    print()
    print_rows(medians(rows, args.policies), "medians per policy (%s)" % accel, per_core=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
