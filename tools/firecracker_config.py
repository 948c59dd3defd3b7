#!/usr/bin/env python3
"""Writes a Firecracker configuration file (`firecracker --no-api
--config-file FILE`) that boots one of our images.

    bazel run //tools:firecracker_config -- --image=webserver --tap=tap0 \\
        --ip=10.77.0.2 --netmask=255.255.0.0 --gateway=10.77.0.1 --out=vm.json
    firecracker --no-api --config-file vm.json

--image=NAME takes the kernel, its command line, vCPUs and memory from the
image's runner (what `bazel run //images:NAME -- --print-command` would
boot); flags the tool does not know go to that runner first, so runner
flags (--smp=4, --mem=128M) and kernel flags (--ip=..., --http_core=0)
work as they do for `bazel run //images:NAME`; --site=DIR has the runner
build the folder's ext2 image, which becomes the read-only drive (--disk
names one yourself). --cmdline, --vcpus and --mem-mib override what the
runner says. Without --image, name the ELF
with --kernel (bazel-bin/images/NAME.elf) and give the rest by hand.
Relative paths are taken from the folder `bazel run` was started in.
kernel_image_path is the ELF in Bazel's output tree: a rebuild replaces it
and `bazel clean` removes it; copy it beside the config to keep one.

The fields are Firecracker's (docs/getting-started.md, the API's
swagger): boot-source (kernel_image_path, boot_args), machine-config
(vcpu_count, mem_size_mib, smt), drives (drive_id, path_on_host,
is_root_device, is_read_only) and network-interfaces (iface_id,
host_dev_name, guest_mac). Firecracker adds the virtio-mmio devices to the
kernel command line itself (virtio_mmio.device=...), and boots the ELF
through its PVH entry. A NIC needs a tap device (--tap); Firecracker runs
no DHCP server, so give the guest its address (--ip, --netmask, --gateway).

Not verified here: Firecracker is not packaged in Debian and needs KVM.
The kernel drives its virtio-mmio devices (docs/drivers.md) through the
same transport the QEMU microvm tests use, but no Firecracker boot was
tried. README, "Run it on an engine", says the same.
"""

import argparse
import json
import os
import re
import shlex
import subprocess
import sys

MAC = re.compile(r"^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$")
TAP = re.compile(r"^[A-Za-z0-9_.-]{1,15}$")  # a Linux interface name
IMAGE = re.compile(r"^[a-z0-9_]+$")
MEMORY = re.compile(r"^(\d+)([KMGT]?)B?$", re.IGNORECASE)


