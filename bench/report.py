"""The tables of bench/run.py, from its raw.json document (markdown).

Every row names its configuration (vCPUs, and for ours where the net, fs
and http services run); a ratio is printed only between rows at equal vCPUs
or between each system's best, and the heading says which.
"""

import os

FILES = (("index", "599 B page"), ("64k", "64 KiB file"))


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
        return "inf" if v > 0 else "-"
    return "%.2fx" % (v / ref)


def md(head, rows):
    lines = ["| " + " | ".join(head) + " |",
             "|" + "|".join("---" if i == 0 else "---:" for i in range(len(head))) + "|"]
    lines += ["| " + " | ".join(cells) + " |" for cells in rows]
    return "\n".join(lines)


def label(doc, key):
    c = doc["configs"][key]
    return "%s, %s" % (doc["systems"][c["system"]]["label"], c["describe"])


def wrk(doc, key, file_key):
    s = doc["configs"][key].get("summary")
    return s["wrk"][file_key] if s else None


def equal_vcpu_table(doc):
    head = ["vCPUs", "system (placement)", "first 200 (ms)"]
    for _, name in FILES:
        head += ["%s req/s" % name, "p50 / p99 (ms)", "host CPU-ms per 1,000 req"]
    rows = []
    for smp in doc["settings"]["smp"]:
        for key, c in doc["configs"].items():
            if c["smp"] != smp:
                continue
            name = doc["systems"][c["system"]]["label"]
            if c["placement"]:
                name += " (%s: %s)" % (c["placement"], "/".join(map(str, c["cores"])))
            s = c.get("summary")
            if not s:
                rows.append([str(smp), name, c.get("status", "failed")] + [""] * 6)
                continue
            cells = [str(smp), name, fmt(s["boot_ms"])]
            for fk, _ in FILES:
                w = s["wrk"][fk]
                cells += [fmt(w["requests_per_s"]),
                          "%s / %s" % (fmt(w["p50_ms"], 2), fmt(w["p99_ms"], 2)),
                          fmt(w["cpu_ms_per_1000"])]
            rows.append(cells)
    return md(head, rows)


def best_at(doc, system, smp, file_key):
    keys = [k for k, c in doc["configs"].items()
            if c["system"] == system and c["smp"] == smp and c.get("summary")]
    keys = [k for k in keys if wrk(doc, k, file_key)["requests_per_s"]]
    return max(keys, key=lambda k: wrk(doc, k, file_key)["requests_per_s"]) if keys else None


def equal_vcpu_ratios(doc):
    """uk's best placement at each vCPU count against each Linux VM at the same count."""
    if "uk" not in doc["order"]:
        return ""
    others = [v for v in doc["order"] if v != "uk"]
    head = ["vCPUs", "file", "uk placement"]
    for v in others:
        head += ["req/s uk / %s" % v, "CPU per req %s / uk" % v]
    rows = []
    for smp in doc["settings"]["smp"]:
        for fk, fname in FILES:
            uk = best_at(doc, "uk", smp, fk)
            if uk is None:
                continue
            u = wrk(doc, uk, fk)
            cells = [str(smp), fname, doc["configs"][uk]["placement"]]
            for v in others:
                o = best_at(doc, v, smp, fk)
                ow = wrk(doc, o, fk) if o else None
                cells += [ratio(u["requests_per_s"], ow and ow["requests_per_s"]),
                          ratio(ow and ow["cpu_ms_per_1000"], u["cpu_ms_per_1000"])]
            rows.append(cells)
    return md(head, rows)


