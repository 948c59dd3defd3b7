"""Source-level debugging of an image: the booted ELF has no DWARF, its twin
NAME_debug.elf (same addresses) has it, and gdb attached to QEMU's gdb stub
shows file:line, locals, a backtrace and one thread per vCPU (README,
"Debugging"). Debian's gdb, in batch mode, against the web server under TCG.
"""

import glob
import os
import re
import shutil
import socket
import subprocess
import unittest

import qemu_monitor

RUNFILES = os.environ.get("TEST_SRCDIR", "")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def runfile(name):
    found = glob.glob(os.path.join(RUNFILES, "**", "images", name), recursive=True)
    if not found:
        raise AssertionError("%s is not in the runfiles" % name)
    return found[0]


class GdbTest(unittest.TestCase):
    def test_the_booted_elf_has_no_dwarf_and_the_debug_one_has(self):
        sections = lambda path: subprocess.run(["readelf", "-S", path], stdout=subprocess.PIPE,
                                               check=True, text=True).stdout
        self.assertNotIn(".debug_info", sections(runfile("webserver.elf")))
        self.assertIn(".debug_info", sections(runfile("webserver_debug.elf")))

    def test_breakpoint_shows_source_locals_and_every_vcpu(self):
        if shutil.which("gdb") is None:
            self.fail("gdb is missing: apt-get install gdb (tools/setup.sh installs it)")
        port = free_port()
        # Its own HTTP port too: the default (8080) may be taken by another run.
        vm = qemu_monitor.Vm(
            "images/webserver", "--port=%d" % free_port(), paused=True,
            edit_command=lambda command: command + ["-gdb", "tcp:127.0.0.1:%d" % port])
        try:
            result = subprocess.run(
                ["gdb", "-batch", "-nx",
                 "-ex", "target remote 127.0.0.1:%d" % port,
                 # A kernel function first: the second vCPU entering C++
                 # (deterministic: every vCPU waits in reset until the
                 # first one starts it).
                 "-ex", "break uk::ApMain",
                 "-ex", "continue",
                 "-ex", "info args",
                 "-ex", "delete 1",
                 "-ex", "break uk::web::Server::Listen",
                 "-ex", "continue",
                 "-ex", "bt",
                 "-ex", "info locals",
                 "-ex", "info threads",
                 "-ex", "thread apply all bt",
                 runfile("webserver_debug.elf")],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=240)
        finally:
            vm.stop()
        out = result.stdout
        self.assertRegex(out, r"Thread 2 hit Breakpoint 1, uk::ApMain \(cpu=0x[0-9a-f]+\) "
                              r"at kernel/top/main\.cc:\d+", out)
        self.assertRegex(out, r"\ncpu = 0x[0-9a-f]+\n", out)  # info args
        self.assertRegex(out, r"Breakpoint 2, uk::web::Server::Listen .* "
                              r"at apps/webserver/server\.cc:\d+", out)
        self.assertRegex(out, r"#1 .* uk::AppMain \(\) at apps/webserver/main\.cc:\d+", out)
        self.assertRegex(out, r"\bip = ", out)  # a local of Listen
        self.assertRegex(out, r"Thread 1\.1 \(CPU#0", out)
        self.assertRegex(out, r"Thread 1\.2 \(CPU#1", out)
        # A backtrace per vCPU, each starting in our source at a file:line.
        per_vcpu = re.findall(r"^Thread \d+ \(Thread 1\.\d+ \(CPU#(\d+) [^\n]*\n"
                              r"#0 [^\n]* at [\w/.]+\.(?:cc|h|S):\d+", out, re.MULTILINE)
        self.assertEqual(sorted(per_vcpu), ["0", "1"], out)
        # A scheduler thread's backtrace ends at its start (context_switch.S's
        # CFI), not in a read past the stack. (An idle AP's scheduler loop
        # runs on its boot stack, whose backtrace goes on into the start-up
        # trampoline in low memory, which has no symbols.)
        self.assertRegex(out, r"uk_sched_thread_start \(\) at kernel/sched/context_switch\.S:\d+\n"
                              r"(?!Backtrace stopped)", out)
        print(out)  # the session, in the test log


if __name__ == "__main__":
    unittest.main()
