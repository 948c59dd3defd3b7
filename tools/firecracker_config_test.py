"""tools/firecracker_config.py: the JSON has Firecracker's fields with the
right types (as its config-file loader reads them: no unknown fields), the
paths it names exist, devices appear only when asked for, --image takes the
kernel, command line, vCPUs and memory from the image's runner, and bad
flags are refused with a message. Firecracker itself is not run (not in
Debian, needs KVM)."""

import json
import os
import re
import subprocess
import sys
import tempfile
import unittest

TOOL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "firecracker_config.py")
RUNFILES = os.environ.get("TEST_SRCDIR", "")

# Firecracker's config file (its API's swagger: BootSource, MachineConfiguration,
# Drive, NetworkInterface): field -> (type, required). Firecracker refuses
# fields it does not know.
SCHEMA = {
    "boot-source": {"kernel_image_path": (str, True), "boot_args": (str, False),
                    "initrd_path": (str, False)},
    "machine-config": {"vcpu_count": (int, True), "mem_size_mib": (int, True),
                       "smt": (bool, False), "track_dirty_pages": (bool, False)},
    "drives": {"drive_id": (str, True), "path_on_host": (str, True),
               "is_root_device": (bool, True), "is_read_only": (bool, False)},
    "network-interfaces": {"iface_id": (str, True), "host_dev_name": (str, True),
                           "guest_mac": (str, False)},
}
LISTS = ("drives", "network-interfaces")


def run(*flags, cwd=None, env=None):
    return subprocess.run([sys.executable, TOOL] + list(flags), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, cwd=cwd, env=env)


def launcher(image):
    return os.path.join(RUNFILES, "unikernel", "images", image)


class FirecrackerConfigTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR"))
        self.kernel = os.path.join(self.tmp, "webserver.elf")
        self.disk = os.path.join(self.tmp, "site.img")
        for path in (self.kernel, self.disk):
            with open(path, "wb") as f:
                f.write(b"\x7fELF")

    def check_structure(self, config):
        """What Firecracker's loader would check, and that every path exists."""
        self.assertLessEqual(set(config), set(SCHEMA), config)
        self.assertIn("boot-source", config)
        self.assertIn("machine-config", config)
        for section, fields in SCHEMA.items():
            if section not in config:
                continue
            entries = config[section]
            if section in LISTS:
                self.assertIsInstance(entries, list, section)
                ids = [e.get("drive_id", e.get("iface_id")) for e in entries]
                self.assertEqual(len(ids), len(set(ids)), "%s: ids not unique" % section)
            else:
                entries = [entries]
            for entry in entries:
                self.assertLessEqual(set(entry), set(fields), "%s: unknown fields" % section)
                for name, (kind, required) in fields.items():
                    if required:
                        self.assertIn(name, entry, section)
                    if name in entry:
                        # bool is an int in Python; Firecracker's serde tells them apart.
                        self.assertIs(type(entry[name]), kind, "%s.%s" % (section, name))
        machine = config["machine-config"]
        self.assertTrue(1 <= machine["vcpu_count"] <= 32)
        self.assertGreaterEqual(machine["mem_size_mib"], 32)
        self.assertTrue(os.path.isabs(config["boot-source"]["kernel_image_path"]))
        self.assertTrue(os.path.isfile(config["boot-source"]["kernel_image_path"]))
        for drive in config.get("drives", []):
            self.assertTrue(os.path.isfile(drive["path_on_host"]), drive)
        for nic in config.get("network-interfaces", []):
            if "guest_mac" in nic:
                self.assertRegex(nic["guest_mac"], r"^([0-9a-f]{2}:){5}[0-9a-f]{2}$")

    def check_bootable(self, path):
        """The kernel is an ELF whose PVH entry note (Xen note type 0x12)
        Firecracker 1.12+ boots, without DWARF (that is NAME_debug.elf)."""
        notes = subprocess.run(["readelf", "-n", path], stdout=subprocess.PIPE, check=True,
                               text=True).stdout
        self.assertRegex(notes, r"Xen\s+0x[0-9a-f]+\s+Unknown note type: \(0x00000012\)", notes)
        sections = subprocess.run(["readelf", "-S", path], stdout=subprocess.PIPE, check=True,
                                  text=True).stdout
        self.assertNotIn(".debug_info", sections)

    def test_full_config(self):
        result = run("--kernel=" + self.kernel, "--cmdline=http_core=1", "--vcpus=2",
                     "--mem-mib=128", "--disk=" + self.disk, "--disk-readonly", "--tap=tap0",
                     "--mac=06:00:AC:10:00:02")
        self.assertEqual(result.returncode, 0, result.stderr)
        config = json.loads(result.stdout)
        self.check_structure(config)
        self.assertEqual(config["boot-source"],
                         {"kernel_image_path": self.kernel, "boot_args": "http_core=1"})
        self.assertEqual(config["machine-config"],
                         {"vcpu_count": 2, "mem_size_mib": 128, "smt": False})
        self.assertEqual(config["drives"], [{"drive_id": "disk0", "path_on_host": self.disk,
                                             "is_root_device": False, "is_read_only": True}])
        self.assertEqual(config["network-interfaces"], [
            {"iface_id": "net0", "host_dev_name": "tap0", "guest_mac": "06:00:ac:10:00:02"}])
        self.assertIn("no ip= on the command line", result.stderr)

    def test_no_devices_unless_asked_and_a_file_out(self):
        out = os.path.join(self.tmp, "vm.json")
        result = run("--kernel=" + self.kernel, "--out=" + out)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("firecracker --no-api --config-file", result.stderr)
        with open(out) as f:
            config = json.load(f)
        self.check_structure(config)
        self.assertEqual(config["drives"], [])
        self.assertEqual(config["network-interfaces"], [])
        self.assertEqual(config["machine-config"]["vcpu_count"], 1)
        self.assertEqual(config["machine-config"]["mem_size_mib"], 256)

    def test_image_web_server_with_its_flags_and_a_tap(self):
        result = run("--launcher=" + launcher("webserver"), "--tap=tap0", "--ip=10.77.0.2",
                     "--netmask=255.255.0.0", "--gateway=10.77.0.1", "--disk=" + self.disk)
        self.assertEqual(result.returncode, 0, result.stderr)
        config = json.loads(result.stdout)
        self.check_structure(config)
        kernel = config["boot-source"]["kernel_image_path"]
        self.assertEqual(os.path.basename(kernel), "webserver.elf")
        self.check_bootable(kernel)
        # The image's own flags (images/BUILD), then the ones given here;
        # nothing the runner adds for QEMU only.
        args = config["boot-source"]["boot_args"].split()
        self.assertEqual(args[:3], ["net_core=1", "fs_core=1", "http_core=1"], args)
        for arg in ("ip=10.77.0.2", "netmask=255.255.0.0", "gateway=10.77.0.1"):
            self.assertIn(arg, args)
        self.assertFalse(any(a.startswith("virtio_mmio.device=") for a in args), args)
        self.assertEqual(config["machine-config"],
                         {"vcpu_count": 2, "mem_size_mib": 256, "smt": False})
        self.assertEqual(config["network-interfaces"][0]["host_dev_name"], "tap0")
        self.assertEqual(len(config["drives"]), 1)
        self.assertEqual(result.stderr, "")

    def test_image_runner_flags_and_overrides(self):
        result = run("--launcher=" + launcher("hello"), "--smp=4", "--mem=64M")
        self.assertEqual(result.returncode, 0, result.stderr)
        config = json.loads(result.stdout)
        self.check_structure(config)
        self.check_bootable(config["boot-source"]["kernel_image_path"])
        self.assertEqual(config["boot-source"]["boot_args"], "")
        self.assertEqual(config["machine-config"]["vcpu_count"], 4)
        self.assertEqual(config["machine-config"]["mem_size_mib"], 64)
        self.assertEqual(config["network-interfaces"], [])

        result = run("--launcher=" + launcher("webserver"), "--vcpus=1", "--mem-mib=1024",
                     "--cmdline=http_core=0")
        self.assertEqual(result.returncode, 0, result.stderr)
        config = json.loads(result.stdout)
        self.assertEqual(config["machine-config"]["vcpu_count"], 1)
        self.assertEqual(config["machine-config"]["mem_size_mib"], 1024)
        self.assertEqual(config["boot-source"]["boot_args"], "http_core=0")
        self.assertIn("has a NIC but no --tap", result.stderr)

    def test_image_site_becomes_a_read_only_drive(self):
        site = os.path.join(self.tmp, "site")
        os.mkdir(site)
        with open(os.path.join(site, "index.html"), "w") as f:
            f.write("<p>hello</p>\n")
        result = run("--launcher=" + launcher("webserver"), "--site=" + site, "--tap=tap0",
                     "--ip=10.77.0.2")
        self.assertEqual(result.returncode, 0, result.stderr)
        config = json.loads(result.stdout)
        self.check_structure(config)
        (drive,) = config["drives"]
        self.assertTrue(drive["is_read_only"])
        self.assertFalse(drive["is_root_device"])
        with open(drive["path_on_host"], "rb") as f:
            f.seek(1024 + 56)
            self.assertEqual(f.read(2), b"\x53\xef")  # the ext2 magic: the runner built it

    def test_image_found_as_under_bazel_run(self):
        # `bazel run` starts the tool in <runfiles>/unikernel; RUNFILES_DIR may be unset.
        env = {k: v for k, v in os.environ.items() if k != "RUNFILES_DIR"}
        env["BUILD_WORKING_DIRECTORY"] = self.tmp
        result = run("--image=hello", "--out=hello.json",
                     cwd=os.path.join(RUNFILES, "unikernel"), env=env)
        self.assertEqual(result.returncode, 0, result.stderr)
        with open(os.path.join(self.tmp, "hello.json")) as f:  # relative to where it was run
            config = json.load(f)
        self.check_structure(config)
        self.assertEqual(os.path.basename(config["boot-source"]["kernel_image_path"]), "hello.elf")

    def test_bad_flags(self):
        for flags, message in [
                ([], "--image=NAME, or --kernel=ELF"),
                (["--kernel=/nonexistent"], "is not a file"),
                (["--kernel=" + self.kernel, "--vcpus=0"], "1-32"),
                (["--kernel=" + self.kernel, "--vcpus=33"], "1-32"),
                (["--kernel=" + self.kernel, "--mem-mib=8"], "at least 32"),
                (["--kernel=" + self.kernel, "--disk=/nonexistent"], "is not a file"),
                (["--kernel=" + self.kernel, "--disk-readonly"], "needs --disk"),
                (["--kernel=" + self.kernel, "--tap=bad name"], "interface name"),
                (["--kernel=" + self.kernel, "--mac=06:00"], "MAC address"),
                (["--kernel=" + self.kernel, "--ip=10.0.0.2"], "need --image"),
                (["--kernel=" + self.kernel, "--image=webserver"], "give one"),
                (["--image=Web Server"], "not an image name"),
                (["--image=webserver", "stray"], "--key[=value]")]:
            result = run(*flags)
            self.assertEqual(result.returncode, 2, flags)
            self.assertIn(message, result.stderr, flags)
            self.assertEqual(result.stdout, "", flags)

    def test_what_the_runner_refuses_is_an_error_not_a_config(self):
        result = run("--launcher=" + launcher("hello"), "--smp=0")
        self.assertEqual(result.returncode, 1)
        self.assertIn("the runner refused --smp=0", result.stderr)
        self.assertEqual(result.stdout, "")
        result = run("--image=no_such_image")
        self.assertEqual(result.returncode, 1)
        self.assertIn("no runner for image 'no_such_image'", result.stderr)
        self.assertEqual(result.stdout, "")


if __name__ == "__main__":
    unittest.main()
