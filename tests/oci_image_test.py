"""The OCI images (images/oci_image.bzl, tools/oci_image.py):

- //images:webserver_oci is read by skopeo (Debian's, installed by
  tools/setup.sh): architecture, the boot annotations as labels, and a copy
  to a `dir:` layout whose one layer holds /boot/kernel, byte for byte the
  image's ELF, and /boot/cmdline, copied back to an `oci:` layout with the
  same layer;
- every blob's name is its digest, the manifest's sizes and digests match,
  the config's diff_id is the uncompressed layer's digest;
- every image's annotations (command line, vCPUs, memory) are what its
  runner boots with (`--print-command`), so images/BUILD cannot drift;
- //images:webserver_site_oci ships its site disk at /disk/site.img, owned
  by KubeVirt's qemu user, and skopeo reads it as an OCI directory layout
  (`oci:DIR`) too;
- umoci (Debian's) unpacks //images:webserver_site_oci, checking every
  digest on the way: the rootfs holds the kernel and the disk; with one byte
  of the layer changed it refuses;
- the archive is reproducible: two runs give the same bytes;
- bad flags are refused with a clear message and exit status 2.
"""

import glob
import gzip
import hashlib
import io
import json
import os
import shlex
import shutil
import subprocess
import tarfile
import tempfile
import unittest

RUNFILES = os.environ.get("TEST_SRCDIR", "")
WORKSPACE = os.path.join(RUNFILES, os.environ.get("TEST_WORKSPACE", "unikernel"))
ARCHIVE = os.path.join(WORKSPACE, "images/webserver_oci.tar")
SITE_ARCHIVE = os.path.join(WORKSPACE, "images/webserver_site_oci.tar")
TOOL = os.path.join(WORKSPACE, "tools/oci_image")
# OCI image -> the image it packs (images/BUILD).
IMAGES = {"webserver_oci": "webserver", "webserver_site_oci": "webserver",
          "echo_oci": "echo", "udp_echo_oci": "udp_echo", "hello_oci": "hello"}


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


def manifest_and_layer(path):
    """The manifest's annotations and the one layer, as a tarfile."""
    files = read_archive(path)
    index = json.loads(files["index.json"])
    manifest = json.loads(files["blobs/sha256/" + index["manifests"][0]["digest"][7:]])
    layer = files["blobs/sha256/" + manifest["layers"][0]["digest"][7:]]
    return manifest["annotations"], tarfile.open(fileobj=io.BytesIO(gzip.decompress(layer)))


