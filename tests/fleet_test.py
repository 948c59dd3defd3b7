"""A libvirt fleet (tools/fleet.py): three web servers under libvirt, each
serving, each stopped with `virsh shutdown` (the ACPI power button) and
powering itself off gracefully.

The test runs its own libvirt daemon (Debian's libvirtd and virtlogd, no
systemd) in a private mount namespace whose /etc/libvirt, /run,
/var/lib/libvirt, /var/log/libvirt, /var/cache/libvirt, /etc/passwd and
/etc/group are folders and files of the test's temporary directory: its
qemu.conf (user root, no security driver, no cgroups, no namespaces), the
`libvirt-qemu` user libvirtd insists on, its sockets and state. Nothing
outside the temporary directory changes, and the daemons are stopped at
the end. Needs root (mount namespaces); under TCG unless /dev/kvm works.
"""

import glob
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

RUNFILES = os.environ.get("TEST_SRCDIR", "")

QEMU_CONF = """user = "root"
group = "root"
security_driver = "none"
cgroup_controllers = [ ]
namespaces = [ ]
"""
LIBVIRTD_CONF = """unix_sock_group = "root"
unix_sock_rw_perms = "0700"
auth_unix_rw = "none"
"""
START = """set -e
T=%(tmp)s
mount --bind $T/etc /etc/libvirt
mount --bind $T/run /run
mkdir -p /var/lib/libvirt /var/log/libvirt /var/cache/libvirt
mount --bind $T/lib /var/lib/libvirt
mount --bind $T/log /var/log/libvirt
mount --bind $T/cache /var/cache/libvirt
mount --bind $T/passwd /etc/passwd
mount --bind $T/group /etc/group
virtlogd -d -p /run/virtlogd.pid
exec libvirtd
"""


def runfile(*parts):
    found = glob.glob(os.path.join(RUNFILES, "**", *parts), recursive=True)
    if not found:
        raise AssertionError("%s is not in the runfiles" % os.path.join(*parts))
    return found[0]


class FleetTest(unittest.TestCase):
    def setUp(self):
        if os.geteuid() != 0:
            self.fail("fleet_test needs root (a mount namespace for its own libvirt daemon)")
        for tool in ("libvirtd", "virtlogd", "virsh", "unshare"):
            if shutil.which(tool) is None:
                self.fail("%s is missing: apt-get install libvirt-daemon libvirt-daemon-driver-qemu "
                          "libvirt-clients (tools/setup.sh installs them)" % tool)
        # /tmp, not TEST_TMPDIR: the daemon's socket path must fit in 108 bytes.
        self.tmp = tempfile.mkdtemp(prefix="uk-fleet-", dir="/tmp")
        for folder in ("etc", "run", "lib", "log", "cache", "state"):
            os.makedirs(os.path.join(self.tmp, folder))
        shutil.copytree("/etc/libvirt", os.path.join(self.tmp, "etc"), dirs_exist_ok=True)
        self.write("etc/qemu.conf", QEMU_CONF)
        self.write("etc/libvirtd.conf", LIBVIRTD_CONF)
        with open("/etc/passwd") as f:
            passwd = f.read()
        with open("/etc/group") as f:
            group = f.read()
        if "\nlibvirt-qemu:" not in "\n" + passwd:
            passwd += "libvirt-qemu:x:64055:64055:libvirt qemu:/nonexistent:/usr/sbin/nologin\n"
        for name, gid in (("libvirt-qemu", 64055), ("kvm", 64056), ("libvirt", 64057)):
            if "\n%s:" % name not in "\n" + group:
                group += "%s:x:%d:\n" % (name, gid)
        self.write("passwd", passwd)
        self.write("group", group)
        self.write("start.sh", START % {"tmp": self.tmp})
        self.daemon_log = open(os.path.join(self.tmp, "libvirtd.log"), "w")
        self.daemon = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "sh",
             os.path.join(self.tmp, "start.sh")],
            stdout=self.daemon_log, stderr=subprocess.STDOUT, start_new_session=True)
        self.uri = "qemu:///system?socket=%s/run/libvirt/libvirt-sock" % self.tmp
        deadline = time.monotonic() + 60
        while subprocess.run(["virsh", "-c", self.uri, "version"], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL).returncode != 0:
            if self.daemon.poll() is not None or time.monotonic() > deadline:
                self.stop_daemons()
                self.fail("libvirtd did not come up:\n" + self.read("libvirtd.log"))
            time.sleep(0.2)

    def write(self, name, text):
        with open(os.path.join(self.tmp, name), "w") as f:
            f.write(text)

    def read(self, name):
        with open(os.path.join(self.tmp, name), errors="replace") as f:
            return f.read()

    def stop_daemons(self):
        # What the test started, and only that: libvirtd (its pid is the
        # namespace's first process), virtlogd (its pid file), and any QEMU
        # still running under them.
        for domain in subprocess.run(["virsh", "-q", "-c", self.uri, "list", "--name"],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     text=True).stdout.split():
            subprocess.run(["virsh", "-c", self.uri, "destroy", domain],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if self.daemon.poll() is None:
            self.daemon.send_signal(signal.SIGTERM)
            try:
                self.daemon.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.daemon.kill()
                self.daemon.wait()
        pid_file = os.path.join(self.tmp, "run", "virtlogd.pid")
        if os.path.exists(pid_file):
            try:
                os.kill(int(open(pid_file).read().strip()), signal.SIGTERM)
            except (ValueError, ProcessLookupError):
                pass
        self.daemon_log.close()

    def tearDown(self):
        self.stop_daemons()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def fleet(self, *arguments):
        result = subprocess.run(
            [sys.executable, runfile("tools", "fleet.py"), "--uri", self.uri,
             "--state", os.path.join(self.tmp, "state")] + list(arguments),
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=900)
        sys.stderr.write(result.stdout)
        return result

    def test_three_web_servers_serve_and_shut_down_gracefully(self):
        started = self.fleet("up", "--image=webserver", "--count=3", "--first-port=28080",
                             "--launcher=" + runfile("images", "webserver"), "--timeout=300")
        self.assertEqual(started.returncode, 0, started.stdout)
        for i in range(3):
            with urllib.request.urlopen("http://127.0.0.1:%d/" % (28080 + i), timeout=30) as r:
                self.assertEqual(r.status, 200)
                self.assertIn(b"per-core counters", r.read().lower())
        status = self.fleet("status")
        self.assertEqual(status.stdout.count(": running,"), 3, status.stdout)

        stopped = self.fleet("down", "--timeout=120")
        self.assertEqual(stopped.returncode, 0, stopped.stdout)
        self.assertEqual(stopped.stdout.count("shut down gracefully"), 3, stopped.stdout)
        for i in range(1, 4):
            log = self.read("state/uk-webserver-%d.log" % i)
            self.assertIn("shutdown: asked for by the power button", log)
            self.assertIn("webserver: stopped accepting", log)
            self.assertIn("shutdown: powering off", log)
        listing = subprocess.run(["virsh", "-q", "-c", self.uri, "list", "--all", "--name"],
                                 stdout=subprocess.PIPE, text=True, check=True).stdout
        self.assertEqual(listing.split(), [], "domains left behind")


if __name__ == "__main__":
    unittest.main()
