#!/usr/bin/env python3
"""Boots a kernel image in QEMU: `bazel run //images:NAME -- [flags]`.

The serial console is this program's stdout; the guest's exit status becomes
this program's exit status (see kernel/arch/power.h for how it crosses QEMU).
Flags this runner does not know are passed to the kernel command line, so
`--mode=idle` reaches the image as `mode=idle`.

Exit statuses: the guest's own status (0 = success, 70 = kernel panic);
124 = --timeout expired; 125 = QEMU could not run; 126 = the VM stopped
without reporting a status (a triple fault, or quit from the QEMU monitor);
2 = bad flags.
"""

import argparse
import hashlib
import os
import re
import shutil
import shlex
import signal
import socket
import stat
import subprocess
import sys
import time

EXIT_TIMEOUT = 124
EXIT_QEMU_FAILED = 125
EXIT_NO_STATUS = 126


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="bazel run //images:NAME --",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--smp", type=int, default=None,
                        help="number of cores (default: 2, or 4 for images with a network port)")
    parser.add_argument("--mem", default="256M", help="guest memory, QEMU syntax (default: 256M)")
    parser.add_argument("--accel", choices=["auto", "kvm", "tcg"], default="auto",
                        help="auto uses KVM when /dev/kvm is usable, TCG otherwise")
    parser.add_argument("--port", type=int, default=None,
                        help="host TCP port forwarded to the image's guest port")
    parser.add_argument("--udp-port", "--udp_port", dest="udp_port", type=int, default=None,
                        help="host UDP port forwarded to the image's guest UDP port "
                             "(images that serve UDP, e.g. udp_echo)")
    parser.add_argument("--tap", metavar="IFNAME",
                        help="attach the NIC to the existing tap device IFNAME instead of QEMU's "
                             "user networking (no port forward: clients reach the guest at its "
                             "own address, e.g. --ip=192.168.77.2 --netmask=255.255.255.0 "
                             "--gateway=192.168.77.1, or from a DHCP server on that link). "
                             "Make one with: ip tuntap add dev IFNAME mode tap && "
                             "ip link set IFNAME up")
    parser.add_argument("--machine", choices=["auto", "microvm", "pc", "q35"],
                        default=os.environ.get("UK_MACHINE", "auto"),
                        help="QEMU machine type. microvm: no firmware, virtio-mmio disk and "
                             "NIC, the fastest to boot. pc: SeaBIOS and virtio-pci devices "
                             "(MSI-X), as libvirt's and most clouds' VMs. q35: the same on "
                             "QEMU's PCIe machine (ICH9), libvirt's other x86 default. auto "
                             "(default): microvm. The environment variable UK_MACHINE sets the "
                             "default (bazel test --test_env=UK_MACHINE=pc //tests/...)")
    parser.add_argument("--disk", metavar="FILE",
                        help="attach FILE (a raw ext2 image, e.g. from mke2fs -d or the "
                             "ext2_image rule) as a virtio-blk disk; the guest writes to it")
    parser.add_argument("--site", metavar="DIR",
                        help="build an ext2 image of the folder DIR and attach it read-only as "
                             "the disk (what the web server serves); the image is a temporary "
                             "file, rebuilt when DIR changes")
    parser.add_argument("--disk-readonly", action="store_true",
                        help="attach --disk read-only (the guest sees a read-only device)")
    parser.add_argument("--disk-intx", action="store_true", help=argparse.SUPPRESS)  # tests
    # Tests: microvm without ACPI, as Firecracker boots a kernel: devices
    # only from the command line QEMU appends to, one core (no MADT).
    parser.add_argument("--no-acpi", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--gdb", action="store_true",
                        help="start paused and wait for gdb on localhost:1234")
    parser.add_argument("--timeout", type=float, default=0,
                        help="stop the VM after this many seconds (exit 124); 0 = never")
    parser.add_argument("--qemu", default="qemu-system-x86_64", help="QEMU binary")
    parser.add_argument("--print-command", action="store_true",
                        help="print the QEMU command line (shell-quoted, on stdout) and exit "
                             "without booting")
    # Filled in by the image's launcher (images/kernel_image.bzl).
    parser.add_argument("--kernel", required=True, help=argparse.SUPPRESS)
    parser.add_argument("--debug-elf", help=argparse.SUPPRESS)  # the ELF with DWARF, for gdb
    parser.add_argument("--name", default="image", help=argparse.SUPPRESS)
    parser.add_argument("--guest-port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--default-port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--guest-udp-port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--default-udp-port", type=int, default=0, help=argparse.SUPPRESS)
    args, rest = parser.parse_known_args(argv)
    kernel_args = []
    for word in rest:
        if not word.startswith("--") or len(word) < 3:
            parser.error("unexpected argument %r (image flags look like --key or --key=value)" % word)
        kernel_args.append(word[2:])
    # A NIC is attached when the image serves a TCP or a UDP port.
    args.has_nic = bool(args.guest_port or args.guest_udp_port)
    if args.udp_port is not None and not args.guest_udp_port:
        parser.error("--udp-port: this image serves no UDP port")
    if args.smp is None:
        args.smp = 4 if args.has_nic else 2
    if not 1 <= args.smp <= 255:
        parser.error("--smp must be between 1 and 255")
    if args.site is not None:
        if args.disk is not None:
            parser.error("--site and --disk both name the disk; give one")
        if not os.path.isdir(args.site):
            parser.error("--site: %s is not a folder" % args.site)
        args.disk = site_image(args.site)
        args.disk_readonly = True
    if args.disk is not None:
        check_disk(parser, args.disk)
    if args.tap is not None:
        if not args.has_nic:
            parser.error("--tap: this image has no network device")
        if args.port is not None or args.udp_port is not None:
            parser.error("--tap and --port/--udp-port: a tap device has no port forward; "
                         "clients reach the guest at its own address")
        if not interface_exists(args.tap):
            parser.error("--tap: no network device %s here (make one with: ip tuntap add dev %s "
                         "mode tap && ip link set %s up)" % (args.tap, args.tap, args.tap))
    if args.machine not in ("auto", "microvm", "pc", "q35"):
        parser.error("UK_MACHINE=%s: use auto, microvm, pc or q35" % args.machine)
    if args.machine == "auto":
        args.machine = "microvm"
    if args.no_acpi and args.machine != "microvm":
        parser.error("--no-acpi: only with the microvm machine")
    if args.disk_intx and args.machine != "pc":
        parser.error("--disk-intx: only the pc machine's virtio-pci disk has MSI-X to turn off")
    return args, kernel_args


