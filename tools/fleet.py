#!/usr/bin/env python3
"""Runs a fleet of one image under libvirt: one domain per instance, each
booting the image's ELF directly (<kernel>, <cmdline>), with its HTTP port
forwarded to 127.0.0.1 and its serial console in a log file.

    bazel run //tools:fleet -- up --image=webserver --count=3
    bazel run //tools:fleet -- status
    bazel run //tools:fleet -- down          # virsh shutdown: the ACPI power button

`up` renders and starts the domains (`virsh create`: transient, nothing is
left defined), waits until each answers HTTP 200 and prints its URL. `down`
presses each one's power button (`virsh shutdown`), waits at most
--timeout seconds for it to power off, reads its console log for the
kernel's graceful-shutdown lines, and falls back to `virsh destroy` for an
instance that did not stop, saying so. Exit status: 0 when every instance
came up (up) or stopped gracefully (down), 1 otherwise, 2 for bad flags.

The domains: type 'kvm' when /dev/kvm works, 'qemu' (TCG) otherwise;
machine pc (the kernel's virtio drivers are PCI; the power button is the
PM1 fixed event), no USB, no balloon. The NIC is QEMU user networking with
a host forward, passed through <qemu:commandline>: Debian bookworm's
libvirt (9.0) forwards user-mode ports only with passt, which is not
installed. The state (domain XML, console logs, the fleet's ports) is kept
in --state (default /tmp/uk-fleet); --uri picks the libvirt daemon.
"""

import argparse
import json
import os
import re
import shlex
import subprocess
import sys
import time
import urllib.request
from xml.sax.saxutils import escape, quoteattr

DEFAULT_STATE = "/tmp/uk-fleet"


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="fleet", description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("--uri", default="qemu:///system", help="libvirt URI (default qemu:///system)")
    p.add_argument("--state", default=DEFAULT_STATE, help="state folder (default %(default)s)")
    sub = p.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start --count instances and wait for each to serve")
    up.add_argument("--image", default="webserver", help="image name (default webserver)")
    up.add_argument("--launcher", help="the image's runner script (default: from the runfiles)")
    up.add_argument("--count", type=int, default=3, help="instances, 1-32 (default 3)")
    up.add_argument("--first-port", type=int, default=18080,
                    help="host port of instance 1; the next get the next ports (default 18080)")
    up.add_argument("--timeout", type=float, default=180,
                    help="seconds to wait for each instance to answer (default 180)")
    sub.add_parser("status", help="each instance's state and URL")
    down = sub.add_parser("down", help="press each instance's power button and wait")
    down.add_argument("--timeout", type=float, default=60,
                      help="seconds to wait for each to power off (default 60)")
    args = p.parse_args(argv)
    if args.command == "up":
        if not 1 <= args.count <= 32:
            p.error("--count must be 1-32")
        if not 1024 <= args.first_port <= 65535 - args.count:
            p.error("--first-port must leave room for --count ports below 65536")
        if not re.match(r"^[a-z0-9_]+$", args.image):
            p.error("--image: %r is not an image name" % args.image)
    return args


