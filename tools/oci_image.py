#!/usr/bin/env python3
"""Packs a bootable image's kernel into an OCI image (an oci-archive: the OCI
image layout, tarred), written directly to the OCI image-spec with no daemon
and no network, byte-for-byte reproducible.

    bazel build //images:webserver_oci      # bazel-bin/images/webserver_oci.tar
    skopeo inspect oci-archive:bazel-bin/images/webserver_oci.tar:latest

The one layer holds
    /boot/kernel    the image's ELF (PVH entry: QEMU -kernel, libvirt <kernel>,
                    Firecracker's kernel_image_path, KubeVirt's
                    kernelBoot.container.kernelPath)
    /boot/cmdline   its kernel command line, one line
    /disk/NAME      with --disk: the raw ext2 disk it serves (KubeVirt's
                    containerDisk place: the only file under /disk, owned by
                    107:107, the qemu user of KubeVirt's launcher)
and the manifest's annotations say how to boot it:
    dev.uk.boot.kernel   /boot/kernel
    dev.uk.boot.cmdline  the command line (as /boot/cmdline)
    dev.uk.boot.machine  the QEMU machine the runner boots it on (microvm:
                         virtio-mmio devices); every image also boots on pc
                         and q35 (virtio-pci), as libvirt and KubeVirt make
    dev.uk.boot.memory   guest memory, QEMU syntax
    dev.uk.boot.vcpus    vCPUs
    dev.uk.boot.ports    guest ports it serves ("tcp/80"), if any
    dev.uk.boot.disk     with --disk: /disk/NAME, attached as a virtio-blk disk
    dev.uk.boot.disk.readonly  "true" when the image only reads it
The config's Labels repeat them, so `skopeo inspect` shows them as well.
"""

import argparse
import gzip
import hashlib
import io
import json
import os
import sys
import tarfile

MEDIA_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MEDIA_CONFIG = "application/vnd.oci.image.config.v1+json"
MEDIA_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
KERNEL_PATH = "/boot/kernel"
# KubeVirt's containerDisk convention: the disk file under /disk, readable by
# the launcher's qemu user (uid and gid 107).
DISK_DIR = "disk"
DISK_OWNER = 107
CREATED = "1970-01-01T00:00:00Z"


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="oci_image", description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("--kernel", required=True, help="the image's ELF")
    p.add_argument("--out", required=True, help="the oci-archive to write (.tar)")
    p.add_argument("--name", required=True, help="the image's name (org.opencontainers.image.title)")
    p.add_argument("--cmdline", default="", help="the kernel command line")
    p.add_argument("--machine", default="microvm", choices=["microvm", "pc", "q35"],
                   help="the machine to name in dev.uk.boot.machine (default microvm)")
    p.add_argument("--memory", default="256M", help="guest memory, QEMU syntax (default 256M)")
    p.add_argument("--vcpus", type=int, default=1)
    p.add_argument("--port", action="append", default=[], metavar="PROTO/PORT",
                   help="a guest port it serves, e.g. tcp/80 (repeatable)")
    p.add_argument("--disk", help="a raw ext2 disk image to ship at /disk/NAME")
    p.add_argument("--disk-readonly", action="store_true",
                   help="the image only reads --disk (dev.uk.boot.disk.readonly)")
    p.add_argument("--tag", default="latest", help="the reference name in index.json")
    args = p.parse_args(argv)
    if not os.path.isfile(args.kernel):
        p.error("--kernel: %s is not a file" % args.kernel)
    if args.disk is not None and not os.path.isfile(args.disk):
        p.error("--disk: %s is not a file" % args.disk)
    if args.disk_readonly and args.disk is None:
        p.error("--disk-readonly needs --disk")
    if args.vcpus < 1:
        p.error("--vcpus must be at least 1")
    for port in args.port:
        proto, _, number = port.partition("/")
        if proto not in ("tcp", "udp") or not number.isdigit() or not 0 < int(number) < 65536:
            p.error("--port: %r is not PROTO/PORT (tcp/80, udp/7)" % port)
    return args


