"""Boots an image in QEMU with a QMP monitor, for tests that act on a running
guest (inject an NMI, suspend a disk request) and read its console as it goes.

The QEMU command line is the image's runner's own (`--print-command`), so
machine, CPU and devices are what `bazel run` uses; a test only adds to it.

    vm = Vm("images/ringbench", "--smp=4", "--mode=idle")
    vm.wait_for(r"ringbench: ready")
    vm.qmp("inject-nmi")          # what the HMP monitor's `nmi` does
    vm.stop()
"""

import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import tempfile
import threading
import time

import qemu_boot


class Vm:
    def __init__(self, name, *flags, edit_command=None, paused=False):
        """Boots `name` (a runfiles path such as "images/echo") with runner
        `flags`. `edit_command(list) -> list` may rewrite the QEMU command;
        `paused` starts the guest stopped until cont()."""
        printed = subprocess.run(
            [qemu_boot.image(name), "--accel=" + qemu_boot.ACCEL, "--print-command"] + list(flags),
            stdout=subprocess.PIPE, check=True, text=True).stdout
        command = shlex.split(printed.strip().splitlines()[-1])
        if edit_command is not None:
            command = edit_command(command)
        # /tmp, not TEST_TMPDIR: a Unix socket path must fit in 108 bytes.
        self._dir = tempfile.mkdtemp(prefix="uk-qmp-", dir="/tmp")
        qmp_path = os.path.join(self._dir, "qmp.sock")
        command += ["-qmp", "unix:%s,server=on,wait=off" % qmp_path]
        if paused:
            command.append("-S")
        self.command = command
        self._output = []
        self._lock = threading.Lock()
        self._qemu = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, start_new_session=True)
        self._reader = threading.Thread(target=self._read_output, daemon=True)
        self._reader.start()
        self._qmp = self._connect(qmp_path)

    # ---- The console ----

    def _read_output(self):
        for chunk in iter(lambda: self._qemu.stdout.read1(4096), b""):
            with self._lock:
                self._output.append(chunk.decode(errors="replace").replace("\r\n", "\n"))

    def output(self):
        with self._lock:
            return "".join(self._output)

    def wait_for(self, pattern, timeout=60, start=0):
        """The first match of `pattern` in the output from offset `start`;
        fails (AssertionError with the output) after `timeout` seconds or if
        QEMU exits first."""
        regex = re.compile(pattern, re.M)
        deadline = time.monotonic() + timeout
        while True:
            text = self.output()
            match = regex.search(text, start)
            if match:
                return match
            if self._qemu.poll() is not None or time.monotonic() > deadline:
                time.sleep(0.2)  # the last lines
                raise AssertionError("no %r after %g s (QEMU %s); output:\n%s" % (
                    pattern, timeout,
                    "running" if self._qemu.poll() is None else "exited %d" % self._qemu.poll(),
                    self.output()))
            time.sleep(0.05)

    def send_keys(self, keys):
        self._qemu.stdin.write(keys.encode())
        self._qemu.stdin.flush()

    def running(self):
        return self._qemu.poll() is None

    # ---- QMP ----

    def _connect(self, path):
        deadline = time.monotonic() + 30
        while True:
            try:
                sock = socket.socket(socket.AF_UNIX)
                sock.connect(path)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                sock.close()
                if self._qemu.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError("QEMU's QMP socket never came up:\n" + self.output())
                time.sleep(0.05)
        self._qmp_file = sock.makefile("rw")
        self._qmp_socket = sock
        json.loads(self._qmp_file.readline())  # the greeting
        self.qmp("qmp_capabilities")
        return sock

    def qmp(self, command, **arguments):
        """Runs a QMP command; returns its "return" value (events in between
        are skipped); raises on an error reply."""
        request = {"execute": command}
        if arguments:
            request["arguments"] = arguments
        self._qmp_file.write(json.dumps(request) + "\n")
        self._qmp_file.flush()
        while True:
            reply = json.loads(self._qmp_file.readline())
            if "return" in reply:
                return reply["return"]
            if "error" in reply:
                raise AssertionError("QMP %s failed: %s" % (command, reply["error"]))

    def hmp(self, command_line):
        """A human-monitor command (e.g. `qemu-io ...`); returns its text."""
        return self.qmp("human-monitor-command", **{"command-line": command_line})

    def cont(self):
        self.qmp("cont")

    # ---- The end ----

    def wait_exit(self, timeout=60):
        """The guest's exit status, mapped as images/run.py does (0, 70 for a
        panic, ...); None if it did not power off within `timeout`."""
        try:
            status = self._qemu.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        self._reader.join(timeout=5)
        if status >= 3 and status % 2 == 1:
            return (status >> 1) - 1
        return -status

    def stop(self):
        if self._qemu.poll() is None:
            self._qemu.kill()
            self._qemu.wait()
        self._reader.join(timeout=5)
        self._qemu.stdin.close()
        self._qemu.stdout.close()
        self._qmp_file.close()
        self._qmp_socket.close()
        shutil.rmtree(self._dir, ignore_errors=True)