def best_vs_best(doc):
    head = ["file", "system", "its best configuration", "req/s", "p50 / p99 (ms)",
            "host CPU-ms per 1,000 req", "req/s vs uk", "CPU per req vs uk"]
    rows = []
    for fk, fname in FILES:
        best = {}
        for v in doc["order"]:
            keys = [k for k, c in doc["configs"].items() if c["system"] == v and c.get("summary")
                    and wrk(doc, k, fk)["requests_per_s"]]
            if keys:
                best[v] = max(keys, key=lambda k: wrk(doc, k, fk)["requests_per_s"])
        u = wrk(doc, best["uk"], fk) if "uk" in best else None
        for v in doc["order"]:
            if v not in best:
                rows.append([fname, doc["systems"][v]["label"], "not measured"] + [""] * 5)
                continue
            w = wrk(doc, best[v], fk)
            rows.append([fname, doc["systems"][v]["label"], doc["configs"][best[v]]["describe"],
                         fmt(w["requests_per_s"]),
                         "%s / %s" % (fmt(w["p50_ms"], 2), fmt(w["p99_ms"], 2)),
                         fmt(w["cpu_ms_per_1000"]),
                         "" if v == "uk" or not u else ratio(w["requests_per_s"],
                                                             u["requests_per_s"]),
                         "" if v == "uk" or not u else ratio(w["cpu_ms_per_1000"],
                                                             u["cpu_ms_per_1000"])])
    return md(head, rows)


def placement_table(doc):
    head = ["vCPUs", "placement (net/fs/http)", "file", "req/s", "halts / req",
            "wake IPIs sent / req", "wake IPIs received / req", "timer writes / req"]
    rows = []
    for key, c in doc["configs"].items():
        if c["system"] != "uk" or not c.get("summary"):
            continue
        for fk, fname in FILES:
            w = wrk(doc, key, fk)
            pr = w.get("per_request") or {}
            rows.append([str(c["smp"]), "%s: %s" % (c["placement"], "/".join(map(str, c["cores"]))),
                         fname, fmt(w["requests_per_s"]), fmt(pr.get("halts"), 2),
                         fmt(pr.get("wakeups_sent"), 2), fmt(pr.get("wake_irqs"), 2),
                         fmt(pr.get("timer_writes"), 2)])
    return md(head, rows) if rows else ""


def errors(point):
    """The error count of a sweep point, with its kinds when it has any."""
    kinds = point.get("error_kinds") or {}
    text = "{:,}".format(int(point.get("errors") or 0))
    if kinds:
        text += " (%s)" % ", ".join("%s %d" % (k, v) for k, v in sorted(kinds.items()))
    return text


def sweep_table(doc):
    head = ["system (its best)", "offered", "req/s offered", "req/s done", "late",
            "p50 (ms)", "p99 (ms)", "host CPU (% of a core)", "host CPU-ms per 1,000 req",
            "errors"]
    rows = []
    for v in doc["order"]:
        s = doc["systems"][v]
        for p in s.get("sweep") or []:
            rows.append(["%s, %s" % (s["label"], doc["configs"][s["best"]]["describe"]),
                         "%d%%" % p["percent"], fmt(p["offered_rps"]),
                         fmt(p.get("achieved_rps")), "{:,}".format(int(p.get("late") or 0)),
                         fmt(p.get("p50_ms"), 2), fmt(p.get("p99_ms"), 2),
                         fmt(p.get("cpu_percent")), fmt(p.get("cpu_ms_per_1000")),
                         "no result" if "error" in p else errors(p)])
    return md(head, rows) if rows else ""


