"""Builds the Linux peers from Debian packages: a kernel and an initramfs.

Everything is fetched with `apt-get download` and unpacked with
`dpkg-deb -x` into a cache folder (/tmp/uk-bench-cache by default,
never committed); nothing is installed on the host. Two flavours share the kernel
and the init script:

  busybox  busybox-static's httpd serves /www
  nginx    Debian's nginx (plus the shared libraries ldd finds for it on the
           host, which has the same bookworm libraries) serves /www

The Debian kernel has virtio_pci and virtio_net as modules; the initramfs
carries them and their dependencies (read from each module's .modinfo) and
/init loads them in dependency order with busybox insmod.
"""

import glob
import gzip
import lzma
import os
import re
import shutil
import subprocess
import sys

GUEST_IP = "10.0.2.15"
GUEST_NETMASK_BITS = 24
GUEST_GATEWAY = "10.0.2.2"
READY_TEXT = "bench: listening"
KERNEL_APPEND = "console=ttyS0 quiet panic=-1 rdinit=/init"
MODULES = ["virtio_pci", "virtio_net"]   # and what they depend on

FLAVOURS = ("busybox", "nginx")


class BuildError(Exception):
    pass


def log(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


def need_tool(tool, package):
    if shutil.which(tool) is None:
        raise BuildError("%s not found; install it with: apt-get install %s "
                         "(or run bash bench/setup.sh)" % (tool, package))


def run(cmd, cwd=None):
    result = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, errors="replace")
    if result.returncode != 0:
        raise BuildError("%s failed (exit %d):\n%s" % (" ".join(cmd), result.returncode,
                                                        result.stdout[-3000:]))
    return result.stdout


# ------------------------------------------------------------------ packages


def download(cache, package):
    """The .deb of `package` in cache/debs (downloaded once)."""
    debs = os.path.join(cache, "debs")
    os.makedirs(debs, exist_ok=True)
    found = glob.glob(os.path.join(debs, "%s_*.deb" % package))
    if found:
        return sorted(found)[-1]
    need_tool("apt-get", "apt")
    log("apt-get download %s" % package)
    # As root, apt drops to the _apt user unless told not to; the cache
    # folder need not be readable by it.
    try:
        run(["apt-get", "download", "-q", "-o", "APT::Sandbox::User=root", package], cwd=debs)
    except BuildError as e:
        raise BuildError("could not download Debian package %s (run apt-get update first?)\n%s"
                         % (package, e))
    found = glob.glob(os.path.join(debs, "%s_*.deb" % package))
    if not found:
        raise BuildError("apt-get download %s left no .deb in %s" % (package, debs))
    return sorted(found)[-1]


def unpack(cache, package):
    """The folder where the package's files are unpacked (dpkg-deb -x)."""
    root = os.path.join(cache, "root", package)
    if os.path.isdir(root):
        return root
    deb = download(cache, package)
    tmp = root + ".part"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    run(["dpkg-deb", "-x", deb, tmp])
    os.replace(tmp, root)
    return root


def kernel_package(cache):
    """linux-image-amd64 is a metapackage; its Depends names the real one."""
    meta = download(cache, "linux-image-amd64")
    depends = run(["dpkg-deb", "-f", meta, "Depends"])
    m = re.search(r"(linux-image-[0-9][^\s,(]*)", depends)
    if not m:
        raise BuildError("cannot find the kernel package in linux-image-amd64's Depends: %r"
                         % depends)
    return m.group(1)


# ------------------------------------------------------------------ modules


def module_depends(path):
    data = read_module(path)
    m = re.search(rb"(?:^|\0)depends=([^\0]*)\0", data)
    if not m or not m.group(1):
        return []
    return m.group(1).decode().split(",")


def read_module(path):
    if path.endswith(".xz"):
        with lzma.open(path) as f:
            return f.read()
    if path.endswith(".gz"):
        with gzip.open(path) as f:
            return f.read()
    with open(path, "rb") as f:
        return f.read()


def module_index(modroot):
    """name -> path of every module under lib/modules/VERSION/kernel."""
    index = {}
    for dirpath, _, files in os.walk(modroot):
        for f in files:
            m = re.match(r"(.+)\.ko(\.xz|\.gz|\.zst)?$", f)
            if m:
                index[m.group(1).replace("-", "_")] = os.path.join(dirpath, f)
    return index


