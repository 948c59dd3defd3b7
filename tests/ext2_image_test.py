"""Checks images built by images/ext2_image.bzl with e2fsprogs' own tools.

:example_disk comes from checked-in files (strip_prefix, 1 KiB blocks);
:tree_disk from the folder gen_tree.py generates (a directory artifact),
which is dumped back out with debugfs and compared with its MANIFEST.
"""

import os
import shutil
import subprocess
import tempfile
import unittest

TOOL_DIRS = ["/usr/sbin", "/sbin", "/usr/bin", "/bin"]


def runfile(path):
    root = os.environ.get("TEST_SRCDIR", "")
    workspace = os.environ.get("TEST_WORKSPACE", "unikernel")
    return os.path.join(root, workspace, path)


def tool(name):
    for directory in TOOL_DIRS:
        path = os.path.join(directory, name)
        if os.access(path, os.X_OK):
            return path
    # A failure, not a skip: Bazel would report a skipped test as PASSED.
    raise AssertionError("%s not found in %s: install Debian's e2fsprogs package "
                         "(apt-get install e2fsprogs; tools/setup.sh does)"
                         % (name, ":".join(TOOL_DIRS)))


def run(*command):
    """Returns (exit status, stdout + stderr)."""
    result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, errors="replace")
    return result.returncode, result.stdout


class Ext2ImageTest(unittest.TestCase):

    def assert_fsck_clean(self, image):
        status, out = run(tool("e2fsck"), "-fn", image)
        self.assertEqual(status, 0, "e2fsck -fn %s:\n%s" % (image, out))
        print(out.strip())

    def debugfs(self, image, request):
        status, out = run(tool("debugfs"), "-R", request, image)
        self.assertEqual(status, 0, out)
        # debugfs prints its version banner first, on stderr.
        return "\n".join(l for l in out.splitlines() if not l.startswith("debugfs "))

    def test_example_disk_is_clean(self):
        self.assert_fsck_clean(runfile("tests/example_disk.img"))

    def test_example_disk_has_the_files_minus_strip_prefix(self):
        image = runfile("tests/example_disk.img")
        for path in ("hello.txt", "docs/nested/notes.txt"):
            with open(runfile("tests/testdata/ext2_example/" + path)) as f:
                expected = f.read()
            self.assertEqual(self.debugfs(image, "cat /" + path) + "\n", expected)
        listing = self.debugfs(image, "ls -p /")
        self.assertNotIn("testdata", listing)

    def test_example_disk_geometry(self):
        status, out = run(tool("dumpe2fs"), "-h", runfile("tests/example_disk.img"))
        self.assertEqual(status, 0, out)
        self.assertRegex(out, r"Block size:\s+1024\n")
        self.assertRegex(out, r"Block count:\s+1024\n")  # size = "1M"
        self.assertRegex(out, r"Filesystem revision #:\s+1 ")

    def test_tree_disk_is_clean(self):
        self.assert_fsck_clean(runfile("tests/tree_disk.img"))

    def test_tree_disk_matches_its_manifest(self):
        out_dir = tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR"))
        try:
            self.debugfs(runfile("tests/tree_disk.img"), "rdump / " + out_dir)
            status, out = run("python3", runfile("tests/gen_tree.py"), "--check", out_dir)
            self.assertEqual(status, 0, out)
            with open(os.path.join(out_dir, "MANIFEST")) as f:
                lines = f.read().splitlines()
            self.assertEqual(len([l for l in lines if not l.startswith("L ")]), 1000)
            self.assertEqual(len([l for l in lines if l.startswith("L ")]), 1)
        finally:
            shutil.rmtree(out_dir)


if __name__ == "__main__":
    unittest.main()