def other_table(doc):
    order = doc["order"]

    def get(v, *path):
        x = doc["systems"].get(v, {})
        for p in path:
            if not isinstance(x, dict) or x.get(p) is None:
                return None
            x = x[p]
        return x

    def kib(v, key):
        x = get(v, "sizes", key)
        return None if x is None else x / 1024.0
    st = doc["settings"]
    spec = [
        ("configuration (its best on the 599 B page)",
         lambda v: doc["configs"][get(v, "best")]["describe"] if get(v, "best") else None),
        ("QEMU start -> first HTTP 200 (ms)", lambda v: get(v, "boot_ms")),
        ("host CPU to first 200 (ms CPU)", lambda v: get(v, "boot_cpu_ms")),
        ("idle host CPU, %g s from 1 s after up (%% of a core)" % st["idle_seconds"],
         lambda v: get(v, "idle", "percent")),
        ("steady idle host CPU, on/off idle phases (% of a core)",
         lambda v: get(v, "steady_idle", "percent")),
        ("host CPU in %g s after a %g s burst (ms CPU)" % (st["after_seconds"],
                                                          st["burst_seconds"]),
         lambda v: get(v, "after_burst", "after_cpu_ms")),
        ("minimum -m that serves (MiB)", lambda v: get(v, "memory", "min_mib")),
        ("kernel (KiB)", lambda v: kib(v, "kernel_bytes")),
        ("initramfs, gzip (KiB)", lambda v: kib(v, "initrd_bytes")),
        ("kernel + initramfs (KiB)", lambda v: kib(v, "total_bytes")),
    ]
    others = [v for v in order if v != "uk"]
    head = ["measure"] + [doc["systems"][v]["label"] for v in order]
    head += ["%s / uk" % v for v in others] if "uk" in order else []
    rows = []
    for name, f in spec:
        values = {v: f(v) for v in order}
        cells = [name] + [fmt(values[v]) if doc["systems"][v]["status"] == "ok"
                          else doc["systems"][v]["status"] for v in order]
        if "uk" in order:
            cells += ["" if isinstance(values[v], str) or name.startswith("configuration")
                      else ratio(values[v], values["uk"]) for v in others]
        rows.append(cells)
    return md(head, rows)


def notes(doc):
    s = doc["settings"]
    out = ["Run: %s, %s on a %d-core host (%s), QEMU %s, machine pc, -m %d MiB, user "
           "networking (hostfwd 127.0.0.1:PORT -> :80, virtio-net-pci); wrk -t1 -c4 %g s per "
           "file after a %g s warm-up; %d boot(s) per configuration (medians); host load "
           "average %.2f at the start, %.2f at the end; %.0f minutes."
           % (s["date"], s["accel"].upper(), s["host_cpus"], s["host_cpu_model"],
              s["qemu_version"], s["mem_mib"], s["wrk_seconds"], s["warmup_seconds"],
              s["boots"], s["load_before"], s.get("load_after", 0), s.get("minutes", 0))]
    for key, c in doc["configs"].items():
        if c.get("error"):
            out.append("- %s failed: %s" % (label(doc, key), c["error"].splitlines()[0]))
        for fk, fname in FILES:
            w = wrk(doc, key, fk)
            if w and w.get("errors"):
                out.append("- %s, %s: %d wrk socket errors or non-2xx" % (label(doc, key), fname,
                                                                         w["errors"]))
        for run in c.get("runs", []):
            if run.get("content_mismatch"):
                out.append("- %s served different content for %s" % (
                    label(doc, key), ", ".join(run["content_mismatch"])))
    for v, s in doc["systems"].items():
        if s.get("status") != "ok":
            out.append("- %s: %s" % (s["label"], s["status"]))
        if s.get("error"):
            out.append("- %s, best configuration: %s" % (s["label"], s["error"].splitlines()[0]))
    return "\n".join(out)


def tables(doc):
    parts = [notes(doc),
             "## Every configuration (rows at equal vCPUs are comparable)", equal_vcpu_table(doc),
             "## Ratios at equal vCPUs (ours at its best placement for that count)",
             equal_vcpu_ratios(doc),
             "## Best against best (each system at its own best configuration, named)",
             best_vs_best(doc),
             "## Our placements: guest counters per request (sums over cores)",
             placement_table(doc),
             "## Load sweep on the 599 B page (http_load, open loop, each at its best)",
             sweep_table(doc),
             "## At each system's best configuration", other_table(doc)]
    return "\n\n".join(p for p in parts if p) + "\n"


if __name__ == "__main__":
    import json
    import sys
    with open(sys.argv[1] if len(sys.argv) > 1 else os.path.join(
            os.path.dirname(os.path.abspath(__file__)), "out", "raw.json")) as f:
        print(tables(json.load(f)))
