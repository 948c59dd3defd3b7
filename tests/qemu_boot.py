"""Boots an image target from a py_test's runfiles and captures its output.

Each boot has a generous timeout (the runner's --timeout), so a kernel that
hangs fails the test instead of stalling it.
"""

import os
import subprocess

BOOT_TIMEOUT_S = 120
EXIT_PANIC = 70

# Behaviour tests boot under TCG by default: their results then do not depend
# on whether (and how well) the host offers KVM. Nested KVM in a small VM can
# be far slower than TCG. Run them under KVM with
#   bazel test --test_env=UK_TEST_ACCEL=kvm //tests/...
ACCEL = os.environ.get("UK_TEST_ACCEL", "tcg")


def image(name):
    root = os.environ.get("TEST_SRCDIR", "")
    workspace = os.environ.get("TEST_WORKSPACE", "unikernel")
    return os.path.join(root, workspace, name)


def boot(name, *flags):
    """Returns (exit status, stdout with \\n line ends, stderr)."""
    result = subprocess.run(
        [image(name), "--timeout=%d" % BOOT_TIMEOUT_S, "--accel=" + ACCEL] + list(flags),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        stdin=subprocess.DEVNULL)
    return result.returncode, result.stdout.replace("\r\n", "\n"), result.stderr
