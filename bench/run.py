#!/usr/bin/env python3
"""Web server VMs side by side, each at its best: our unikernel vs minimal Linux VMs.

    bash bench/setup.sh            # once: qemu, wrk, curl, cpio, python3-matplotlib
    bazel build //images:webserver //tools:http_load
    python3 bench/run.py [--vms=uk,busybox,nginx] [--smp=1,2,4] [--out=bench/out] [...]

Every VM runs in turn on the same QEMU (machine pc, the same -m, TCG by
default) with the same user-mode networking (hostfwd 127.0.0.1:PORT -> guest
port 80, virtio-net-pci) and the same generated site. Three phases:

 1 sweep    every system at every --smp (ours also at each placement of its
            net, fs and http services: all on one core, or spread), one boot
            each (--boots for more; medians): QEMU start to the first HTTP 200,
            then wrk -t1 -c4 --latency on /index.html (~600 B) and /64k.bin:
            requests/s, median and p99 latency, and host CPU-ms of the QEMU
            process per 1,000 requests. For ours also halts, wake IPIs sent
            and received and timer writes per request, from the guest's
            counters (key `s` on its console) read before and after each run.
 2 best     each system at its best configuration (most requests/s on the
            small page in phase 1), booted again: idle CPU, CPU after a burst,
            a load sweep at fixed rates (--sweep percentages of that system's
            own maximum, tools/http_load: open loop, latency from each
            request's scheduled time) with host CPU and p99 per rate, and the
            on/off pattern for cpu.png.
 3 memory   the smallest -m at which each best configuration serves.

Outputs in --out: table.md (also printed: equal-vCPU rows, best-vs-best,
placement counters, the load sweep, the rest), raw.json, sweep.png,
cpu.png, serial-*.log, site/. Progress goes to stderr. A ratio is only ever
printed between rows whose configuration is named beside it.

The Linux VMs are built at run time from Debian packages (linux-image-amd64,
busybox-static, nginx) with apt-get download into --cache; nothing is
installed. Ours is bazel-bin/images/webserver; when it is missing its rows
say "not built". Without bazel-bin/tools/http_load the load sweep is skipped
(said in the output).

Exit status: 0 every VM that exists was measured; 1 a VM failed (boot,
HTTP, wrk); 2 bad usage; 3 a host tool or Debian package is missing (the
message names the apt package); 130 interrupted.
"""

import argparse
import glob
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import linux_vm  # noqa: E402
import measure   # noqa: E402
import plot      # noqa: E402
import report    # noqa: E402
from measure import log, VMFailure  # noqa: E402

ALL_VMS = ("uk", "busybox", "nginx")
LABELS = {"uk": "uk webserver", "busybox": "Linux + busybox httpd", "nginx": "Linux + nginx"}
UK_READY = "webserver: listening"
UK_STATIC_IP = "--ip=%s --netmask=255.255.255.0 --gateway=%s" % (
    linux_vm.GUEST_IP, linux_vm.GUEST_GATEWAY)

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_MISSING, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


# ------------------------------------------------------------------- site


def make_site(folder):
    """index.html of ~600 B, a 64 KiB file and a few others."""
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(os.path.join(folder, "docs"))
    body = ("<p>This page is served by the VM under test. It is about six hundred bytes "
            "long so that a request measures the server and the network path rather "
            "than the copy of a large body.</p>\n")
    index = ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>bench</title>"
             "<link rel=\"stylesheet\" href=\"style.css\"></head>\n<body>\n<h1>bench</h1>\n"
             + body + "<p><a href=\"64k.bin\">64k.bin</a> <a href=\"docs/a.txt\">a.txt</a>"
             "</p>\n")
    index += "<!-- " + "x" * max(0, 600 - len(index) - 26) + " -->\n</body></html>\n"
    files = {
        "index.html": index.encode(),
        "style.css": b"body { font-family: sans-serif; margin: 2em; }\n",
        "docs/a.txt": b"".join(b"line %d of a small text file\n" % i for i in range(100)),
        "docs/index.html": b"<html><body>docs</body></html>\n",
        # Deterministic, incompressible-ish 64 KiB.
        "64k.bin": bytes((i * 2654435761 >> 13) & 0xFF for i in range(65536)),
        "4k.bin": bytes((i * 40503 >> 7) & 0xFF for i in range(4096)),
    }
    for name, data in files.items():
        with open(os.path.join(folder, name), "wb") as f:
            f.write(data)
    return {name: len(data) for name, data in files.items()}


