"""tools/firecracker_config.py: the JSON has Firecracker's fields with the
right types (as its config-file loader reads them), devices only when asked
for, and bad flags are refused with exit status 2 and a message. Firecracker
itself is not run (not in Debian, needs KVM)."""

import json
import os
import subprocess
import sys
import tempfile
import unittest

TOOL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "firecracker_config.py")


def run(*flags):
    return subprocess.run([sys.executable, TOOL] + list(flags), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)


class FirecrackerConfigTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR"))
        self.kernel = os.path.join(self.tmp, "webserver.elf")
        self.disk = os.path.join(self.tmp, "site.img")
        for path in (self.kernel, self.disk):
            with open(path, "wb") as f:
                f.write(b"\x7fELF")

    def test_full_config(self):
        result = run("--kernel=" + self.kernel, "--cmdline=--http_core=1", "--vcpus=2",
                     "--mem-mib=128", "--disk=" + self.disk, "--disk-readonly", "--tap=tap0",
                     "--mac=06:00:AC:10:00:02")
        self.assertEqual(result.returncode, 0, result.stderr)
        config = json.loads(result.stdout)
        self.assertEqual(config["boot-source"],
                         {"kernel_image_path": self.kernel, "boot_args": "--http_core=1"})
        self.assertEqual(config["machine-config"],
                         {"vcpu_count": 2, "mem_size_mib": 128, "smt": False})
        self.assertEqual(config["drives"], [{"drive_id": "disk0", "path_on_host": self.disk,
                                             "is_root_device": False, "is_read_only": True}])
        self.assertEqual(config["network-interfaces"], [
            {"iface_id": "net0", "host_dev_name": "tap0", "guest_mac": "06:00:ac:10:00:02"}])

    def test_no_devices_unless_asked_and_a_file_out(self):
        out = os.path.join(self.tmp, "vm.json")
        result = run("--kernel=" + self.kernel, "--out=" + out)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("firecracker --no-api --config-file", result.stderr)
        with open(out) as f:
            config = json.load(f)
        self.assertEqual(config["drives"], [])
        self.assertEqual(config["network-interfaces"], [])
        self.assertEqual(config["machine-config"]["vcpu_count"], 1)

    def test_bad_flags(self):
        for flags, message in [
                (["--kernel=/nonexistent"], "is not a file"),
                (["--kernel=" + self.kernel, "--vcpus=0"], "1-32"),
                (["--kernel=" + self.kernel, "--vcpus=33"], "1-32"),
                (["--kernel=" + self.kernel, "--mem-mib=8"], "at least 32"),
                (["--kernel=" + self.kernel, "--disk=/nonexistent"], "is not a file"),
                (["--kernel=" + self.kernel, "--disk-readonly"], "needs --disk"),
                (["--kernel=" + self.kernel, "--tap=bad name"], "interface name"),
                (["--kernel=" + self.kernel, "--mac=06:00"], "MAC address")]:
            result = run(*flags)
            self.assertEqual(result.returncode, 2, flags)
            self.assertIn(message, result.stderr, flags)
            self.assertEqual(result.stdout, "", flags)


if __name__ == "__main__":
    unittest.main()