def from_start_dir(path):
    """`bazel run` starts tools in their runfiles; a relative path the user
    typed means the folder they typed it in."""
    start = os.environ.get("BUILD_WORKING_DIRECTORY", "")
    return os.path.abspath(os.path.join(start, path) if start else path)


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="firecracker_config", description=__doc__.split("\n\n")[0], allow_abbrev=False,
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("--image", help="an image name (webserver, echo, hello, ...): "
                                   "kernel, command line, vCPUs and memory from its runner")
    p.add_argument("--launcher", help="the image's runner script (default: from the runfiles)")
    p.add_argument("--kernel", help="the image's ELF (bazel-bin/images/NAME.elf), without --image")
    p.add_argument("--cmdline", help="the kernel command line (default: the image's)")
    p.add_argument("--vcpus", type=int, help="vCPUs, 1-32 (default: the image's, else 1)")
    p.add_argument("--mem-mib", type=int,
                   help="guest memory in MiB (default: the image's, else 256)")
    p.add_argument("--disk", help="an ext2 disk image for the fs service")
    p.add_argument("--disk-readonly", action="store_true", help="attach --disk read-only")
    p.add_argument("--tap", help="a host tap device for the NIC (none: no NIC)")
    p.add_argument("--mac", default="06:00:0a:00:00:02", help="the NIC's MAC address")
    p.add_argument("--out", default="-", help="where to write the JSON (default: stdout)")
    args, runner_flags = p.parse_known_args(argv)
    if args.image is None and args.launcher is None:
        if runner_flags:
            p.error("unrecognized arguments: %s (image flags need --image)"
                    % " ".join(runner_flags))
        if args.kernel is None:
            p.error("name the image: --image=NAME, or --kernel=ELF")
    else:
        if args.kernel is not None:
            p.error("--kernel and --image: give one (--image takes the kernel from the runner)")
        if args.image is not None and not IMAGE.match(args.image):
            p.error("--image: %r is not an image name" % args.image)
        bad = [f for f in runner_flags if not f.startswith("--")]
        if bad:
            p.error("unrecognized arguments: %s (the runner takes --key[=value] flags)"
                    % " ".join(bad))
    # The runner runs in this tool's folder: a folder the user typed is
    # taken from where they typed it.
    args.runner_flags = ["--site=" + from_start_dir(f[len("--site="):])
                         if f.startswith("--site=") else f for f in runner_flags]
    for name in ("kernel", "disk", "launcher"):
        if getattr(args, name) is not None:
            setattr(args, name, from_start_dir(getattr(args, name)))
    if args.out != "-":
        args.out = from_start_dir(args.out)
    if args.kernel is not None and not os.path.isfile(args.kernel):
        p.error("--kernel: %s is not a file (bazel build //images:NAME first)" % args.kernel)
    if args.vcpus is not None and not 1 <= args.vcpus <= 32:
        p.error("--vcpus must be 1-32 (Firecracker's limit)")
    if args.mem_mib is not None and args.mem_mib < 32:
        p.error("--mem-mib must be at least 32")
    if args.disk is not None and not os.path.isfile(args.disk):
        p.error("--disk: %s is not a file" % args.disk)
    if args.disk_readonly and args.disk is None:
        p.error("--disk-readonly needs --disk")
    if args.tap is not None and not TAP.match(args.tap):
        p.error("--tap: %r is not an interface name" % args.tap)
    if not MAC.match(args.mac):
        p.error("--mac: %r is not a MAC address (xx:xx:xx:xx:xx:xx)" % args.mac)
    return args


def fail(message):
    print("firecracker_config: " + message, file=sys.stderr)
    sys.exit(1)


def find_launcher(image):
    here = os.path.dirname(os.path.abspath(__file__))
    roots = [os.environ.get("RUNFILES_DIR"), here + ".runfiles", os.path.dirname(here)]
    for root in filter(None, roots):
        for candidate in (os.path.join(root, "unikernel", "images", image),
                          os.path.join(root, "images", image)):
            if os.path.isfile(candidate):
                return os.path.abspath(candidate)
    fail("no runner for image %r in the runfiles; is it a bootable image of images/BUILD? "
         "(or pass --launcher=bazel-bin/images/%s)" % (image, image))


def memory_mib(text):
    """QEMU's -m syntax (a bare number is MiB) in MiB."""
    match = MEMORY.match(text)
    if not match:
        fail("cannot read the runner's memory size %r" % text)
    number, unit = int(match.group(1)), match.group(2).upper()
    scale = {"K": 1.0 / 1024, "": 1, "M": 1, "G": 1024, "T": 1024 * 1024}[unit]
    return int(number * scale)