def check_content(port, site, files):
    """Fetches every site file with curl and compares it to the original."""
    bad = []
    for name in sorted(files):
        r = subprocess.run(["curl", "-s", "-f", "-m", "10", "http://127.0.0.1:%d/%s" % (port, name)],
                           stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
        with open(os.path.join(site, name), "rb") as f:
            if r.returncode != 0 or r.stdout != f.read():
                bad.append(name)
    return bad


# ------------------------------------------------------ configurations


class Config:
    """One system at one vCPU count (ours also at one service placement)."""

    def __init__(self, system, smp, placement=None, cores=None):
        self.system = system
        self.smp = smp
        self.placement = placement      # ours: "one core" or "spread"
        self.cores = cores              # ours: (net, fs, http) core numbers
        self.key = "%s-smp%d%s" % (system, smp, "" if placement is None
                                   else "-" + placement.replace(" ", "-"))

    def describe(self):
        text = "%d vCPU%s" % (self.smp, "" if self.smp == 1 else "s")
        if self.cores is not None:
            text += ", %s (net/fs/http on %s)" % (self.placement, "/".join(map(str, self.cores)))
        return text


def uk_placements(smp):
    """Where our net, fs and http services run at `smp` vCPUs: all on one
    core, and (with 2 or more) spread over as many cores as there are, up
    to one each. Core 0 starts them and then only idles."""
    if smp == 1:
        return [("one core", (0, 0, 0))]
    spread = (1, 0, 0) if smp == 2 else (1, 2, min(3, smp - 1))
    return [("one core", (1, 1, 1)), ("spread", spread)]


def configs_for(system, smps):
    out = []
    for smp in smps:
        if system == "uk":
            out += [Config(system, smp, name, cores) for name, cores in uk_placements(smp)]
        else:
            out.append(Config(system, smp))
    return out


# --------------------------------------------------------------- VM specs


class Spec:
    """How to start one system with a given configuration, memory and port."""

    def __init__(self, name):
        self.name = name
        self.label = LABELS[name]
        self.status = "ok"       # or "not built"
        self.ready_text = linux_vm.READY_TEXT
        self.sizes = {}
        self.launcher_mode = False
        self.info = {}

    def argv(self, cfg, mem, port):
        raise NotImplementedError


class LinuxSpec(Spec):
    def __init__(self, name, image, args):
        super().__init__(name)
        self.image = image
        self.args = args
        self.sizes = {"kernel_bytes": image["kernel_bytes"], "initrd_bytes": image["initrd_bytes"],
                      "total_bytes": image["kernel_bytes"] + image["initrd_bytes"]}
        self.info = {"packages": image["packages"], "modules": image["modules"],
                     "kernel": image["kernel"], "initrd": image["initrd"],
                     "append": linux_vm.KERNEL_APPEND}

    def argv(self, cfg, mem, port):
        return linux_vm.qemu_argv(self.image, "%dM" % mem, cfg.smp, port, accel=self.args.accel)


class UkSpec(Spec):
    def __init__(self, args, site):
        super().__init__("uk")
        self.args = args
        self.site = site
        self.ready_text = UK_READY
        self.launcher = os.path.join(REPO, args.uk) if not os.path.isabs(args.uk) else args.uk
        if not os.path.exists(self.launcher):
            self.status = "not built"
            return
        probe = Config("uk", 1, "one core", (0, 0, 0))
        argv = self._print_command(probe, args.mem_mib, 8080)
        if argv is None or not any("hostfwd" in a for a in argv) or "-kernel" not in argv:
            log("uk: --print-command did not give a usable QEMU command; running the launcher "
                "itself and sampling its QEMU child")
            self.launcher_mode = True
            elf = glob.glob(self.launcher + ".runfiles/*/images/webserver.elf")  # no DWARF
        else:
            elf = [argv[argv.index("-kernel") + 1]]
        if elf and os.path.exists(elf[0]):
            self.sizes = {"kernel_bytes": os.path.getsize(elf[0]), "initrd_bytes": None,
                          "total_bytes": os.path.getsize(elf[0])}
            self.info["kernel"] = elf[0]

    def _flags(self, cfg, mem, port):
        net, fs, http = cfg.cores
        return (["--site=%s" % self.site, "--port=%d" % port, "--accel=%s" % self.args.accel,
                 "--machine=pc", "--smp=%d" % cfg.smp, "--mem=%dM" % mem,
                 "--net_core=%d" % net, "--fs_core=%d" % fs, "--http_core=%d" % http]
                + shlex.split(self.args.uk_flags))

    def _print_command(self, cfg, mem, port):
        cmd = [self.launcher, "--print-command"] + self._flags(cfg, mem, port)
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           stdin=subprocess.DEVNULL, env=measure.idle_cpu.launcher_env())
        if r.returncode != 0:
            log("uk: %s failed (exit %d): %s" % (shlex.join(cmd), r.returncode, r.stderr.strip()))
            return None
        return measure.idle_cpu.command_from_output(r.stdout)

    def argv(self, cfg, mem, port):
        if self.launcher_mode:
            return [self.launcher] + self._flags(cfg, mem, port)
        argv = self._print_command(cfg, mem, port)
        if argv is None:
            raise VMFailure("uk: --print-command failed")
        return argv


