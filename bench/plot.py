#!/usr/bin/env python3
"""Plots each VM's host CPU over the on/off load pattern from bench's raw JSON.

    python3 bench/plot.py bench/out/raw.json bench/out/cpu.png

Needs matplotlib (Debian: apt-get install python3-matplotlib). run.py calls
this in-process when matplotlib imports, else runs it with /usr/bin/python3
(where Debian's python3-matplotlib lives), else says what to install.
"""

import json
import sys

COLORS = {"uk": "tab:green", "busybox": "tab:blue", "nginx": "tab:red"}


def plot(doc, out_png):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 4.8), dpi=110)
    shaded = False
    for name, vm in doc["vms"].items():
        onoff = vm.get("onoff")
        if not onoff or not onoff.get("series"):
            continue
        xs = [t for t, _ in onoff["series"]]
        ys = [p for _, p in onoff["series"]]
        ax.plot(xs, ys, label=vm.get("label", name), color=COLORS.get(name), linewidth=1.2)
        if not shaded:
            for lo, hi in onoff["load_spans_s"]:
                ax.axvspan(lo, hi, color="0.9", zorder=0)
            shaded = True
    ax.set_xlabel("time since the pattern started (s); grey = wrk -t1 -c4 on /index.html")
    ax.set_ylabel("QEMU host CPU (%% of one core, per %d ms)" % doc["settings"]["sample_ms"])
    ax.set_title("Host CPU of each VM's QEMU process under on/off load (TCG, %d vCPUs, "
                 "user networking)" % doc["settings"]["smp"], fontsize=10)
    ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper center")
    fig.tight_layout()
    fig.savefig(out_png)
    plt.close(fig)


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[0]) as f:
        doc = json.load(f)
    try:
        plot(doc, argv[1])
    except ImportError:
        print("plot: matplotlib is missing; install it with: apt-get install python3-matplotlib",
              file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
