#!/usr/bin/env python3
"""Plots from bench/run.py's raw JSON: cpu.png and sweep.png.

    python3 bench/plot.py bench/out/raw.json bench/out/

cpu.png: each system's host CPU over the on/off load pattern (at its best
configuration). sweep.png: the load sweep, three panels against the
offered rate: host CPU (% of a core), host CPU-ms per 1,000 requests, and
p99 latency (from each request's scheduled time).

Needs matplotlib (Debian: apt-get install python3-matplotlib). run.py calls
this in-process when matplotlib imports, else runs it with /usr/bin/python3
(where Debian's python3-matplotlib lives), else says what to install.
"""

import json
import os
import sys

COLORS = {"uk": "tab:green", "busybox": "tab:blue", "nginx": "tab:red"}


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _name(doc, v):
    s = doc["systems"][v]
    return "%s (%s)" % (s["label"], doc["configs"][s["best"]]["describe"])


def plot_onoff(doc, out_png):
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(10, 4.8), dpi=110)
    shaded = False
    for v in doc["order"]:
        onoff = doc["systems"][v].get("onoff")
        if not onoff or not onoff.get("series"):
            continue
        ax.plot([t for t, _ in onoff["series"]], [p for _, p in onoff["series"]],
                label=_name(doc, v), color=COLORS.get(v), linewidth=1.2)
        if not shaded:
            for lo, hi in onoff["load_spans_s"]:
                ax.axvspan(lo, hi, color="0.9", zorder=0)
            shaded = True
    ax.set_xlabel("time since the pattern started (s); grey = wrk -t1 -c4 on /index.html")
    ax.set_ylabel("QEMU host CPU (%% of one core, per %d ms)" % doc["settings"]["sample_ms"])
    ax.set_title("Host CPU of each VM's QEMU process under on/off load (%s, %s)"
                 % (doc["settings"]["accel"].upper(), doc["settings"]["date"]), fontsize=10)
    ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper center", fontsize=8)
    fig.tight_layout()
    fig.savefig(out_png)
    plt.close(fig)


def plot_sweep(doc, out_png):
    plt = _pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.8), dpi=100)
    drawn = [False, False, False]
    for v in doc["order"]:
        s = doc["systems"][v]
        points = [p for p in s.get("sweep") or [] if "error" not in p]
        style = dict(color=COLORS.get(v), marker="o", linewidth=1.2, label=_name(doc, v))
        for i, key in enumerate(("cpu_percent", "cpu_ms_per_1000", "p99_ms")):
            xy = [(p["offered_rps"], p[key]) for p in points if (p.get(key) or 0) > 0]
            if xy:
                axes[i].plot([x for x, _ in xy], [y for _, y in xy], **style)
                drawn[i] = True
        idle = (s.get("steady_idle") or {}).get("percent")
        if points and idle is not None:
            axes[0].scatter([points[0]["offered_rps"] / 4], [idle], color=COLORS.get(v),
                            marker="x")
    titles = ("host CPU of QEMU (% of one core); x = steady idle",
              "host CPU-ms per 1,000 requests", "p99 latency (ms, from scheduled send)")
    for ax, title in zip(axes, titles):
        ax.set_xscale("log")
        ax.set_xlabel("offered requests/s (10-100% of each system's own maximum)")
        ax.set_title(title, fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
    for i in (1, 2):
        if drawn[i]:
            axes[i].set_yscale("log")
    axes[0].set_ylim(bottom=0)
    if drawn[0]:
        axes[0].legend(fontsize=7, loc="upper left")
    fig.suptitle("Load sweep on the 599 B page, open-loop constant rate (%s, %s)"
                 % (doc["settings"]["accel"].upper(), doc["settings"]["date"]), fontsize=11)
    fig.tight_layout()
    fig.savefig(out_png)
    plt.close(fig)


def plot_all(doc, out_dir):
    plot_onoff(doc, os.path.join(out_dir, "cpu.png"))
    plot_sweep(doc, os.path.join(out_dir, "sweep.png"))


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[0]) as f:
        doc = json.load(f)
    try:
        plot_all(doc, argv[1])
    except ImportError:
        print("plot: matplotlib is missing; install it with: apt-get install python3-matplotlib",
              file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