# ------------------------------------------------------------- helpers


def sleep_until(t):
    d = t - time.monotonic()
    if d > 0:
        time.sleep(d)


def pct(w):
    return None if w is None else w["percent"]


def cpu_ms(w):
    return None if w is None else w["cpu_s"] * 1000.0


def per_1000(cpu_window, requests):
    if cpu_window is None or not requests:
        return None
    return cpu_window["cpu_s"] * 1000.0 / requests * 1000.0


def start_vm(spec, cfg, args, mem, port, tag):
    serial = os.path.join(args.out, "serial-%s-%s.log" % (cfg.key, tag))
    vm = measure.VM(spec.name, spec.argv(cfg, mem, port), serial, spec.ready_text,
                    step=args.sample_ms / 1000.0, launcher=spec.launcher_mode)
    vm.start()
    return vm


def boot(spec, cfg, args, files, tag):
    """Starts a VM and waits for its first 200; returns (vm, port, result dict)."""
    port = args.port or measure.free_port()
    log("%s: booting (%s, -m %dM, %s, port %d)" % (spec.name, cfg.describe(), args.mem_mib,
                                                    args.accel, port))
    vm = start_vm(spec, cfg, args, args.mem_mib, port, tag)
    res = {"command": vm.argv, "port": port}
    t200 = measure.wait_http_200(vm, port, args.boot_timeout)
    if t200 is None:
        vm.stop()
        raise VMFailure("%s: no HTTP 200 within %g s of QEMU start (%s)\n%s" % (
            spec.name, args.boot_timeout, "QEMU exited" if not vm.alive() else "timeout",
            vm.tail()))
    res["t200"] = t200
    res["boot_ms"] = (t200 - vm.start_t) * 1000
    res["ready_line_ms"] = None if vm.ready_t is None else (vm.ready_t - vm.start_t) * 1000
    res["boot_cpu_ms"] = cpu_ms(vm.window(vm.start_t, t200))
    log("%s: first HTTP 200 after %.0f ms" % (spec.name, res["boot_ms"]))
    bad = check_content(port, args.site, files)
    res["content_mismatch"] = bad
    if bad:
        log("%s: WARNING: served content differs for %s" % (spec.name, ", ".join(bad)))
    return vm, port, res


