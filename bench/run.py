#!/usr/bin/env python3
"""Web server VMs side by side: our unikernel vs minimal Linux VMs (busybox httpd, nginx).

    bash bench/setup.sh            # once: qemu, wrk, curl, cpio, python3-matplotlib
    python3 bench/run.py [--vms=uk,busybox,nginx] [--out=bench/out] [...]

Every VM runs in turn on the same QEMU (machine pc, -smp 4, the same -m,
TCG by default), with the same user-mode networking (hostfwd
127.0.0.1:PORT -> guest port 80, virtio-net-pci) and the same generated
site. For each VM:

  boot      QEMU start to the first HTTP 200 for / (new attempt every 15 ms)
  idle      host CPU of the QEMU process over --idle-seconds, 1 s after up
  after     host CPU in the --after-seconds after a --burst-seconds wrk burst
  wrk       wrk -t1 -c4 -d--wrk-seconds --latency on /index.html (~600 B) and
            /64k.bin: requests/s, median and p99 latency, host CPU meanwhile
  mem       smallest -m (binary search, --mem-min..--mem-max MiB, to
            --mem-step) at which the VM boots and serves / and /64k.bin
  size      our kernel ELF vs the Linux kernel + initramfs (gzip cpio)
  onoff     host CPU every --sample-ms over idle/wrk phases (--pattern) -> cpu.png

Outputs in --out: table.md (also printed), raw.json, cpu.png, serial-*.log,
site/. Progress goes to stderr.

The Linux VMs are built at run time from Debian packages (linux-image-amd64,
busybox-static, nginx) with apt-get download into --cache; nothing is
installed. Ours is bazel-bin/images/webserver (build it first with bazel
build //images:webserver); when it is missing its column says "not built".

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
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import linux_vm  # noqa: E402
import measure   # noqa: E402
import plot      # noqa: E402
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


# --------------------------------------------------------------- VM specs


class Spec:
    """How to start one VM with a given memory size and port."""

    def __init__(self, name):
        self.name = name
        self.label = LABELS[name]
        self.status = "ok"       # or "not built", "build failed: ..."
        self.ready_text = linux_vm.READY_TEXT
        self.sizes = {}
        self.launcher_mode = False
        self.info = {}

    def argv(self, mem, port):
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

    def argv(self, mem, port):
        return linux_vm.qemu_argv(self.image, "%dM" % mem, self.args.smp, port,
                                  accel=self.args.accel)


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
        argv = self._print_command(args.mem_mib, 8080)
        if argv is None or not any("hostfwd" in a for a in argv) or "-kernel" not in argv:
            log("uk: --print-command did not give a usable QEMU command; running the launcher "
                "itself and sampling its QEMU child")
            self.launcher_mode = True
            elf = glob.glob(self.launcher + ".runfiles/*/images/webserver.elf")
        else:
            elf = [argv[argv.index("-kernel") + 1]]
        if elf and os.path.exists(elf[0]):
            self.sizes = {"kernel_bytes": os.path.getsize(elf[0]), "initrd_bytes": None,
                          "total_bytes": os.path.getsize(elf[0])}
            self.info["kernel"] = elf[0]

    def _flags(self, mem, port):
        return (["--site=%s" % self.site, "--port=%d" % port, "--accel=%s" % self.args.accel,
                 "--machine=pc", "--smp=%d" % self.args.smp, "--mem=%dM" % mem]
                + shlex.split(self.args.uk_flags))

    def _print_command(self, mem, port):
        cmd = [self.launcher, "--print-command"] + self._flags(mem, port)
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           stdin=subprocess.DEVNULL, env=measure.idle_cpu.launcher_env())
        if r.returncode != 0:
            log("uk: %s failed (exit %d): %s" % (shlex.join(cmd), r.returncode, r.stderr.strip()))
            return None
        return measure.idle_cpu.command_from_output(r.stdout)

    def argv(self, mem, port):
        if self.launcher_mode:
            return [self.launcher] + self._flags(mem, port)
        argv = self._print_command(mem, port)
        if argv is None:
            raise VMFailure("uk: --print-command failed")
        return argv


# --------------------------------------------------------------- sessions


def sleep_until(t):
    d = t - time.monotonic()
    if d > 0:
        time.sleep(d)


def pct(w):
    return None if w is None else w["percent"]


def cpu_ms(w):
    return None if w is None else w["cpu_s"] * 1000.0


def start_vm(spec, args, mem, port, tag):
    serial = os.path.join(args.out, "serial-%s-%s.log" % (spec.name, tag))
    vm = measure.VM(spec.name, spec.argv(mem, port), serial, spec.ready_text,
                    step=args.sample_ms / 1000.0, launcher=spec.launcher_mode)
    vm.start()
    return vm


def session(spec, args, files):
    """Boot, idle, burst/after, wrk x2, on/off pattern. Returns the result dict."""
    port = args.port or measure.free_port()
    res = {"label": spec.label, "port": port, "mem_mib": args.mem_mib}
    log("%s: booting (-m %dM, -smp %d, %s, port %d)" % (spec.name, args.mem_mib, args.smp,
                                                         args.accel, port))
    vm = start_vm(spec, args, args.mem_mib, port, "main")
    res["command"] = vm.argv
    try:
        t200 = measure.wait_http_200(vm, port, args.boot_timeout)
        if t200 is None:
            raise VMFailure("%s: no HTTP 200 within %g s of QEMU start (%s)\n%s" % (
                spec.name, args.boot_timeout, "QEMU exited" if not vm.alive() else "timeout",
                vm.tail()))
        res["boot_ms"] = (t200 - vm.start_t) * 1000
        res["ready_line_ms"] = None if vm.ready_t is None else (vm.ready_t - vm.start_t) * 1000
        res["qemu_pid"] = vm.qemu_pid
        res["cpu_source"] = vm.source.name
        res["boot_cpu_ms"] = cpu_ms(vm.window(vm.start_t, t200))
        log("%s: first HTTP 200 after %.0f ms (ready line at %s ms)" % (
            spec.name, res["boot_ms"], "n/a" if res["ready_line_ms"] is None
            else "%.0f" % res["ready_line_ms"]))
        bad = check_content(port, args.site, files)
        res["content_mismatch"] = bad
        if bad:
            log("%s: WARNING: served content differs for %s" % (spec.name, ", ".join(bad)))

        # (b) idle.
        t0 = time.monotonic() + 1.0
        log("%s: idle for %g s" % (spec.name, args.idle_seconds))
        sleep_until(t0 + args.idle_seconds)
        w = vm.window(t0, t0 + args.idle_seconds)
        res["idle"] = w and {"percent": w["percent"], "cpu_ms": cpu_ms(w), "wall_s": w["wall_s"],
                             "stat_ticks": w["ticks"], "stat_percent": w["ticks_percent"],
                             "per_second": [pct(vm.window(t0 + i, t0 + i + 1))
                                            for i in range(int(args.idle_seconds))]}

        # (c) burst, then the seconds after.
        log("%s: %g s wrk burst, then %g s after" % (spec.name, args.burst_seconds,
                                                     args.after_seconds))
        b0, b1, parsed, _ = measure.run_wrk(port, "/index.html", args.burst_seconds, latency=False)
        sleep_until(b1 + args.after_seconds + 0.05)
        w = vm.window(b1, b1 + args.after_seconds)
        res["after_burst"] = {
            "burst_requests_per_s": parsed["requests_per_s"],
            "burst_percent": pct(vm.window(b0, b1)),
            "after_cpu_ms": cpu_ms(w), "after_percent": pct(w),
            "per_second": [pct(vm.window(b1 + i, b1 + i + 1))
                           for i in range(int(args.after_seconds))],
        }

        # (d) wrk on the small page and the 64 KiB file.
        res["wrk"] = {}
        for key, path in (("index", "/index.html"), ("64k", "/64k.bin")):
            time.sleep(1.0)
            log("%s: wrk -t1 -c4 -d%gs %s" % (spec.name, args.wrk_seconds, path))
            s0, s1, parsed, raw = measure.run_wrk(port, path, args.wrk_seconds)
            parsed["cpu_percent"] = pct(vm.window(s0, s1))
            parsed["raw"] = raw
            res["wrk"][key] = parsed
            if not parsed["requests_per_s"]:
                log("%s: wrk on %s got no result:\n%s" % (spec.name, path, raw))

        # On/off pattern for the plot.
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
        ws = [vm.window(a, b) for a, b in idle if b - a >= 0.5]
        ws = [w for w in ws if w]
        if ws:
            cpu, wall = sum(w["cpu_s"] for w in ws), sum(w["wall_s"] for w in ws)
            res["steady_idle"] = {"percent": 100.0 * cpu / wall, "cpu_ms": cpu * 1000,
                                  "wall_s": wall}
        if not vm.alive():
            raise VMFailure("%s: QEMU exited during the measurements\n%s" % (spec.name, vm.tail()))
    finally:
        vm.stop()
    return res


def serves(spec, args, mem):
    port = args.port or measure.free_port()
    vm = start_vm(spec, args, mem, port, "mem")
    try:
        t200 = measure.wait_http_200(vm, port, args.mem_timeout)
        if t200 is None:
            return False, None
        status, length = measure.http_get_status(port, "/64k.bin", timeout=10)
        return status == 200 and length == 65536, (t200 - vm.start_t) * 1000
    finally:
        vm.stop()


def min_memory(spec, args):
    """Binary search for the smallest -m (MiB, multiple of --mem-step) that serves."""
    lo, hi = args.mem_min, args.mem_max
    probes = []

    def probe(mem):
        ok, boot = serves(spec, args, mem)
        probes.append({"mem_mib": mem, "serves": ok, "boot_ms": boot})
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


# ------------------------------------------------------------------- table


def fmt(v, digits=1):
    if v is None:
        return "-"
    if isinstance(v, str):
        return v
    if abs(v) >= 100:
        return "{:,.0f}".format(v)
    return "%.*f" % (digits if abs(v) >= 1 else max(digits, 3), v)


def ratio(v, ref):
    if v is None or ref is None:
        return "-"
    if ref == 0:
        return "inf" if v > 0 else "1"
    return "%.2fx" % (v / ref)


def rows(doc):
    """[(measure, {vm: value})] for the table."""
    def get(vm, *path):
        x = doc["vms"].get(vm, {})
        for p in path:
            if not isinstance(x, dict) or x.get(p) is None:
                return None
            x = x[p]
        return x

    def size_kib(vm, key):
        v = get(vm, "sizes", key)
        return None if v is None else v / 1024.0
    idle_s, after_s = doc["settings"]["idle_seconds"], doc["settings"]["after_seconds"]
    spec = [
        ("QEMU start -> first HTTP 200 (ms)", lambda v: get(v, "boot_ms")),
        ("QEMU start -> ready line (ms)", lambda v: get(v, "ready_line_ms")),
        ("host CPU to first 200 (ms CPU)", lambda v: get(v, "boot_cpu_ms")),
        ("idle host CPU over %g s (%% of a core)" % idle_s, lambda v: get(v, "idle", "percent")),
        ("idle host CPU over %g s (ms CPU)" % idle_s, lambda v: get(v, "idle", "cpu_ms")),
        ("steady idle host CPU, on/off idle phases (% of a core)",
         lambda v: get(v, "steady_idle", "percent")),
        ("host CPU in %g s after a %g s burst (ms CPU)" % (after_s, doc["settings"]["burst_seconds"]),
         lambda v: get(v, "after_burst", "after_cpu_ms")),
    ]
    for key, name in (("index", "index.html %d B" % doc["site"]["index.html"]),
                      ("64k", "64k.bin")):
        spec += [
            ("%s: requests/s" % name, lambda v, k=key: get(v, "wrk", k, "requests_per_s")),
            ("%s: median latency (ms)" % name, lambda v, k=key: get(v, "wrk", k, "latency_ms", "p50")),
            ("%s: p99 latency (ms)" % name, lambda v, k=key: get(v, "wrk", k, "latency_ms", "p99")),
            ("%s: host CPU under wrk (%% of a core)" % name,
             lambda v, k=key: get(v, "wrk", k, "cpu_percent")),
        ]
    spec += [
        ("minimum -m that serves (MiB)", lambda v: get(v, "memory", "min_mib")),
        ("kernel (KiB)", lambda v: size_kib(v, "kernel_bytes")),
        ("initramfs, gzip (KiB)", lambda v: size_kib(v, "initrd_bytes")),
        ("kernel + initramfs (KiB)", lambda v: size_kib(v, "total_bytes")),
    ]
    return [(name, {vm: f(vm) for vm in doc["vm_order"]}) for name, f in spec]


def table(doc):
    order = doc["vm_order"]
    others = [v for v in order if v != "uk"]
    head = ["measure"] + [doc["vms"][v]["label"] for v in order]
    head += ["%s / uk" % v for v in others] if "uk" in order else []
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, values in rows(doc):
        cells = [name]
        for v in order:
            status = doc["vms"][v].get("status", "ok")
            cells.append(fmt(values[v]) if status == "ok" else status)
        if "uk" in order:
            cells += [ratio(values[v], values["uk"]) for v in others]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def notes(doc):
    s = doc["settings"]
    out = ["", "Settings: QEMU %s, machine pc, %s, -smp %d, -m %d MiB (except the memory search), "
           "user networking hostfwd 127.0.0.1:PORT->:80, virtio-net-pci; wrk -t1 -c4; CPU sampled "
           "every %d ms from QEMU's process CPU clock. Host: %d cores. %s."
           % (s["qemu_version"], s["accel"].upper(), s["smp"], s["mem_mib"], s["sample_ms"],
              os.cpu_count(), s["date"])]
    for v in doc["vm_order"]:
        vm = doc["vms"][v]
        if vm.get("status", "ok") != "ok":
            out.append("- %s: %s" % (vm["label"], vm["status"]))
        for key in ("index", "64k"):
            w = vm.get("wrk", {}).get(key)
            if w and (w.get("errors") and any(w["errors"].values()) or w.get("non_2xx")):
                out.append("- %s, %s: socket errors %s, non-2xx %s" % (
                    vm["label"], key, w.get("errors"), w.get("non_2xx")))
        if vm.get("content_mismatch"):
            out.append("- %s served different content for %s" % (vm["label"],
                                                                 ", ".join(vm["content_mismatch"])))
        if vm.get("error"):
            out.append("- %s failed: %s" % (vm["label"], vm["error"].splitlines()[0]))
    return "\n".join(out)


# -------------------------------------------------------------------- main


def parse_args(argv):
    p = argparse.ArgumentParser(prog="bench/run.py", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--vms", default=",".join(ALL_VMS),
                   help="comma-separated VMs from %s (default: all)" % ",".join(ALL_VMS))
    p.add_argument("--out", default=os.path.join(HERE, "out"), help="output folder (default bench/out)")
    p.add_argument("--cache", default="/tmp/uk-bench-cache",
                   help="Debian packages and built initramfs (default /tmp/uk-bench-cache)")
    p.add_argument("--accel", choices=["tcg", "kvm"], default="tcg",
                   help="QEMU accelerator for every VM (default tcg)")
    p.add_argument("--smp", type=int, default=4, help="vCPUs per VM (default 4)")
    p.add_argument("--mem", type=int, default=256, dest="mem_mib", metavar="MIB",
                   help="guest memory in MiB outside the memory search (default 256)")
    p.add_argument("--idle-seconds", type=float, default=20.0, help="idle window (default 20)")
    p.add_argument("--burst-seconds", type=float, default=3.0, help="wrk burst (default 3)")
    p.add_argument("--after-seconds", type=float, default=2.0,
                   help="window after the burst (default 2)")
    p.add_argument("--wrk-seconds", type=float, default=10.0,
                   help="each wrk -t1 -c4 --latency run (default 10)")
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
    p.add_argument("--no-plot", action="store_true", help="skip cpu.png")
    p.add_argument("--quick", action="store_true",
                   help="short try: idle 5 s, wrk 3 s, pattern 2,2,2,2,2, memory step 16 MiB")
    args = p.parse_args(argv)
    if args.quick:
        args.idle_seconds, args.wrk_seconds, args.pattern = 5.0, 3.0, "2,2,2,2,2"
        args.mem_step = max(args.mem_step, 16)
    args.vms = [v.strip() for v in args.vms.split(",") if v.strip()]
    for v in args.vms:
        if v not in ALL_VMS:
            p.error("unknown VM %r (choose from %s)" % (v, ",".join(ALL_VMS)))
    try:
        args.pattern = [float(x) for x in args.pattern.split(",")]
    except ValueError:
        p.error("--pattern wants comma-separated seconds")
    if any(x <= 0 for x in args.pattern) or any(x <= 0 for x in (
            args.idle_seconds, args.burst_seconds, args.after_seconds, args.wrk_seconds)):
        p.error("durations must be positive")
    if not 1 <= args.mem_min < args.mem_max or args.mem_step < 1:
        p.error("need 1 <= --mem-min < --mem-max and --mem-step >= 1")
    if args.smp < 1 or args.sample_ms < 10:
        p.error("need --smp >= 1 and --sample-ms >= 10")
    args.out = os.path.abspath(args.out)
    args.site = os.path.join(args.out, "site")
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

    specs = []
    for v in args.vms:
        if v == "uk":
            spec = UkSpec(args, args.site)
            if spec.status != "ok":
                log("uk: %s not found: column 'not built' (bazel build //images:webserver)"
                    % spec.launcher)
        else:
            try:
                spec = LinuxSpec(v, linux_vm.build(args.cache, v, args.site), args)
            except linux_vm.BuildError as e:
                print("bench: %s: %s" % (v, e), file=sys.stderr)
                return EXIT_MISSING
        specs.append(spec)

    doc = {
        "settings": {
            "accel": args.accel, "smp": args.smp, "mem_mib": args.mem_mib,
            "idle_seconds": args.idle_seconds, "burst_seconds": args.burst_seconds,
            "after_seconds": args.after_seconds, "wrk_seconds": args.wrk_seconds,
            "pattern": args.pattern, "sample_ms": args.sample_ms,
            "qemu_version": qemu_version(), "date": time.strftime("%Y-%m-%d %H:%M"),
            "host_cpus": os.cpu_count(),
        },
        "site": files,
        "vm_order": [s.name for s in specs],
        "vms": {},
    }
    status = EXIT_OK
    for spec in specs:
        entry = {"label": spec.label, "status": spec.status, "sizes": spec.sizes,
                 "info": spec.info, "launcher_mode": spec.launcher_mode}
        doc["vms"][spec.name] = entry
        if spec.status != "ok":
            continue
        try:
            entry.update(session(spec, args, files))
            if not args.no_mem_search:
                log("%s: memory search %d..%d MiB, step %d" % (
                    spec.name, args.mem_min, args.mem_max, args.mem_step))
                entry["memory"] = min_memory(spec, args)
        except (VMFailure, OSError) as e:
            entry["error"] = str(e)
            entry["status"] = "failed"
            print("bench: %s" % e, file=sys.stderr)
            status = EXIT_FAILED
        except KeyboardInterrupt:
            print("\nbench: interrupted", file=sys.stderr)
            return EXIT_INTERRUPTED

    with open(os.path.join(args.out, "raw.json"), "w") as f:
        json.dump(doc, f, indent=1)
    text = table(doc) + "\n" + notes(doc) + "\n"
    with open(os.path.join(args.out, "table.md"), "w") as f:
        f.write(text)
    print(text)
    png = os.path.join(args.out, "cpu.png")
    if plotter == "inline":
        plot.plot(doc, png)
        log("wrote %s" % png)
    elif plotter:
        if subprocess.run([plotter, os.path.join(HERE, "plot.py"),
                           os.path.join(args.out, "raw.json"), png]).returncode != 0:
            status = status or EXIT_FAILED
        else:
            log("wrote %s (with %s)" % (png, plotter))
    log("wrote %s and raw.json" % os.path.join(args.out, "table.md"))
    return status


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("\nbench: interrupted", file=sys.stderr)
        sys.exit(EXIT_INTERRUPTED)
