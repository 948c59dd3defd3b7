"""The filesystem service in a guest: //images:fstest against virtio-blk disks.

- verify: every file of the generated 1,000-file tree (//tests:tree_disk)
  read through the service matches /MANIFEST's size and CRC-32, with MSI-X
  and with the legacy INTx fallback;
- write: creates, writes, truncates, renames and removes on fresh disks
  (4 KiB blocks rev 1, 1 KiB blocks rev 0); e2fsck -fn on the host then
  finds nothing to fix and debugfs reads back what the guest wrote;
- a corrupt disk gives a clear error and the service keeps answering;
- no disk, or a missing file, is a clear error too.
"""

import os
import shutil
import subprocess
import tempfile
import unittest

import qemu_boot

TREE_DISK = "tests/tree_disk.img"
EXIT_NO_DISK = 2


def pattern(start, length):
    """fstest's Pattern(i) = i * 7 + i / 4096 (mod 256), for i in [start, start + length)."""
    out = bytearray()
    i = start
    end = start + length
    while i < end:
        block = i // 4096
        stop = min(end, (block + 1) * 4096)
        out += bytes(((j * 7 + block) & 0xFF) for j in range(i, stop))
        i = stop
    return bytes(out)


class FsTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR"))

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def copy_tree_disk(self):
        path = os.path.join(self.tmp, "tree.img")
        shutil.copyfile(qemu_boot.image(TREE_DISK), path)
        return path

    def fresh_disk(self, *mke2fs_flags):
        path = os.path.join(self.tmp, "fresh.img")
        subprocess.run(["mke2fs", "-q", "-F", "-t", "ext2"] + list(mke2fs_flags) + [path, "32M"],
                       check=True)
        return path

    def boot_fstest(self, *flags):
        status, out, err = qemu_boot.boot("images/fstest", *flags)
        return status, out, err

    def test_reads_every_file_of_the_tree(self):
        # Every transport: virtio-mmio on microvm (the default), found in
        # QEMU's slots, and without ACPI, found on the command line QEMU
        # appends to (virtio_mmio.device=, as Firecracker gives it); virtio-pci
        # with MSI-X and with INTx on pc.
        for machine, interrupts in (("microvm", "MMIO gsi 2"), ("microvm-no-acpi", "MMIO gsi 12"),
                                    ("pc", "MSI-X"), ("pc", "INTx")):
            with self.subTest(machine=machine, interrupts=interrupts):
                flags = ["--disk=" + self.copy_tree_disk(), "--disk-readonly",
                         "--machine=" + machine.replace("-no-acpi", "")]
                if interrupts == "INTx":
                    flags.append("--disk-intx")
                if machine.endswith("-no-acpi"):
                    flags.append("--no-acpi")
                status, out, err = self.boot_fstest(*flags)
                self.assertEqual(status, 0, out + err)
                self.assertIn(interrupts, out)
                if machine.endswith("-no-acpi"):
                    self.assertRegex(out, r"command line: .*virtio_mmio\.device=512@0xfeb00e00:12")
                self.assertIn("fstest: verified 1000 files", out)
                self.assertIn("and 1 symlinks", out)
                self.assertIn("; 0 mismatches", out)
                self.assertIn("fstest: ok", out)

    def test_writes_leave_a_clean_filesystem(self):
        for geometry in (["-b", "4096"], ["-b", "1024", "-r", "0"]):
            with self.subTest(geometry=geometry):
                disk = self.fresh_disk(*geometry)
                status, out, err = self.boot_fstest("--disk=" + disk, "--mode=write")
                self.assertEqual(status, 0, out + err)
                self.assertIn("fstest: ok", out)

                fsck = subprocess.run(["e2fsck", "-fn", disk], stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, text=True)
                self.assertEqual(fsck.returncode, 0, fsck.stdout)
                # e2fsck -n exits 0 even for wrong free counts; it says "Fix? no".
                self.assertNotIn("? no", fsck.stdout)

                def cat(path):
                    return subprocess.run(["debugfs", "-R", "cat " + path, disk],
                                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                          check=True).stdout

                self.assertEqual(cat("/fstest/small"), b"hello, ext2\n")
                self.assertEqual(cat("/fstest/sub/new"), b"renamed\n")
                self.assertEqual(cat("/fstest/big"), pattern(0, 5 << 20))
                self.assertEqual(cat("/fstest/shrunk"), pattern(0, 5000))
                sparse = cat("/fstest/sparse")
                self.assertEqual(len(sparse), (10 << 20) + 4096)
                self.assertEqual(sparse[: 10 << 20].count(0), 10 << 20)
                self.assertEqual(sparse[10 << 20:], pattern(10 << 20, 4096))
                listing = subprocess.run(["debugfs", "-R", "ls /fstest", disk],
                                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                         text=True, check=True).stdout
                self.assertNotIn("gone", listing)
                self.assertNotIn("empty", listing)
                self.assertIn("link", listing)

    def test_corrupt_disk_is_reported_and_the_service_answers(self):
        disk = self.copy_tree_disk()
        with open(disk, "r+b") as f:
            f.seek(1024 + 56)
            f.write(b"\0\0")  # the superblock magic
        status, out, err = self.boot_fstest("--disk=" + disk)
        self.assertEqual(status, EXIT_NO_DISK, out + err)
        self.assertIn("no ext2 magic", err)  # the runner's warning
        self.assertIn('mount failed: kBadMagic; service answers stat("/") with kBadMagic', out)

    def test_no_disk(self):
        status, out, err = self.boot_fstest()
        self.assertEqual(status, EXIT_NO_DISK, out + err)
        self.assertIn("fstest: no disk; attach one with --disk=FILE", out)

    def test_missing_disk_file_is_a_usage_error(self):
        status, out, err = self.boot_fstest("--disk=" + os.path.join(self.tmp, "nope.img"))
        self.assertEqual(status, 2, out + err)
        self.assertIn("is not a file", err)


if __name__ == "__main__":
    unittest.main()