def settle(vm, args):
    """Waits until the VM's CPU over the last second is below
    --settle-percent (Linux keeps working for a while after it first
    answers), at most --settle-max s. Returns the seconds waited."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < args.settle_max:
        time.sleep(1.0)
        now = time.monotonic()
        w = vm.window(now - 1.0, now)
        if w is not None and w["percent"] < args.settle_percent:
            break
    return time.monotonic() - t0


def counter_delta(before, after, requests):
    """Guest counters per request between two reads, summed over cores
    (tools/rr_cpu.py's arithmetic); None without both reads."""
    figures = measure.rr_cpu.counters_per_transaction(before, after, requests or 0)
    return figures and figures["total"]


def serve_run(vm, port, path, args, smp):
    """One wrk run on `path`: requests/s, latency, CPU per 1,000 requests and,
    for ours, guest counters per request."""
    before = vm.read_counters(smp) if vm.name == "uk" else None
    s0, s1, parsed, raw = measure.run_wrk(port, path, args.wrk_seconds)
    after = vm.read_counters(smp) if vm.name == "uk" else None
    w = vm.window(s0, s1)
    parsed["cpu_percent"] = pct(w)
    parsed["cpu_ms_per_1000"] = per_1000(w, parsed["requests"])
    parsed["per_request"] = counter_delta(before, after, parsed["requests"])
    parsed["raw"] = raw
    if not parsed["requests_per_s"]:
        log("%s: wrk on %s got no result:\n%s" % (vm.name, path, raw))
    return parsed


PATHS = (("index", "/index.html"), ("64k", "/64k.bin"))


def sweep_one(spec, cfg, args, files):
    """Phase 1 for one configuration and one boot."""
    vm, port, res = boot(spec, cfg, args, files, "sweep")
    try:
        res["settle_s"] = settle(vm, args)
        measure.run_wrk(port, "/index.html", args.warmup_seconds, latency=False)
        res["wrk"] = {}
        for key, path in PATHS:
            time.sleep(0.5)
            log("%s: wrk -t1 -c4 -d%gs %s" % (spec.name, args.wrk_seconds, path))
            res["wrk"][key] = serve_run(vm, port, path, args, cfg.smp)
        if not vm.alive():
            raise VMFailure("%s: QEMU exited during the measurements\n%s" % (spec.name, vm.tail()))
    finally:
        vm.stop()
    return res


def median_of(runs, *path):
    values = []
    for run in runs:
        x = run
        for p in path:
            x = x.get(p) if isinstance(x, dict) else None
        if isinstance(x, (int, float)):
            values.append(x)
    return statistics.median(values) if values else None


def summarize(runs):
    """The medians over boots of the figures the tables show."""
    out = {"boots": len(runs), "boot_ms": median_of(runs, "boot_ms"), "wrk": {}}
    for key, _ in PATHS:
        w = {m: median_of(runs, "wrk", key, m)
             for m in ("requests_per_s", "cpu_percent", "cpu_ms_per_1000")}
        w["p50_ms"] = median_of(runs, "wrk", key, "latency_ms", "p50")
        w["p99_ms"] = median_of(runs, "wrk", key, "latency_ms", "p99")
        w["per_request"] = None
        if any(r["wrk"][key].get("per_request") for r in runs):
            w["per_request"] = {c: median_of(runs, "wrk", key, "per_request", c)
                                for c in measure.rr_cpu.COUNTERS + (measure.rr_cpu.EXITS,)}
        w["errors"] = sum(sum((r["wrk"][key].get("errors") or {}).values())
                          + (r["wrk"][key].get("non_2xx") or 0) for r in runs)
        out["wrk"][key] = w
    return out


def best_config(doc, system, key="index"):
    """The key of `system`'s configuration with the most requests/s on `key`."""
    rows = [(c["summary"]["wrk"][key]["requests_per_s"] or 0, k)
            for k, c in doc["configs"].items()
            if c["system"] == system and c.get("summary")]
    return max(rows)[1] if rows and max(rows)[0] > 0 else None


# ---------------------------------------------------------- phase 2


ERROR_KINDS = ("non2xx", "connect_errors", "read_errors", "timeouts")


def load_sweep(vm, port, args, max_rps):
    points = []
    for percent in args.sweep:
        rate = max(1.0, max_rps * percent / 100.0)
        log("%s: http_load %.0f req/s (%g%% of %.0f) for %g s" % (
            vm.name, rate, percent, max_rps, args.sweep_seconds))
        t0, t1, parsed, raw = measure.run_http_load(args.http_load, port, "/index.html", rate,
                                                    args.sweep_seconds)
        if parsed is None:
            log("%s: http_load gave no result line:\n%s" % (vm.name, raw[-2000:]))
            points.append({"percent": percent, "offered_rps": rate, "error": raw[-2000:]})
            continue
        w = vm.window(t0, t1)
        completed = parsed.get("completed") or 0
        points.append({"percent": percent, "offered_rps": rate,
                       "achieved_rps": parsed.get("achieved_rps"),
                       "p50_ms": (parsed.get("p50_us") or 0) / 1000.0,
                       "p99_ms": (parsed.get("p99_us") or 0) / 1000.0,
                       "late": parsed.get("late"),
                       "errors": sum(parsed.get(k) or 0 for k in ERROR_KINDS),
                       "error_kinds": {k: parsed.get(k) for k in ERROR_KINDS if parsed.get(k)},
                       "cpu_percent": pct(w), "cpu_ms_per_1000": per_1000(w, completed),
                       "command": parsed.get("command")})
        time.sleep(1.0)
    return points


def best_session(spec, cfg, args, files, max_rps):
    """Phase 2: idle, after a burst, load sweep, on/off pattern."""
    vm, port, res = boot(spec, cfg, args, files, "best")
    try:
        t0 = time.monotonic() + 1.0
        log("%s: idle for %g s" % (spec.name, args.idle_seconds))
        sleep_until(t0 + args.idle_seconds)
        w = vm.window(t0, t0 + args.idle_seconds)
        res["idle"] = w and {"percent": w["percent"], "cpu_ms": cpu_ms(w),
                             "per_second": [pct(vm.window(t0 + i, t0 + i + 1))
                                            for i in range(int(args.idle_seconds))]}
        res["settle_s"] = settle(vm, args)

        log("%s: %g s wrk burst, then %g s after" % (spec.name, args.burst_seconds,
                                                     args.after_seconds))
        b0, b1, parsed, _ = measure.run_wrk(port, "/index.html", args.burst_seconds, latency=False)
        sleep_until(b1 + args.after_seconds + 0.05)
        w = vm.window(b1, b1 + args.after_seconds)
        res["after_burst"] = {"burst_requests_per_s": parsed["requests_per_s"],
                              "after_cpu_ms": cpu_ms(w), "after_percent": pct(w)}

        if args.http_load and max_rps:
            res["sweep"] = load_sweep(vm, port, args, max_rps)

        time.sleep(2.0)
        log("%s: on/off pattern %s s" % (spec.name, ",".join("%g" % d for d in args.pattern)))
        p0 = time.monotonic()
        spans, idle = [], []
        t = p0
        for i, d in enumerate(args.pattern):
            if i % 2 == 1:
                s0, s1, _, _ = measure.run_wrk(port, "/index.html", d, latency=False)
                spans.append([s0 - p0, s1 - p0])
                t = s1
            else:
                idle.append((t + (1.0 if i else 0.0), t + d))  # skip 1 s after a load
                t += d
                sleep_until(t)
        vm.wait_sampled(t)
        res["onoff"] = {"series": vm.series(p0, t), "load_spans_s": spans}
        ws = [w for w in (vm.window(a, b) for a, b in idle if b - a >= 0.5) if w]
        if ws:
            cpu, wall = sum(w["cpu_s"] for w in ws), sum(w["wall_s"] for w in ws)
            res["steady_idle"] = {"percent": 100.0 * cpu / wall, "cpu_ms": cpu * 1000,
                                  "wall_s": wall}
        if not vm.alive():
            raise VMFailure("%s: QEMU exited during the measurements\n%s" % (spec.name, vm.tail()))
    finally:
        vm.stop()
    return res


def serves(spec, cfg, args, mem):
    port = args.port or measure.free_port()
    vm = start_vm(spec, cfg, args, mem, port, "mem")
    try:
        t200 = measure.wait_http_200(vm, port, args.mem_timeout)
        if t200 is None:
            return False, None
        status, length = measure.http_get_status(port, "/64k.bin", timeout=10)
        return status == 200 and length == 65536, (t200 - vm.start_t) * 1000
    finally:
        vm.stop()


def min_memory(spec, cfg, args):
    """Binary search for the smallest -m (MiB, multiple of --mem-step) that serves."""
    lo, hi = args.mem_min, args.mem_max
    probes = []

    def probe(mem):
        ok, boot_ms = serves(spec, cfg, args, mem)
        probes.append({"mem_mib": mem, "serves": ok, "boot_ms": boot_ms})
        log("%s: -m %dM %s" % (spec.name, mem, "serves" if ok else "does not serve"))
        return ok
    if not probe(hi):
        return {"min_mib": None, "note": "does not serve at %d MiB" % hi, "probes": probes}
    if probe(lo):
        return {"min_mib": lo, "note": "serves at the lower bound", "probes": probes}
    while hi - lo > args.mem_step:
        mid = (lo + hi) // 2
        mid -= mid % args.mem_step
        if mid <= lo:
            mid = lo + args.mem_step
        if probe(mid):
            hi = mid
        else:
            lo = mid
    return {"min_mib": hi, "probes": probes}


# -------------------------------------------------------------------- main


def int_list(text, what):
    try:
        values = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError("%s wants comma-separated integers" % what)
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError("%s wants positive integers" % what)
    return values


def parse_args(argv):
    p = argparse.ArgumentParser(prog="bench/run.py", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--vms", default=",".join(ALL_VMS),
                   help="comma-separated VMs from %s (default: all)" % ",".join(ALL_VMS))
    p.add_argument("--smp", default="1,2,4",
                   help="vCPU counts every VM is measured at (default 1,2,4)")
    p.add_argument("--boots", type=int, default=1,
                   help="boots per configuration in the sweep; tables show medians (default 1)")
    p.add_argument("--out", default=os.path.join(HERE, "out"), help="output folder (default bench/out)")
    p.add_argument("--cache", default="/tmp/uk-bench-cache",
                   help="Debian packages and built initramfs (default /tmp/uk-bench-cache)")
    p.add_argument("--accel", choices=["tcg", "kvm"], default="tcg",
                   help="QEMU accelerator for every VM (default tcg)")
    p.add_argument("--mem", type=int, default=256, dest="mem_mib", metavar="MIB",
                   help="guest memory in MiB outside the memory search (default 256)")
    p.add_argument("--wrk-seconds", type=float, default=10.0,
                   help="each wrk -t1 -c4 --latency run (default 10)")
    p.add_argument("--warmup-seconds", type=float, default=2.0,
                   help="unmeasured wrk run before the measured ones (default 2)")
    p.add_argument("--settle-percent", type=float, default=5.0,
                   help="before measuring, wait until QEMU uses less than this %% of a core "
                        "over a second (default 5)")
    p.add_argument("--settle-max", type=float, default=30.0,
                   help="... but at most this many seconds (default 30)")
    p.add_argument("--sweep", default="10,25,50,75,100",
                   help="load sweep: percentages of each system's own maximum (default "
                        "10,25,50,75,100)")
    p.add_argument("--sweep-seconds", type=float, default=8.0,
                   help="measured seconds per load-sweep rate (default 8)")
    p.add_argument("--http-load", default="bazel-bin/tools/http_load",
                   help="the constant-rate client (default bazel-bin/tools/http_load)")
    p.add_argument("--idle-seconds", type=float, default=20.0, help="idle window (default 20)")
    p.add_argument("--burst-seconds", type=float, default=3.0, help="wrk burst (default 3)")
    p.add_argument("--after-seconds", type=float, default=2.0,
                   help="window after the burst (default 2)")
    p.add_argument("--pattern", default="5,5,5,5,5",
                   help="on/off pattern for cpu.png: idle,load,idle,... seconds (default 5,5,5,5,5)")
    p.add_argument("--sample-ms", type=int, default=100, help="CPU sample period (default 100)")
    p.add_argument("--boot-timeout", type=float, default=120.0,
                   help="seconds from QEMU start to the first HTTP 200 (default 120)")
    p.add_argument("--no-mem-search", action="store_true", help="skip the memory search")
    p.add_argument("--mem-min", type=int, default=16, help="memory search lower bound, MiB (16)")
    p.add_argument("--mem-max", type=int, default=512, help="memory search upper bound, MiB (512)")
    p.add_argument("--mem-step", type=int, default=4, help="memory search resolution, MiB (4)")
    p.add_argument("--mem-timeout", type=float, default=60.0,
                   help="seconds a memory-search boot has to serve (default 60)")
    p.add_argument("--port", type=int, default=0,
                   help="host port for every boot (default 0: a free port per boot)")
    p.add_argument("--uk", default="bazel-bin/images/webserver",
                   help="our launcher, relative to the repo (default bazel-bin/images/webserver)")
    p.add_argument("--uk-flags", default=UK_STATIC_IP,
                   help="extra flags for our launcher (default: the same static address as "
                        "the Linux VMs: %r)" % UK_STATIC_IP)
    p.add_argument("--no-plot", action="store_true", help="skip cpu.png and sweep.png")
    p.add_argument("--quick", action="store_true",
                   help="short try: wrk 3 s, idle 5 s, sweep 3 s per rate, pattern 2,2,2,2,2, "
                        "memory step 16 MiB")
    args = p.parse_args(argv)
    if args.quick:
        args.idle_seconds, args.wrk_seconds, args.pattern = 5.0, 3.0, "2,2,2,2,2"
        args.sweep_seconds, args.warmup_seconds = 3.0, 1.0
        args.mem_step = max(args.mem_step, 16)
    args.vms = [v.strip() for v in args.vms.split(",") if v.strip()]
    for v in args.vms:
        if v not in ALL_VMS:
            p.error("unknown VM %r (choose from %s)" % (v, ",".join(ALL_VMS)))
    try:
        args.smp = int_list(args.smp, "--smp")
        args.sweep = int_list(args.sweep, "--sweep")
        args.pattern = [float(x) for x in args.pattern.split(",")]
    except argparse.ArgumentTypeError as e:
        p.error(str(e))
    except ValueError:
        p.error("--pattern wants comma-separated seconds")
    if any(x <= 0 for x in args.pattern) or any(x <= 0 for x in (
            args.idle_seconds, args.burst_seconds, args.after_seconds, args.wrk_seconds,
            args.sweep_seconds, args.warmup_seconds)):
        p.error("durations must be positive")
    if not 1 <= args.mem_min < args.mem_max or args.mem_step < 1:
        p.error("need 1 <= --mem-min < --mem-max and --mem-step >= 1")
    if args.sample_ms < 10 or args.boots < 1 or max(args.smp) > 64:
        p.error("need --sample-ms >= 10, --boots >= 1 and --smp values up to 64")
    args.out = os.path.abspath(args.out)
    args.site = os.path.join(args.out, "site")
    hl = args.http_load if os.path.isabs(args.http_load) else os.path.join(REPO, args.http_load)
    args.http_load = hl if os.access(hl, os.X_OK) else None
    return args


def plot_tool(args):
    """'inline', a python to run plot.py with, or None (with a message)."""
    if args.no_plot:
        return None
    try:
        import matplotlib  # noqa: F401
        return "inline"
    except ImportError:
        pass
    for py in ("/usr/bin/python3",):
        if os.path.exists(py) and subprocess.run(
                [py, "-c", "import matplotlib"], stderr=subprocess.DEVNULL).returncode == 0:
            return py
    return None


def qemu_version():
    try:
        out = subprocess.run(["qemu-system-x86_64", "--version"], stdout=subprocess.PIPE,
                             text=True).stdout
        return out.split("version", 1)[1].split()[0]
    except (OSError, IndexError):
        return "?"


def host_cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "?"


def make_specs(args):
    specs = {}
    for v in args.vms:
        if v == "uk":
            spec = UkSpec(args, args.site)
            if spec.status != "ok":
                log("uk: %s not found: rows say 'not built' (bazel build //images:webserver)"
                    % spec.launcher)
        else:
            spec = LinuxSpec(v, linux_vm.build(args.cache, v, args.site), args)
        specs[v] = spec
    return specs


def run_all(args, specs, files, doc):
    """The three phases; fills doc. Returns the exit status."""
    status = EXIT_OK
    total = sum(len(configs_for(v, args.smp)) for v in specs) * args.boots
    done = 0
    for name, spec in specs.items():
        doc["systems"][name] = {"label": spec.label, "status": spec.status, "sizes": spec.sizes,
                                "info": spec.info}
        for cfg in configs_for(name, args.smp):
            entry = {"system": name, "smp": cfg.smp, "placement": cfg.placement,
                     "cores": cfg.cores, "describe": cfg.describe(), "status": spec.status,
                     "runs": []}
            doc["configs"][cfg.key] = entry
            if spec.status != "ok":
                continue
            for b in range(args.boots):
                done += 1
                log("sweep %d/%d: %s, %s, boot %d" % (done, total, name, cfg.describe(), b + 1))
                try:
                    entry["runs"].append(sweep_one(spec, cfg, args, files))
                except (VMFailure, OSError) as e:
                    entry["error"] = str(e)
                    entry["status"] = "failed"
                    print("bench: %s" % e, file=sys.stderr)
                    status = EXIT_FAILED
            if entry["runs"]:
                entry["summary"] = summarize(entry["runs"])

    if not args.http_load:
        log("load sweep skipped: bazel-bin/tools/http_load is not built "
            "(bazel build //tools:http_load)")
    for name, spec in specs.items():
        key = best_config(doc, name)
        if key is None:
            continue
        c = doc["configs"][key]
        cfg = Config(name, c["smp"], c["placement"], c["cores"] and tuple(c["cores"]))
        system = doc["systems"][name]
        system["best"] = key
        system["best_64k"] = best_config(doc, name, "64k")
        log("best of %s: %s" % (name, cfg.describe()))
        try:
            system.update(best_session(spec, cfg, args, files,
                                       c["summary"]["wrk"]["index"]["requests_per_s"]))
            if not args.no_mem_search:
                log("%s: memory search %d..%d MiB, step %d" % (
                    name, args.mem_min, args.mem_max, args.mem_step))
                system["memory"] = min_memory(spec, cfg, args)
        except (VMFailure, OSError) as e:
            system["error"] = str(e)
            print("bench: %s" % e, file=sys.stderr)
            status = EXIT_FAILED
    return status


def write_outputs(args, doc, plotter):
    with open(os.path.join(args.out, "raw.json"), "w") as f:
        json.dump(doc, f, indent=1)
    text = report.tables(doc) + "\n"
    with open(os.path.join(args.out, "table.md"), "w") as f:
        f.write(text)
    print(text)
    status = EXIT_OK
    if plotter == "inline":
        plot.plot_all(doc, args.out)
        log("wrote cpu.png and sweep.png in %s" % args.out)
    elif plotter:
        if subprocess.run([plotter, os.path.join(HERE, "plot.py"),
                           os.path.join(args.out, "raw.json"), args.out]).returncode != 0:
            log("plotting failed (see above); the tables and raw.json are written")
            status = EXIT_FAILED
        else:
            log("wrote cpu.png and sweep.png in %s (with %s)" % (args.out, plotter))
    log("wrote %s and raw.json" % os.path.join(args.out, "table.md"))
    return status


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    missing = measure.check_tools()
    plotter = plot_tool(args)
    if plotter is None and not args.no_plot:
        missing.append(("matplotlib", "python3-matplotlib"))
    if args.accel == "kvm" and not os.access("/dev/kvm", os.R_OK | os.W_OK):
        print("bench: --accel=kvm but /dev/kvm is not usable", file=sys.stderr)
        return EXIT_USAGE
    if missing:
        print("bench: missing: %s\nbench: install with: apt-get install %s   "
              "(or: bash bench/setup.sh; --no-plot skips matplotlib)" % (
                  ", ".join(t for t, _ in missing),
                  " ".join(sorted({pkg for _, pkg in missing}))), file=sys.stderr)
        return EXIT_MISSING
    os.makedirs(args.out, exist_ok=True)
    files = make_site(args.site)
    log("site: %s (%s)" % (args.site, ", ".join("%s %d B" % kv for kv in sorted(files.items()))))
    try:
        specs = make_specs(args)
    except linux_vm.BuildError as e:
        print("bench: %s" % e, file=sys.stderr)
        return EXIT_MISSING
    doc = {
        "settings": {
            "accel": args.accel, "smp": args.smp, "boots": args.boots, "mem_mib": args.mem_mib,
            "wrk_seconds": args.wrk_seconds, "warmup_seconds": args.warmup_seconds,
            "settle_percent": args.settle_percent, "settle_max": args.settle_max,
            "sweep": args.sweep, "sweep_seconds": args.sweep_seconds,
            "idle_seconds": args.idle_seconds, "burst_seconds": args.burst_seconds,
            "after_seconds": args.after_seconds, "pattern": args.pattern,
            "sample_ms": args.sample_ms, "qemu_version": qemu_version(),
            "date": time.strftime("%Y-%m-%d %H:%M %Z"), "host_cpus": os.cpu_count(),
            "host_cpu_model": host_cpu_model(), "load_before": os.getloadavg()[0],
        },
        "site": files,
        "order": list(specs),
        "systems": {},
        "configs": {},
    }
    t0 = time.monotonic()
    try:
        status = run_all(args, specs, files, doc)
    except KeyboardInterrupt:
        print("\nbench: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    doc["settings"]["minutes"] = (time.monotonic() - t0) / 60.0
    doc["settings"]["load_after"] = os.getloadavg()[0]
    return write_outputs(args, doc, plotter) or status


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("\nbench: interrupted", file=sys.stderr)
        sys.exit(EXIT_INTERRUPTED)
