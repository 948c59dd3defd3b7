"""Tests tools/check_layers.py on small trees made here."""

import os
import shutil
import tempfile
import unittest

import check_layers

LAYERS_BZL = '''LAYERS = [
    ("ipc", ["//ipc"]),
    ("kernel/lib", ["//kernel/lib"]),
    ("services/runtime", ["//services/runtime"]),
    ("services", ["//services"]),
]
'''


class CheckLayersTest(unittest.TestCase):
    def setUp(self):
        self.root = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.root)
        self.write("toolchain/layers.bzl", LAYERS_BZL)

    def write(self, path, text):
        full = os.path.join(self.root, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w") as f:
            f.write(text)

    def test_downward_includes_pass(self):
        self.write("ipc/ring.h", "#pragma once\n")
        self.write("kernel/lib/log.cc", '#include "ipc/ring.h"\n')
        self.write("services/fs/fs.cc", '#include "services/runtime/call.h"\n#include "ipc/ring.h"\n')
        self.write("tests/app.cc", '#include "services/fs/fs.h"\n')  # side package
        self.assertEqual(check_layers.check(self.root), [])

    def test_upward_include_is_reported_with_both_layers(self):
        self.write("kernel/lib/log.cc", '#include "services/fs/fs.h"\n')
        self.assertEqual(check_layers.check(self.root), [
            "kernel/lib/log.cc (kernel/lib) includes services/fs/fs.h (services), a layer above it"])

    def test_runtime_may_not_include_a_service(self):
        # The one edge Bazel visibility cannot forbid: both live under //services.
        self.write("services/runtime/call.cc", ' #  include "services/net/net.h"\n')
        offences = check_layers.check(self.root)
        self.assertEqual(len(offences), 1)
        self.assertIn("(services/runtime) includes services/net/net.h (services)", offences[0])

    def test_main_exit_status(self):
        self.assertEqual(check_layers.main(["--root", self.root]), 0)
        self.write("ipc/ring.cc", '#include "kernel/lib/log.h"\n')
        self.assertEqual(check_layers.main(["--root", self.root]), 1)


if __name__ == "__main__":
    unittest.main()