def module_order(index, wanted):
    """The wanted modules and their dependencies, dependencies first."""
    order, seen = [], set()

    def visit(name):
        if name in seen:
            return
        seen.add(name)
        if name not in index:
            raise BuildError("kernel module %s not found in the kernel package" % name)
        for dep in module_depends(index[name]):
            visit(dep.replace("-", "_"))
        order.append(name)
    for name in wanted:
        visit(name)
    return order


# ------------------------------------------------------------------ initramfs

INIT = """#!/bin/sh
# /init of the bench initramfs (busybox sh).
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in $(cat /etc/modules.order); do
  insmod /lib/modules/$m.ko || echo "bench: insmod $m failed"
done
i=0
while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 500 ]; do usleep 10000; i=$((i+1)); done
ip link set lo up
ip link set eth0 up
ip addr add {ip}/{bits} dev eth0
ip route add default via {gw}
{server}
echo "{ready} ({flavour})"
while true; do sleep 3600; done
"""

SERVERS = {
    "busybox": "httpd -p 80 -h /www",
    "nginx": "nginx -e stderr -c /etc/nginx/nginx.conf",
}

NGINX_CONF = """user nobody nogroup;
worker_processes auto;
pid /run/nginx.pid;
error_log stderr;
events { worker_connections 512; }
http {
  types { text/html html; text/css css; application/javascript js;
          image/png png; application/octet-stream bin; text/plain txt; }
  default_type application/octet-stream;
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_timeout 65;
  server {
    listen 80 default_server;
    root /www;
    index index.html;
  }
}
"""


def ldd_libraries(binary):
    """Host paths of the shared libraries (and loader) ldd lists for binary."""
    need_tool("ldd", "libc-bin")
    out = run(["ldd", binary])
    libs = []
    for line in out.splitlines():
        if "not found" in line:
            raise BuildError("ldd %s: %s (install the Debian package that provides it; "
                             "apt-file search can tell which)" % (binary, line.strip()))
        m = re.search(r"=>\s*(/\S+)", line) or re.match(r"\s*(/\S+)", line)
        if m:
            libs.append(m.group(1))
    return libs


def copy_with_parents(src, staging, dest=None):
    dest = dest or src
    target = os.path.join(staging, dest.lstrip("/"))
    os.makedirs(os.path.dirname(target), exist_ok=True)
    shutil.copy2(os.path.realpath(src), target)
    return target


def build_staging(staging, flavour, busybox_root, kernel_root, nginx_root, site):
    shutil.rmtree(staging, ignore_errors=True)
    for d in ("bin", "sbin", "usr/bin", "usr/sbin", "proc", "sys", "dev", "etc", "run", "tmp",
              "lib/modules", "www", "var/log/nginx", "var/lib/nginx", "root"):
        os.makedirs(os.path.join(staging, d), exist_ok=True)
    # busybox and a link per applet.
    bb = os.path.join(busybox_root, "bin", "busybox")
    shutil.copy2(bb, os.path.join(staging, "bin", "busybox"))
    for applet in run([bb, "--list-full"]).split():
        link = os.path.join(staging, applet)
        if applet == "bin/busybox" or os.path.lexists(link):
            continue
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink("/bin/busybox", link)
    # Kernel modules, uncompressed, in load order.
    modroot = glob.glob(os.path.join(kernel_root, "lib", "modules", "*", "kernel"))
    if not modroot:
        raise BuildError("no lib/modules/*/kernel in the kernel package")
    index = module_index(modroot[0])
    order = module_order(index, MODULES)
    for name in order:
        with open(os.path.join(staging, "lib", "modules", name + ".ko"), "wb") as f:
            f.write(read_module(index[name]))
    with open(os.path.join(staging, "etc", "modules.order"), "w") as f:
        f.write("\n".join(order) + "\n")
    with open(os.path.join(staging, "etc", "passwd"), "w") as f:
        f.write("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n")
    with open(os.path.join(staging, "etc", "group"), "w") as f:
        f.write("root:x:0:\nnogroup:x:65534:\n")
    if flavour == "nginx":
        nginx = os.path.join(nginx_root, "usr", "sbin", "nginx")
        copy_with_parents(nginx, staging, "/usr/sbin/nginx")
        for lib in ldd_libraries(nginx):
            copy_with_parents(lib, staging)
        os.makedirs(os.path.join(staging, "etc", "nginx"), exist_ok=True)
        with open(os.path.join(staging, "etc", "nginx", "nginx.conf"), "w") as f:
            f.write(NGINX_CONF)
    init = INIT.format(ip=GUEST_IP, bits=GUEST_NETMASK_BITS, gw=GUEST_GATEWAY,
                       server=SERVERS[flavour] + " &", ready=READY_TEXT, flavour=flavour)
    with open(os.path.join(staging, "init"), "w") as f:
        f.write(init)
    os.chmod(os.path.join(staging, "init"), 0o755)
    shutil.rmtree(os.path.join(staging, "www"))
    shutil.copytree(site, os.path.join(staging, "www"))
    return order


