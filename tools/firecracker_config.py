#!/usr/bin/env python3
"""Writes a Firecracker configuration file (`firecracker --no-api
--config-file FILE`) that boots one of our images.

    bazel build //images:webserver
    bazel run //tools:firecracker_config -- --kernel=$PWD/bazel-bin/images/webserver.elf \\
        --vcpus=2 --tap=tap0 --cmdline='net_core=1 fs_core=1 http_core=1' --out=vm.json
    firecracker --no-api --config-file vm.json

The fields are Firecracker's (docs/getting-started.md, the API's
swagger): boot-source (kernel_image_path, boot_args), machine-config
(vcpu_count, mem_size_mib, smt), drives (drive_id, path_on_host,
is_root_device, is_read_only) and network-interfaces (iface_id,
host_dev_name, guest_mac). Firecracker adds the virtio-mmio devices to the
kernel command line itself (virtio_mmio.device=...), and boots the ELF
through its PVH entry.

Not verified here: Firecracker is not packaged in Debian and needs KVM.
The kernel drives its virtio-mmio devices (docs/drivers.md) through the
same transport the QEMU microvm tests use, but no Firecracker boot was
tried. README, "Run it on an engine", says the same.
"""

import argparse
import json
import os
import re
import sys

MAC = re.compile(r"^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$")
TAP = re.compile(r"^[A-Za-z0-9_.-]{1,15}$")  # a Linux interface name


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="firecracker_config", description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("--kernel", required=True, help="the image's ELF (bazel-bin/images/NAME.elf)")
    p.add_argument("--cmdline", default="", help="the kernel command line (the image's flags)")
    p.add_argument("--vcpus", type=int, default=1, help="vCPUs, 1-32 (default 1)")
    p.add_argument("--mem-mib", type=int, default=256, help="guest memory in MiB (default 256)")
    p.add_argument("--disk", help="an ext2 disk image for the fs service")
    p.add_argument("--disk-readonly", action="store_true", help="attach --disk read-only")
    p.add_argument("--tap", help="a host tap device for the NIC (none: no NIC)")
    p.add_argument("--mac", default="06:00:0a:00:00:02", help="the NIC's MAC address")
    p.add_argument("--out", default="-", help="where to write the JSON (default: stdout)")
    args = p.parse_args(argv)
    if not os.path.isfile(args.kernel):
        p.error("--kernel: %s is not a file (bazel build //images:NAME first)" % args.kernel)
    if not 1 <= args.vcpus <= 32:
        p.error("--vcpus must be 1-32 (Firecracker's limit)")
    if args.mem_mib < 32:
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
    args = parse_args(argv)
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
