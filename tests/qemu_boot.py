"""Boots an image target from a py_test's runfiles and captures its output.

Each boot has a generous timeout (the runner's --timeout), so a kernel that
hangs fails the test instead of stalling it.
"""

import os
import subprocess

BOOT_TIMEOUT_S = 60
EXIT_PANIC = 70


def image(name):
    root = os.environ.get("TEST_SRCDIR", "")
    workspace = os.environ.get("TEST_WORKSPACE", "unikernel")
    return os.path.join(root, workspace, name)


def boot(name, *flags):
    """Returns (exit status, stdout with \\n line ends, stderr)."""
    result = subprocess.run(
        [image(name), "--timeout=%d" % BOOT_TIMEOUT_S] + list(flags),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        stdin=subprocess.DEVNULL)
    return result.returncode, result.stdout.replace("\r\n", "\n"), result.stderr
