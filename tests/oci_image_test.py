"""The OCI images (images/oci_image.bzl, tools/oci_image.py):

- //images:webserver_oci is read by skopeo (Debian's, installed by
  tools/setup.sh): architecture, the boot annotations as labels, and a copy
  to a `dir:` layout whose one layer holds /boot/kernel, byte for byte the
  image's ELF, and /boot/cmdline;
- every blob's name is its digest, the manifest's sizes and digests match,
  the config's diff_id is the uncompressed layer's digest;
- the archive is reproducible: two runs give the same bytes;
- bad flags are refused with a clear message and exit status 2.
"""

import glob
import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
import unittest

RUNFILES = os.environ.get("TEST_SRCDIR", "")
WORKSPACE = os.path.join(RUNFILES, os.environ.get("TEST_WORKSPACE", "unikernel"))
ARCHIVE = os.path.join(WORKSPACE, "images/webserver_oci.tar")
TOOL = os.path.join(WORKSPACE, "tools/oci_image")


def webserver_elf():
    found = glob.glob(os.path.join(RUNFILES, "**", "images", "webserver.elf"), recursive=True)
    if not found:
        raise AssertionError("webserver.elf is not in the runfiles")
    return found[0]


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def read_archive(path):
    with tarfile.open(path) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}


class OciImageTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR"))
        if shutil.which("skopeo") is None:
            self.fail("skopeo is missing: apt-get install skopeo (tools/setup.sh installs it)")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_skopeo_reads_it_and_the_layer_holds_the_kernel(self):
        inspected = json.loads(subprocess.run(
            ["skopeo", "inspect", "oci-archive:%s:latest" % ARCHIVE],
            stdout=subprocess.PIPE, check=True, text=True).stdout)
        self.assertEqual(inspected["Architecture"], "amd64")
        labels = inspected["Labels"]
        self.assertEqual(labels["dev.uk.boot.kernel"], "/boot/kernel")
        self.assertEqual(labels["dev.uk.boot.machine"], "pc")
        self.assertEqual(labels["dev.uk.boot.vcpus"], "2")
        self.assertEqual(labels["dev.uk.boot.ports"], "tcp/80")
        self.assertIn("http_core=1", labels["dev.uk.boot.cmdline"])

        out = os.path.join(self.tmp, "copy")
        subprocess.run(["skopeo", "copy", "-q", "oci-archive:%s:latest" % ARCHIVE, "dir:" + out],
                       check=True)
        with open(os.path.join(out, "manifest.json")) as f:
            manifest = json.load(f)
        layer_digest = manifest["layers"][0]["digest"].split(":")[1]
        with open(os.path.join(out, layer_digest), "rb") as f:
            layer = tarfile.open(fileobj=io.BytesIO(gzip.decompress(f.read())))
        with open(webserver_elf(), "rb") as f:
            self.assertEqual(layer.extractfile("boot/kernel").read(), f.read())
        self.assertEqual(layer.extractfile("boot/cmdline").read().decode().strip(),
                         labels["dev.uk.boot.cmdline"])

    def test_digests_and_sizes_hold_together(self):
        files = read_archive(ARCHIVE)
        self.assertEqual(json.loads(files["oci-layout"]), {"imageLayoutVersion": "1.0.0"})
        for name, data in files.items():
            if name.startswith("blobs/sha256/"):
                self.assertEqual(sha256(data), "sha256:" + name.rsplit("/", 1)[1], name)

        def blob(descriptor):
            data = files["blobs/sha256/" + descriptor["digest"].split(":")[1]]
            self.assertEqual(len(data), descriptor["size"])
            return data

        index = json.loads(files["index.json"])
        (entry,) = index["manifests"]
        self.assertEqual(entry["annotations"]["org.opencontainers.image.ref.name"], "latest")
        manifest = json.loads(blob(entry))
        config = json.loads(blob(manifest["config"]))
        (layer,) = manifest["layers"]
        self.assertEqual(layer["mediaType"], "application/vnd.oci.image.layer.v1.tar+gzip")
        self.assertEqual(config["rootfs"]["diff_ids"], [sha256(gzip.decompress(blob(layer)))])
        self.assertEqual(manifest["annotations"]["org.opencontainers.image.title"],
                         "webserver_oci")

    def run_tool(self, *flags):
        return subprocess.run([TOOL] + list(flags), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)

    def test_reproducible(self):
        outputs = []
        for i in range(2):
            out = os.path.join(self.tmp, "%d.tar" % i)
            result = self.run_tool("--kernel=" + webserver_elf(), "--out=" + out, "--name=x",
                                   "--cmdline=--a=1", "--vcpus=2", "--port=tcp/80")
            self.assertEqual(result.returncode, 0, result.stderr)
            with open(out, "rb") as f:
                outputs.append(f.read())
        self.assertEqual(outputs[0], outputs[1])

    def test_bad_flags(self):
        out = os.path.join(self.tmp, "bad.tar")
        for flags, message in [
                (["--kernel=/nonexistent", "--name=x"], "is not a file"),
                (["--kernel=" + webserver_elf(), "--name=x", "--port=http"], "PROTO/PORT"),
                (["--kernel=" + webserver_elf(), "--name=x", "--vcpus=0"], "at least 1"),
                (["--kernel=" + webserver_elf(), "--name=x", "--machine=isapc"], "invalid choice")]:
            result = self.run_tool("--out=" + out, *flags)
            self.assertEqual(result.returncode, 2, flags)
            self.assertIn(message, result.stderr)
            self.assertFalse(os.path.exists(out))


if __name__ == "__main__":
    unittest.main()
