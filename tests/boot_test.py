"""Boots //images:hello and //tests:fault under QEMU and checks the output."""

import re
import unittest

from tests.qemu_boot import EXIT_PANIC, boot


class HelloTest(unittest.TestCase):

    def check_every_core_reports_once(self, machine, cores):
        status, out, err = boot("images/hello", "--smp=%d" % cores, "--machine=" + machine)
        self.assertEqual(status, 0, "exit status %d\nstdout:\n%s\nstderr:\n%s" % (status, out, err))
        lines = [l for l in out.splitlines() if l.startswith("hello from")]
        expected = {"hello from cpu %d of %d" % (i, cores) for i in range(cores)}
        self.assertEqual(sorted(lines), sorted(expected), out)  # each exactly once
        self.assertNotIn("PANIC", out)

    def test_microvm_1_core(self):
        self.check_every_core_reports_once("microvm", 1)

    def test_microvm_2_cores(self):
        self.check_every_core_reports_once("microvm", 2)

    def test_microvm_4_cores(self):
        self.check_every_core_reports_once("microvm", 4)

    def test_pc_4_cores(self):
        # The pc machine has a BIOS, a PIC and a PIT left running: the kernel
        # must mask them.
        self.check_every_core_reports_once("pc", 4)

    def test_a_long_sleep_costs_one_timer_interrupt(self):
        # 9 s is more than twice the range the count-down timer had at
        # divide-by-1 (2^32 ns), where it fired three times for this sleep.
        # Meanwhile core 1 has only a deadline a century away, beyond what
        # the timer can count (it used to overflow into a 1-tick timer).
        status, out, err = boot("images/hello", "--smp=2", "--sleep_ms=9000", "--far_sleeper")
        self.assertEqual(status, 0, "stdout:\n%s\nstderr:\n%s" % (out, err))
        self.assertIn("hello: slept 9000 ms", out)
        timers = {int(core): (int(interrupts), int(writes)) for core, interrupts, writes in
                  re.findall(r"^cpu(\d+): .*\| irq wake \d+ timer (\d+) \| timer writes (\d+) \|",
                             out, re.M)}
        self.assertEqual(sorted(timers), [0, 1], out)
        self.assertEqual(timers[0], (1, 1), "cpu0: one interrupt, one write for the sleep")
        self.assertEqual(timers[1][0], 0, "cpu1: no interrupt for a deadline a century away")
        self.assertLessEqual(timers[1][1], 1, "cpu1: armed once at most")

    def test_unknown_runner_flag_shape_is_refused(self):
        status, _, err = boot("images/hello", "stray")
        self.assertEqual(status, 2)
        self.assertIn("unexpected argument", err)


class FaultTest(unittest.TestCase):

    def check_panic(self, kind, *expected):
        status, out, err = boot("tests/fault", "--smp=2", "--fault=" + kind)
        self.assertEqual(status, EXIT_PANIC, "stdout:\n%s\nstderr:\n%s" % (out, err))
        self.assertIn("KERNEL PANIC on cpu 0", out)
        self.assertIn("backtrace:", out)
        self.assertIn("stopping the VM with exit status 70", out)
        for text in expected:
            self.assertRegex(out, text)
        return out

    def test_page_fault_names_address_and_function(self):
        out = self.check_panic("page", r"page fault \(vector 14", r"faulting address 0x0000100000000000",
                               r"rip 0x[0-9a-f]+ <uk::\(anonymous namespace\)::TouchUnmappedMemory\(\)",
                               r"rax [0-9a-f]{16} rbx")
        # The backtrace walks back to where the application's thread began.
        # (The faulting function itself is a leaf without a frame, so the
        # first caller shown may be AppMain's caller.)
        self.assertRegex(out, r"backtrace:\n(  0x[0-9a-f]+  .*\n)*  0x[0-9a-f]+  uk_sched_thread_start\+0x")

    def test_check_failure(self):
        self.check_panic("check", r"CHECK failed at tests/fault_app.cc:\d+: value == 0",
                         r"uk::\(anonymous namespace\)::FailCheck\(int\).*\+0x",
                         r"uk::AppMain\(\)\+0x")

    def test_invalid_opcode(self):
        self.check_panic("opcode", r"invalid opcode \(vector 6", r"ExecuteInvalidOpcode")

    def test_stack_overflow_faults_on_the_guard_page(self):
        # A thread recurses until it runs off its 32 KiB stack: the first
        # write below it hits the guard page, and the page fault (on its own
        # IST stack) says whose stack it was, instead of the canary check
        # finding out later or memory below being overwritten.
        recurse = r"uk::\(anonymous namespace\)::Recurse\(unsigned long\)( \[clone [^]]+\])?"
        out = self.check_panic(
            "stack",
            r"KERNEL PANIC on cpu 0: stack overflow in thread 'stack-hog' \(id \d+, cpu 0\): "
            r"page fault \(vector 14",
            r"faulting address 0x[0-9a-f]+ \(page not present, write, data\)",
            r"\d+ bytes below the 32 KiB stack 0x[0-9a-f]+-0x[0-9a-f]+, in its guard",
            r"<%s\+0x" % recurse,
            r"backtrace:\n(  0x[0-9a-f]+  %s\+0x[0-9a-f]+\n){3}" % recurse)
        self.assertNotIn("overflowed its stack", out)  # the guard caught it, not the canary


if __name__ == "__main__":
    unittest.main()