def digest(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def canonical(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def tar_bytes(entries):
    """A reproducible tar: entries (path, bytes or None for a folder, mode[,
    owner id]), in order, owned by root unless an owner is given, mtime 0."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path, data, mode, *owner in entries:
            info = tarfile.TarInfo(path)
            info.mtime = 0
            info.uid = info.gid = owner[0] if owner else 0
            info.uname = info.gname = "" if owner else "root"
            info.mode = mode
            if data is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def gzip_bytes(data):
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0, compresslevel=9) as f:
        f.write(data)
    return out.getvalue()


def build(args):
    with open(args.kernel, "rb") as f:
        kernel = f.read()
    boot = {
        "dev.uk.boot.kernel": KERNEL_PATH,
        "dev.uk.boot.cmdline": args.cmdline,
        "dev.uk.boot.machine": args.machine,
        "dev.uk.boot.memory": args.memory,
        "dev.uk.boot.vcpus": str(args.vcpus),
    }
    if args.port:
        boot["dev.uk.boot.ports"] = ",".join(args.port)
    files = [
        ("boot", None, 0o755),
        ("boot/kernel", kernel, 0o644),
        ("boot/cmdline", (args.cmdline + "\n").encode(), 0o644),
    ]
    if args.disk is not None:
        disk_path = "%s/%s" % (DISK_DIR, os.path.basename(args.disk))
        with open(args.disk, "rb") as f:
            files += [(DISK_DIR, None, 0o755, DISK_OWNER),
                      (disk_path, f.read(), 0o644, DISK_OWNER)]
        boot["dev.uk.boot.disk"] = "/" + disk_path
        boot["dev.uk.boot.disk.readonly"] = "true" if args.disk_readonly else "false"
    layer_tar = tar_bytes(files)
    layer = gzip_bytes(layer_tar)
    config = canonical({
        "architecture": "amd64",
        "os": "linux",  # what runtimes and KubeVirt expect; the payload is a kernel, not a rootfs
        "config": {"Labels": boot},
        "rootfs": {"type": "layers", "diff_ids": [digest(layer_tar)]},
        # A fixed time keeps the image reproducible; tools read it (umoci
        # stat fails on a history entry without one).
        "created": CREATED,
        "history": [{"created": CREATED, "created_by": "tools/oci_image.py",
                     "comment": "the %s kernel" % args.name}],
    })
    manifest = canonical({
        "schemaVersion": 2,
        "mediaType": MEDIA_MANIFEST,
        "config": {"mediaType": MEDIA_CONFIG, "digest": digest(config), "size": len(config)},
        "layers": [{"mediaType": MEDIA_LAYER, "digest": digest(layer), "size": len(layer)}],
        "annotations": dict(boot, **{"org.opencontainers.image.title": args.name}),
    })
    index = canonical({
        "schemaVersion": 2,
        "manifests": [{
            "mediaType": MEDIA_MANIFEST, "digest": digest(manifest), "size": len(manifest),
            "annotations": {"org.opencontainers.image.ref.name": args.tag},
        }],
    })
    blobs = [(digest(b)[len("sha256:"):], b) for b in (config, layer, manifest)]
    return tar_bytes(
        [("oci-layout", canonical({"imageLayoutVersion": "1.0.0"}), 0o644),
         ("index.json", index, 0o644),
         ("blobs", None, 0o755),
         ("blobs/sha256", None, 0o755)]
        + [("blobs/sha256/" + name, data, 0o644) for name, data in sorted(blobs)])


def main(argv):
    args = parse_args(argv)
    archive = build(args)
    tmp = args.out + ".tmp"
    with open(tmp, "wb") as f:
        f.write(archive)
    os.replace(tmp, args.out)
    print("oci_image: wrote %s (%d bytes; kernel at %s)" % (args.out, len(archive), KERNEL_PATH),
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