def write_cpio_gz(staging, out):
    need_tool("cpio", "cpio")
    names = []
    for dirpath, dirs, files in os.walk(staging):
        dirs.sort()
        rel = os.path.relpath(dirpath, staging)
        if rel != ".":
            names.append(rel)
        for f in sorted(files):
            names.append(os.path.normpath(os.path.join(rel, f)))
    proc = subprocess.run(["cpio", "--quiet", "-o", "-H", "newc", "-R", "0:0"], cwd=staging,
                          input="\n".join(names).encode() + b"\n", stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE)
    if proc.returncode != 0:
        raise BuildError("cpio failed: %s" % proc.stderr.decode(errors="replace"))
    with gzip.open(out + ".part", "wb", compresslevel=9) as f:
        f.write(proc.stdout)
    os.replace(out + ".part", out)


def build(cache, flavour, site):
    """Returns {"kernel", "initrd", "kernel_bytes", "initrd_bytes", "modules", "packages"}.

    The initramfs is rebuilt every run (it holds the site, a few seconds);
    the packages are downloaded once into the cache.
    """
    if flavour not in FLAVOURS:
        raise BuildError("unknown Linux flavour %r" % flavour)
    need_tool("dpkg-deb", "dpkg")
    cache = os.path.abspath(cache)
    kpkg = kernel_package(cache)
    kernel_root = unpack(cache, kpkg)
    busybox_root = unpack(cache, "busybox-static")
    nginx_root = unpack(cache, "nginx") if flavour == "nginx" else None
    vmlinuz = glob.glob(os.path.join(kernel_root, "boot", "vmlinuz-*"))
    if not vmlinuz:
        raise BuildError("no boot/vmlinuz-* in %s" % kpkg)
    log("building the %s initramfs" % flavour)
    staging = os.path.join(cache, "staging-" + flavour)
    order = build_staging(staging, flavour, busybox_root, kernel_root, nginx_root, site)
    initrd = os.path.join(cache, "initrd-%s.cpio.gz" % flavour)
    write_cpio_gz(staging, initrd)
    shutil.rmtree(staging)  # its symlinks (to /bin/busybox) dangle on the host
    packages = [kpkg, "busybox-static"] + (["nginx"] if flavour == "nginx" else [])
    return {
        "kernel": vmlinuz[0],
        "initrd": initrd,
        "kernel_bytes": os.path.getsize(vmlinuz[0]),
        "initrd_bytes": os.path.getsize(initrd),
        "modules": order,
        "packages": [os.path.basename(download(cache, p)) for p in packages],
    }


def qemu_argv(image, mem, smp, port, qemu="qemu-system-x86_64", accel="tcg"):
    """The same QEMU setup as images/run.py uses for a network image on pc."""
    return [
        qemu, "-machine", "pc", "-accel", accel,
        "-cpu", "host,-arch-capabilities" if accel == "kvm" else "max",
        "-smp", str(smp), "-m", mem,
        "-kernel", image["kernel"], "-initrd", image["initrd"],
        "-append", KERNEL_APPEND,
        "-nodefaults", "-no-user-config", "-nographic",
        "-serial", "mon:stdio", "-no-reboot",
        "-netdev", "user,id=net0,hostfwd=tcp:127.0.0.1:%d-:80" % port,
        "-device", "virtio-net-pci,netdev=net0,disable-legacy=on,romfile=",
    ]