def runner_boot(image):
    """What `bazel run //images:IMAGE` boots: (command line, vCPUs, memory)."""
    printed = subprocess.run(
        [os.path.join(WORKSPACE, "images", image), "--print-command", "--accel=tcg",
         "--machine=microvm"], stdout=subprocess.PIPE, check=True, text=True).stdout
    command = shlex.split(printed.strip().splitlines()[-1])
    value = lambda flag: command[command.index(flag) + 1] if flag in command else ""
    return value("-append"), value("-smp"), value("-m")


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
        self.assertEqual(labels["dev.uk.boot.machine"], "microvm")
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

        # And back: the dir: copy to an OCI directory layout keeps the blobs.
        back = os.path.join(self.tmp, "back")
        subprocess.run(["skopeo", "copy", "-q", "dir:" + out, "oci:%s:latest" % back],
                       check=True)
        again = json.loads(subprocess.run(
            ["skopeo", "inspect", "oci:%s:latest" % back],
            stdout=subprocess.PIPE, check=True, text=True).stdout)
        self.assertEqual(again["Layers"], inspected["Layers"])
        self.assertEqual(again["Labels"], labels)

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

    def test_annotations_say_what_the_runner_boots(self):
        for oci, image in sorted(IMAGES.items()):
            annotations, _ = manifest_and_layer(os.path.join(WORKSPACE, "images", oci + ".tar"))
            cmdline, vcpus, memory = runner_boot(image)
            self.assertEqual(annotations["dev.uk.boot.cmdline"], cmdline, oci)
            self.assertEqual(annotations["dev.uk.boot.vcpus"], vcpus, oci)
            self.assertEqual(annotations["dev.uk.boot.memory"], memory, oci)
            self.assertEqual(annotations["dev.uk.boot.kernel"], "/boot/kernel", oci)

    def test_the_site_disk_is_in_the_containerdisk_place(self):
        annotations, layer = manifest_and_layer(SITE_ARCHIVE)
        self.assertEqual(annotations["dev.uk.boot.disk"], "/disk/site.img")
        self.assertEqual(annotations["dev.uk.boot.disk.readonly"], "true")
        disk = layer.getmember("disk/site.img")
        self.assertEqual((disk.uid, disk.gid), (107, 107))
        data = layer.extractfile(disk).read()
        self.assertEqual(data[1024 + 56:1024 + 58], b"\x53\xef")  # ext2 magic
        self.assertEqual([m.name for m in layer.getmembers() if m.name.startswith("disk/")],
                         ["disk/site.img"])  # KubeVirt takes the one file under /disk
        with tarfile.open(SITE_ARCHIVE) as tar:
            tar.extractall(os.path.join(self.tmp, "layout"))
        inspected = json.loads(subprocess.run(
            ["skopeo", "inspect", "oci:%s:latest" % os.path.join(self.tmp, "layout")],
            stdout=subprocess.PIPE, check=True, text=True).stdout)
        self.assertEqual(inspected["Labels"]["dev.uk.boot.disk"], "/disk/site.img")
        self.assertEqual(len(inspected["Layers"]), 1)

    def test_umoci_unpacks_it_and_refuses_a_changed_layer(self):
        if shutil.which("umoci") is None:
            self.fail("umoci is missing: apt-get install umoci (tools/setup.sh installs it)")
        layout = os.path.join(self.tmp, "layout")
        with tarfile.open(SITE_ARCHIVE) as tar:
            tar.extractall(layout)
        bundle = os.path.join(self.tmp, "bundle")
        unpack = lambda: subprocess.run(
            ["umoci", "unpack", "--rootless", "--image", layout + ":latest", bundle],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        result = unpack()
        self.assertEqual(result.returncode, 0, result.stdout)
        with open(os.path.join(bundle, "rootfs/boot/kernel"), "rb") as f, \
                open(webserver_elf(), "rb") as elf:
            self.assertEqual(f.read(), elf.read())
        self.assertTrue(os.path.isfile(os.path.join(bundle, "rootfs/disk/site.img")))
        stat = subprocess.run(["umoci", "stat", "--image", layout + ":latest"],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.assertEqual(stat.returncode, 0, stat.stdout)
        self.assertIn("tools/oci_image.py", stat.stdout)

        shutil.rmtree(bundle)
        with open(os.path.join(layout, "index.json")) as f:
            manifest_digest = json.load(f)["manifests"][0]["digest"].split(":")[1]
        with open(os.path.join(layout, "blobs/sha256", manifest_digest)) as f:
            layer_digest = json.load(f)["layers"][0]["digest"].split(":")[1]
        path = os.path.join(layout, "blobs/sha256", layer_digest)
        with open(path, "r+b") as f:
            f.seek(-16, os.SEEK_END)  # gzip's CRC-32 and size trailer is last
            byte = f.read(1)
            f.seek(-16, os.SEEK_END)
            f.write(bytes([byte[0] ^ 0xff]))
        result = unpack()
        self.assertNotEqual(result.returncode, 0, result.stdout)
        self.assertRegex(result.stdout, r"(?i)digest|verif|mismatch", result.stdout)

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
                (["--kernel=" + webserver_elf(), "--name=x", "--machine=isapc"], "invalid choice"),
                (["--kernel=" + webserver_elf(), "--name=x", "--disk=/nonexistent"],
                 "is not a file"),
                (["--kernel=" + webserver_elf(), "--name=x", "--disk-readonly"], "needs --disk")]:
            result = self.run_tool("--out=" + out, *flags)
            self.assertEqual(result.returncode, 2, flags)
            self.assertIn(message, result.stderr)
            self.assertFalse(os.path.exists(out))


if __name__ == "__main__":
    unittest.main()
