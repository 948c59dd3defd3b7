"""Boots the web server from what //images:webserver_site_oci holds, as an
engine that reads only the OCI image would: the kernel, the command line,
the vCPUs, memory and machine from the manifest's annotations, the site
disk from /disk/site.img (attached read-only, as dev.uk.boot.disk.readonly
says), and fetches the site's page. The QEMU command is otherwise the
runner's (`--print-command`), under TCG here: on the annotated machine
(microvm), on pc, and on q35 (KubeVirt's machine; the pc command with
`-machine q35`: the same virtio-pci devices on its PCIe root bus).
"""

import gzip
import http.client
import io
import json
import os
import shutil
import socket
import tarfile
import tempfile
import time
import unittest

import qemu_monitor

RUNFILES = os.environ.get("TEST_SRCDIR", "")
WORKSPACE = os.path.join(RUNFILES, os.environ.get("TEST_WORKSPACE", "unikernel"))
ARCHIVE = os.path.join(WORKSPACE, "images/webserver_site_oci.tar")
PAGE_HEADING = b"<h1>Served by the uk unikernel</h1>"  # images/site/index.html


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def unpack(archive, folder):
    """The manifest's annotations; the layer's files written under `folder`."""
    with tarfile.open(archive) as tar:
        blob = lambda digest: tar.extractfile("blobs/sha256/" + digest.split(":")[1]).read()
        index = json.loads(tar.extractfile("index.json").read())
        manifest = json.loads(blob(index["manifests"][0]["digest"]))
        layer = blob(manifest["layers"][0]["digest"])
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(layer))) as files:
        files.extractall(folder)
    return manifest["annotations"]


def replace_value(command, flag, value):
    if flag in command:
        command[command.index(flag) + 1] = value
    else:
        command += [flag, value]
    return command


class OciBootTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR"))

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_web_server_serves_its_site_from_the_oci_image(self):
        boot = unpack(ARCHIVE, self.tmp)
        for machine in (boot["dev.uk.boot.machine"], "pc", "q35"):
            with self.subTest(machine=machine):
                self.boot_and_fetch(boot, machine)

    def boot_and_fetch(self, boot, machine):
        root = lambda path: os.path.join(self.tmp, path.lstrip("/"))
        self.assertTrue(os.path.isfile(root(boot["dev.uk.boot.kernel"])))
        self.assertTrue(os.path.isfile(root(boot["dev.uk.boot.disk"])))
        disk_flags = ["--disk=" + root(boot["dev.uk.boot.disk"])]
        if boot["dev.uk.boot.disk.readonly"] == "true":
            disk_flags.append("--disk-readonly")

        def from_the_image(command):
            command = replace_value(command, "-kernel", root(boot["dev.uk.boot.kernel"]))
            command = replace_value(command, "-append", boot["dev.uk.boot.cmdline"])
            command = replace_value(command, "-smp", boot["dev.uk.boot.vcpus"])
            command = replace_value(command, "-m", boot["dev.uk.boot.memory"])
            if machine == "q35":
                command = replace_value(command, "-machine", "q35")
            return command

        port = free_port()
        vm = qemu_monitor.Vm("images/webserver", "--port=%d" % port,
                             "--machine=" + ("pc" if machine == "q35" else machine),
                             *disk_flags,
                             edit_command=from_the_image)
        try:
            self.assertIn("q35" if machine == "q35" else machine,
                          vm.command[vm.command.index("-machine") + 1])
            vm.wait_for(r"webserver: listening", timeout=180)
            # QEMU's port forward accepts before the guest listens: retry
            # until a response comes (a bound on waiting, not a measurement).
            deadline = time.monotonic() + 60
            while True:
                try:
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                    conn.request("GET", "/")
                    response = conn.getresponse()
                    status, body = response.status, response.read()
                    conn.close()
                    break
                except (OSError, http.client.HTTPException):
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
            self.assertEqual(status, 200, vm.output())
            self.assertIn(PAGE_HEADING, body)
        finally:
            vm.stop()


if __name__ == "__main__":
    unittest.main()
