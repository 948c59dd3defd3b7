"""The virtio-blk request timeout in a guest (//tests:disk_timeout).

QEMU's blkdebug driver sits under the disk, and `qemu-io disk0 "break
write_aio hang"` (set before the guest runs) suspends the first write the
device receives: the device never completes that request. The guest's
driver must give up after disk_timeout_ms, every fs client queued behind the
request must get an error (none may hang), later requests must fail at once,
and when the host finally resumes the write -- a late completion into
buffers the guest has given up -- nothing may break. Without the timeout the
guest waits for the write forever.
"""

import os
import shutil
import subprocess
import tempfile
import unittest

import qemu_monitor

TIMEOUT_MS = 1500


def blkdebug_disk(command):
    """Puts QEMU's blkdebug driver between the disk's format and its file."""
    i = command.index("-drive") + 1
    assert command[i].startswith("file="), command[i]
    command[i] = "file=blkdebug::" + command[i][len("file="):]
    return command


class DiskTimeoutTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR"))
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)

    def make_disk(self):
        tree = os.path.join(self.tmp, "tree")
        os.makedirs(tree)
        with open(os.path.join(tree, "hello.txt"), "w") as f:
            f.write("hello\n")
        with open(os.path.join(tree, "big.bin"), "wb") as f:
            f.write(bytes(i % 251 for i in range(1 << 20)))
        disk = os.path.join(self.tmp, "disk.img")
        subprocess.run(["mke2fs", "-q", "-F", "-t", "ext2", "-b", "4096", "-d", tree, disk, "16M"],
                       check=True)
        return disk

    def test_a_hung_disk_fails_every_client_and_then_fails_fast(self):
        vm = qemu_monitor.Vm("tests/disk_timeout", "--smp=4", "--disk=" + self.make_disk(),
                             "--disk_timeout_ms=%d" % TIMEOUT_MS,
                             edit_command=blkdebug_disk, paused=True)
        self.addCleanup(vm.stop)
        self.assertEqual(vm.hmp('qemu-io disk0 "break write_aio hang"').strip(), "")
        vm.cont()

        vm.wait_for(r"blkdebug: Suspended request 'hang'")
        gave_up = vm.wait_for(r"virtio-blk: no completion for %d ms with (\d+) request\(s\) "
                              r"outstanding: device marked failed" % TIMEOUT_MS)
        self.assertGreaterEqual(int(gave_up.group(1)), 1)
        vm.wait_for(r"disk-timeout: device failed; waiting for its late completion")
        # The write the guest gave up on completes now, into buffers it retired.
        vm.hmp('qemu-io disk0 "resume hang"')
        vm.wait_for(r"blkdebug: Resuming request 'hang'")

        status = vm.wait_exit(timeout=120)
        out = vm.output()
        self.assertEqual(status, 0, out)
        self.assertIn("disk-timeout: ok", out)
        self.assertRegex(out, r"disk-timeout: writer on cpu 1: kReadOnly after \d+ ms")
        self.assertRegex(out, r"disk-timeout: reader on cpu 0: kIo after \d+ ms")
        self.assertRegex(out, r"disk-timeout: reader on cpu 2: kIo after \d+ ms")
        self.assertIn("virtio-blk: the failed device completed a request after the timeout", out)
        self.assertNotIn("KERNEL PANIC", out)


if __name__ == "__main__":
    unittest.main()