def image_plan(launcher, runner_flags):
    """What the image's runner would boot: kernel, command line, vCPUs,
    memory, whether it has a NIC."""
    env = dict(os.environ)
    # The runner finds its files through RUNFILES_DIR: the tree the
    # launcher sits in (<root>/unikernel/images/NAME).
    root = os.path.dirname(os.path.dirname(os.path.dirname(launcher)))
    if os.path.isdir(os.path.join(root, "unikernel", "images")):
        env["RUNFILES_DIR"] = root
    # microvm: the command line has no PCI-only additions, as on Firecracker.
    printed = subprocess.run(
        [launcher] + runner_flags + ["--print-command", "--accel=tcg", "--machine=microvm"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    if printed.returncode != 0:
        fail("the runner refused %s: %s" % (" ".join(runner_flags) or "its defaults",
                                            printed.stderr.strip()))
    command = shlex.split(printed.stdout.strip().splitlines()[-1])
    value = lambda flag, default: command[command.index(flag) + 1] if flag in command else default
    kernel = value("-kernel", None)
    if kernel is None:
        fail("the runner's command has no -kernel: %s" % printed.stdout.strip())
    return {
        "kernel": os.path.realpath(kernel),
        "cmdline": value("-append", ""),
        "vcpus": int(value("-smp", "1")),
        "mem_mib": memory_mib(value("-m", "256M")),
        "has_nic": "-netdev" in command,
        "drive": drive_options(value("-drive", None)),
    }


def drive_options(text):
    """QEMU's -drive value (key=value pairs, a comma in a value doubled) as
    a dict, or None."""
    if text is None:
        return None
    options, key, word, i = {}, None, "", 0
    while i <= len(text):
        if i < len(text) and text[i] == "," and text[i + 1:i + 2] == ",":
            word += ","
            i += 2
            continue
        if i == len(text) or text[i] == ",":
            name, _, val = word.partition("=")
            options[name] = val
            word = ""
        else:
            word += text[i]
        i += 1
    return options


def resolve(args):
    """Fills kernel, cmdline, vcpus and mem_mib: the flags, else the image's."""
    if args.kernel is None:
        plan = image_plan(args.launcher or find_launcher(args.image), args.runner_flags)
        args.kernel = plan["kernel"]
        if args.cmdline is None:
            args.cmdline = plan["cmdline"]
        if args.vcpus is None:
            args.vcpus = plan["vcpus"]
        if args.mem_mib is None:
            args.mem_mib = plan["mem_mib"]
        # The runner's disk (--site=DIR builds one, --disk=FILE given to the
        # runner names one) when this tool was given none of its own.
        if args.disk is None and plan["drive"] is not None:
            args.disk = os.path.abspath(plan["drive"]["file"])
            args.disk_readonly = plan["drive"].get("readonly") == "on"
        if plan["has_nic"] and args.tap is None:
            print("firecracker_config: note: the image has a NIC but no --tap was given; "
                  "it boots without one", file=sys.stderr)
    args.cmdline = args.cmdline or ""
    args.vcpus = args.vcpus or 1
    args.mem_mib = args.mem_mib or 256
    if not 1 <= args.vcpus <= 32:
        fail("%d vCPUs: Firecracker allows 1-32" % args.vcpus)
    if args.tap is not None and not re.search(r"(^| )ip=", args.cmdline):
        print("firecracker_config: note: no ip= on the command line: the guest asks DHCP, "
              "which Firecracker does not serve (give --ip= --netmask= --gateway=)",
              file=sys.stderr)
    return args


def config(args):
    out = {
        "boot-source": {
            "kernel_image_path": os.path.abspath(args.kernel),
            "boot_args": args.cmdline,
        },
        "machine-config": {"vcpu_count": args.vcpus, "mem_size_mib": args.mem_mib, "smt": False},
        "drives": [],
        "network-interfaces": [],
    }
    if args.disk is not None:
        out["drives"].append({
            "drive_id": "disk0",
            "path_on_host": os.path.abspath(args.disk),
            "is_root_device": False,  # not a root filesystem: the fs service mounts it
            "is_read_only": args.disk_readonly,
        })
    if args.tap is not None:
        out["network-interfaces"].append(
            {"iface_id": "net0", "host_dev_name": args.tap, "guest_mac": args.mac.lower()})
    return out


def main(argv):
    args = resolve(parse_args(argv))
    text = json.dumps(config(args), indent=2) + "\n"
    if args.out == "-":
        sys.stdout.write(text)
    else:
        with open(args.out, "w") as f:
            f.write(text)
        print("firecracker_config: wrote %s; run: firecracker --no-api --config-file %s"
              % (args.out, args.out), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