def virsh(args, *command, check=True):
    result = subprocess.run(["virsh", "-q", "-c", args.uri] + list(command),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if check and result.returncode != 0:
        raise RuntimeError("virsh %s: %s" % (" ".join(command), result.stderr.strip()))
    return result


def find_launcher(image):
    here = os.path.dirname(os.path.abspath(__file__))
    for root in (os.environ.get("RUNFILES_DIR", ""), here + ".runfiles", here):
        for candidate in (os.path.join(root, "unikernel", "images", image),
                          os.path.join(root, "images", image)):
            if os.path.isfile(candidate):
                return candidate
    sys.exit("fleet: no runner for image %r in the runfiles; build it "
             "(bazel build //images:%s) or pass --launcher" % (image, image))


def boot_plan(launcher):
    """What the runner would run: the kernel, its command line, vCPUs, memory."""
    env = dict(os.environ)
    # The runner finds its files through RUNFILES_DIR: the tree the
    # launcher sits in (<root>/unikernel/images/NAME).
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(launcher))))
    if os.path.isdir(os.path.join(root, "unikernel", "images")):
        env["RUNFILES_DIR"] = root
    printed = subprocess.run([launcher, "--print-command", "--accel=tcg"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=env)
    if printed.returncode != 0:
        sys.exit("fleet: %s --print-command failed: %s" % (launcher, printed.stderr.strip()))
    command = shlex.split(printed.stdout.strip().splitlines()[-1])
    value = lambda flag, default: command[command.index(flag) + 1] if flag in command else default
    kernel = os.path.abspath(value("-kernel", ""))
    memory = value("-m", "256M")
    memory_mib = int(memory[:-1]) * (1024 if memory.endswith("G") else 1) if memory[-1] in "MG" \
        else int(memory) // (1024 * 1024)
    guest_port = 80
    netdev = value("-netdev", "")
    forward = re.search(r"hostfwd=tcp:[^-]*-:(\d+)", netdev)
    if forward:
        guest_port = int(forward.group(1))
    return {"kernel": kernel, "cmdline": value("-append", ""), "vcpus": int(value("-smp", "1")),
            "memory_mib": memory_mib, "guest_port": guest_port}


def kvm_usable():
    return os.access("/dev/kvm", os.R_OK | os.W_OK)


def domain_xml(name, plan, port, log):
    netdev = "user,id=net0,hostfwd=tcp:127.0.0.1:%d-:%d" % (port, plan["guest_port"])
    qemu_args = ["-netdev", netdev,
                 "-device", "virtio-net-pci,netdev=net0,disable-legacy=on,romfile="]
    return """<domain type=%(type)s xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>
  <name>%(name)s</name>
  <memory unit='MiB'>%(memory)d</memory>
  <vcpu>%(vcpus)d</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>%(kernel)s</kernel>
    <cmdline>%(cmdline)s</cmdline>
  </os>
  <features><acpi/></features>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <serial type='file'><source path=%(log)s/><target port='0'/></serial>
    <controller type='usb' model='none'/>
    <memballoon model='none'/>
  </devices>
  <qemu:commandline>
%(args)s
  </qemu:commandline>
</domain>
""" % {
        "type": quoteattr("kvm" if kvm_usable() else "qemu"),
        "name": escape(name),
        "memory": plan["memory_mib"],
        "vcpus": plan["vcpus"],
        "kernel": escape(plan["kernel"]),
        "cmdline": escape(plan["cmdline"]),
        "log": quoteattr(log),
        "args": "\n".join("    <qemu:arg value=%s/>" % quoteattr(a) for a in qemu_args),
    }


def load_state(args):
    path = os.path.join(args.state, "fleet.json")
    if not os.path.exists(path):
        sys.exit("fleet: no fleet in %s (start one with `fleet up`)" % args.state)
    with open(path) as f:
        return json.load(f)


def http_ok(port):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/" % port, timeout=5) as r:
            return r.status == 200
    except OSError:
        return False


def up(args):
    launcher = args.launcher or find_launcher(args.image)
    plan = boot_plan(launcher)
    os.makedirs(args.state, exist_ok=True)
    instances = []
    for i in range(1, args.count + 1):
        name = "uk-%s-%d" % (args.image, i)
        port = args.first_port + i - 1
        log = os.path.join(args.state, name + ".log")
        xml = os.path.join(args.state, name + ".xml")
        with open(xml, "w") as f:
            f.write(domain_xml(name, plan, port, log))
        virsh(args, "create", xml)
        instances.append({"name": name, "port": port, "log": log})
        print("fleet: %s started (%s, %d vCPUs, %d MiB)" % (
            name, "kvm" if kvm_usable() else "tcg", plan["vcpus"], plan["memory_mib"]),
            file=sys.stderr)
    with open(os.path.join(args.state, "fleet.json"), "w") as f:
        json.dump({"image": args.image, "instances": instances}, f, indent=2)
    failed = 0
    for instance in instances:
        deadline = time.monotonic() + args.timeout
        while not http_ok(instance["port"]) and time.monotonic() < deadline:
            time.sleep(0.5)
        if http_ok(instance["port"]):
            print("fleet: %s serves http://127.0.0.1:%d/" % (instance["name"], instance["port"]))
        else:
            failed += 1
            print("fleet: %s did not answer within %g s (console: %s)"
                  % (instance["name"], args.timeout, instance["log"]), file=sys.stderr)
    return 1 if failed else 0


def domain_state(args, name):
    result = virsh(args, "domstate", name, check=False)
    return result.stdout.strip() if result.returncode == 0 else "gone"


def status(args):
    for instance in load_state(args)["instances"]:
        print("%s: %s, http://127.0.0.1:%d/, console %s" % (
            instance["name"], domain_state(args, instance["name"]), instance["port"],
            instance["log"]))
    return 0


def down(args):
    instances = load_state(args)["instances"]
    for instance in instances:
        if domain_state(args, instance["name"]) == "running":
            virsh(args, "shutdown", instance["name"], check=False)
    failed = 0
    for instance in instances:
        deadline = time.monotonic() + args.timeout
        while domain_state(args, instance["name"]) == "running" and time.monotonic() < deadline:
            time.sleep(0.2)
        log = ""
        if os.path.exists(instance["log"]):
            with open(instance["log"], errors="replace") as f:
                log = f.read()
        if domain_state(args, instance["name"]) == "running":
            virsh(args, "destroy", instance["name"], check=False)
            failed += 1
            print("fleet: %s did not power off within %g s; destroyed" % (
                instance["name"], args.timeout), file=sys.stderr)
        elif "shutdown: powering off" in log:
            print("fleet: %s shut down gracefully" % instance["name"])
        else:
            failed += 1
            print("fleet: %s stopped without the kernel's shutdown lines (console: %s)" % (
                instance["name"], instance["log"]), file=sys.stderr)
    return 1 if failed else 0


def main(argv):
    args = parse_args(argv)
    if subprocess.run(["which", "virsh"], stdout=subprocess.DEVNULL).returncode != 0:
        sys.exit("fleet: virsh is missing: apt-get install libvirt-clients libvirt-daemon "
                 "libvirt-daemon-driver-qemu (tools/setup.sh installs them)")
    try:
        return {"up": up, "status": status, "down": down}[args.command](args)
    except RuntimeError as e:
        print("fleet: %s" % e, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