def interface_exists(name):
    """In this process's network namespace (/sys/class/net may show another's)."""
    try:
        socket.if_nametoindex(name)
        return True
    except OSError:
        return False


EXT2_MAGIC_OFFSET = 1024 + 56


def site_image(folder):
    """An ext2 image of `folder` in the temp directory, named after the
    folder's path, size and newest change, so an unchanged folder is not
    rebuilt. mke2fs -d copies files, directories and symlinks."""
    total, newest, count = 0, os.stat(folder).st_mtime_ns, 0
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            st = os.lstat(os.path.join(root, name))
            total += st.st_size
            newest = max(newest, st.st_mtime_ns)
            count += 1
    key = hashlib.sha256(repr((os.path.abspath(folder), total, newest, count)).encode()).hexdigest()[:16]
    path = os.path.join(os.environ.get("TMPDIR", "/tmp"), "uk-site-%s.img" % key)
    if os.path.exists(path):
        return path
    if shutil.which("mke2fs") is None:
        sys.exit("run: --site needs mke2fs; install it with: apt-get install e2fsprogs")
    # Room for the data, a block per file for metadata, and slack.
    size_mib = max(16, (total * 13 // 10 + count * 8192) // (1 << 20) + 8)
    print("run: building an ext2 image of %s (%d entries, %.1f MB) in %s"
          % (folder, count, total / 1e6, path), file=sys.stderr)
    tmp = path + ".part"
    result = subprocess.run(["mke2fs", "-q", "-F", "-t", "ext2", "-b", "4096", "-d", folder, tmp,
                             "%dM" % size_mib], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    if result.returncode != 0:
        sys.exit("run: mke2fs could not build an image of %s:\n%s" % (folder, result.stdout))
    os.replace(tmp, path)
    return path


def check_disk(parser, path):
    """Refuses what QEMU would refuse later with a less clear message, and
    warns (without refusing) about a file that is not ext2: the guest then
    reports that itself, which is part of what it is there to test."""
    if not os.path.isfile(path):
        parser.error("--disk: %s is not a file (make one with: mke2fs -t ext2 -d DIR %s 64M)"
                     % (path, path))
    if not os.access(path, os.R_OK):
        parser.error("--disk: %s is not readable" % path)
    with open(path, "rb") as f:
        f.seek(EXT2_MAGIC_OFFSET)
        magic = f.read(2)
    if magic != b"\x53\xef":
        print("run: warning: %s has no ext2 magic at byte %d; the guest will not mount it"
              % (path, EXT2_MAGIC_OFFSET), file=sys.stderr)


def kvm_usable():
    return os.path.exists("/dev/kvm") and os.access("/dev/kvm", os.R_OK | os.W_OK)


def qemu_command(args, kernel_args):
    accel = args.accel
    if accel == "auto":
        accel = "kvm" if kvm_usable() else "tcg"
    if accel == "kvm" and not kvm_usable():
        sys.exit("run: --accel=kvm but /dev/kvm is missing or not accessible")
    if args.machine == "microvm":
        # No firmware to run (qboot), no PCI scan, no legacy devices we do
        # not use: the fastest boot QEMU offers. The PIT stays for TSC
        # calibration. One I/O APIC (ioapic2=off): the virtio-mmio lines are
        # then GSIs 16-23 of the first (kernel/drivers/virtio/mmio_devices.h).
        machine = "microvm,pit=on,pic=off,rtc=off,acpi=%s,ioapic2=off" % (
            "off" if args.no_acpi else "on")
    else:
        machine = args.machine  # pc or q35: SeaBIOS, virtio-pci
    cmd = [
        args.qemu,
        "-machine", machine,
        "-accel", accel,
        # Under nested KVM, QEMU cannot set IA32_ARCH_CAPABILITIES (MSR 0x10a)
        # and aborts; the kernel never reads it, so the guest goes without.
        "-cpu", "host,-arch-capabilities" if accel == "kvm" else "max",
        "-smp", str(args.smp),
        "-m", args.mem,
        "-kernel", args.kernel,
        "-nodefaults", "-no-user-config", "-nographic",
        "-serial", "mon:stdio",
        "-no-reboot",
        "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
    ]
    if kernel_args:
        cmd += ["-append", " ".join(kernel_args)]
    if args.machine == "microvm" and (args.has_nic or args.disk):
        # QEMU's virtio-mmio devices are legacy (version 1) unless told
        # otherwise; the kernel drives version 2 only, as Firecracker offers.
        cmd += ["-global", "virtio-mmio.force-legacy=false"]
    if args.has_nic:
        if args.tap:
            netdev = "tap,id=net0,ifname=%s,script=no,downscript=no" % args.tap
        else:
            netdev = "user,id=net0"
            if args.guest_port:
                netdev += ",hostfwd=tcp:127.0.0.1:%d-:%d" % (args.port or args.default_port,
                                                             args.guest_port)
            if args.guest_udp_port:
                netdev += ",hostfwd=udp:127.0.0.1:%d-:%d" % (
                    args.udp_port or args.default_udp_port, args.guest_udp_port)
        if args.machine == "microvm":
            cmd += ["-netdev", netdev, "-device", "virtio-net-device,netdev=net0"]
        else:
            # romfile= : no iPXE option ROM for SeaBIOS to run (seconds of boot).
            cmd += ["-netdev", netdev,
                    "-device", "virtio-net-pci,netdev=net0,disable-legacy=on,romfile="]
    if args.disk:
        drive = "file=%s,format=raw,if=none,id=disk0" % args.disk.replace(",", ",,")
        if args.disk_readonly:
            drive += ",readonly=on"
        device = ("virtio-blk-device,drive=disk0" if args.machine == "microvm"
                  else "virtio-blk-pci,drive=disk0,disable-legacy=on,romfile=")
        if args.disk_intx:
            device += ",vectors=0"  # no MSI-X: the driver falls back to INTx
        cmd += ["-drive", drive, "-device", device]
    if args.gdb:
        cmd += ["-s", "-S"]
    return cmd, accel


def exit_status(qemu_status):
    """Maps QEMU's exit status to the guest's (kernel/arch/power.h)."""
    if qemu_status >= 3 and qemu_status % 2 == 1:
        return (qemu_status >> 1) - 1
    if qemu_status == 0:
        print("run: the VM stopped without reporting a status "
              "(triple fault, or quit from the monitor)", file=sys.stderr)
        return EXIT_NO_STATUS
    print("run: QEMU failed (exit status %d)" % qemu_status, file=sys.stderr)
    return EXIT_QEMU_FAILED


def main(argv):
    args, kernel_args = parse_args(argv)
    if not os.path.exists(args.kernel):
        sys.exit("run: kernel image %s not found (build it with bazel build //images:%s)"
                 % (args.kernel, args.name))
    if shutil.which(args.qemu) is None:
        print("run: %s not found; install it with: apt-get install qemu-system-x86" % args.qemu,
              file=sys.stderr)
        return EXIT_QEMU_FAILED
    cmd, accel = qemu_command(args, kernel_args)
    if args.print_command:
        print(shlex.join(cmd))
        return 0
    print("run: booting %s with %d cores, %s, %s%s" % (
        args.name, args.smp, args.mem, accel.upper(),
        "" if accel == "kvm" else " (no KVM: software emulation, slower)"), file=sys.stderr)
    if args.has_nic and args.tap:
        ip = next((w[3:] for w in kernel_args if w.startswith("ip=")), None)
        for kind, guest_port in (("", args.guest_port), ("UDP ", args.guest_udp_port)):
            if not guest_port:
                continue
            if not ip:
                where = "the address DHCP gives it (the guest prints it)"
            elif guest_port == 80 and not kind:
                where = "http://%s/" % ip
            else:
                where = "%s:%d" % (ip, guest_port)
            print("run: NIC on tap device %s; guest %sport %d is at %s"
                  % (args.tap, kind, guest_port, where), file=sys.stderr)
    else:
        if args.guest_port:
            port = args.port or args.default_port
            url = " (http://127.0.0.1:%d/)" % port if args.guest_port == 80 else ""
            print("run: guest port %d is at 127.0.0.1:%d%s" % (args.guest_port, port, url),
                  file=sys.stderr)
        if args.guest_udp_port:
            port = args.udp_port or args.default_udp_port
            print("run: guest UDP port %d is at 127.0.0.1:%d (try: nc -u 127.0.0.1 %d)"
                  % (args.guest_udp_port, port, port), file=sys.stderr)
    if args.gdb:
        # The debug ELF has the same addresses as the booted one, plus DWARF.
        elf = args.debug_elf if args.debug_elf and os.path.exists(args.debug_elf) else args.kernel
        # DWARF names sources relative to the build's cwd (/proc/self/cwd):
        # gdb finds them when started in the repository root.
        root = os.environ.get("BUILD_WORKSPACE_DIRECTORY")
        cd = "cd %s && " % shlex.quote(root) if root else ""
        print("run: waiting for gdb: %sgdb %s -ex 'target remote localhost:1234'"
              % (cd, shlex.quote(os.path.abspath(elf))), file=sys.stderr)
    # QEMU gets its own process group so a terminal's Ctrl-C reaches it
    # only through us, and we always reap it.
    # A terminal or a pipe is the guest's console input (keys: see
    # kernel/top/console.h); anything else (e.g. /dev/null under bazel test)
    # is not passed on.
    interactive = sys.stdin.isatty()
    piped = not interactive and stat.S_ISFIFO(os.fstat(sys.stdin.fileno()).st_mode)
    qemu = subprocess.Popen(cmd, stdin=None if interactive or piped else subprocess.DEVNULL,
                            start_new_session=not interactive)
    # If we are told to stop (timeout(1), kill), QEMU stops too: it is in its
    # own session and would outlive us otherwise.
    def stop(signum, _frame):
        raise Stopped(signum)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGHUP, stop)
    try:
        status = qemu.wait(timeout=args.timeout or None)
    except subprocess.TimeoutExpired:
        qemu.kill()
        qemu.wait()
        print("\nrun: timed out after %g s; VM stopped" % args.timeout, file=sys.stderr)
        return EXIT_TIMEOUT
    except KeyboardInterrupt:
        qemu.send_signal(signal.SIGTERM)
        qemu.wait()
        return 130
    except Stopped as stopped:
        qemu.kill()
        qemu.wait()
        return 128 + stopped.signum
    return exit_status(status)


class Stopped(Exception):
    """The runner received SIGTERM or SIGHUP."""

    def __init__(self, signum):
        super().__init__(signum)
        self.signum = signum


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
