"""Graceful shutdown (kernel/top/shutdown.h): the ACPI power button, pressed
through QEMU's monitor (`system_powerdown`, what `virsh shutdown` does), and
the console's `q` key stop the image with status 0 after printing its
counters:

- pc (PIIX4 PM, the SCI) and q35 (ICH9 PM, libvirt's other x86 machine):
  fstest writes to a fresh disk, waits, and the button ends it; the fs
  service is stopped (it flushes, then refuses changes); e2fsck -fn then
  finds the disk clean and debugfs reads back what was written;
- without the runner's exit device (as under libvirt or Firecracker): the
  kernel powers off through ACPI S5, so QEMU itself exits 0 (the web server);
- microvm (hardware-reduced ACPI, QEMU's Generic Event Device): the button,
  with and without the exit device;
- the web server drains on `q`: it stops accepting and says so; so does
  echo.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import qemu_monitor

COUNTERS = r"cpu0: "  # the first of every core's counter lines (PrintCounters)


def without_exit_device(command):
    """The QEMU command of an engine: no isa-debug-exit device."""
    i = command.index("isa-debug-exit,iobase=0xf4,iosize=0x04")
    return command[:i - 1] + command[i + 1:]


class ShutdownTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR"))

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def press_and_expect_status_0(self, vm):
        try:
            vm.qmp("system_powerdown")
        except (ConnectionResetError, BrokenPipeError, ValueError):
            # The guest can power off before QEMU has written the command's
            # answer (microvm under TCG takes a few ms): QEMU then exits with
            # the answer unsent. The exit status below is what counts.
            pass
        status = vm.wait_exit(timeout=60)
        output = vm.output()
        vm.stop()
        sys.stderr.write(output)  # the guest's log, for the test log
        self.assertIn("shutdown: asked for by the power button", output)
        self.assertIn("shutdown: powering off", output)
        self.assertRegex(output, COUNTERS)
        # With the exit device the runner's mapping gives the guest's 0;
        # without it QEMU's own 0 (ACPI S5) comes back as -0.
        self.assertEqual(status, 0, output)
        return output

    def test_power_button_after_writes_leaves_a_clean_disk(self):
        # q35: ICH9 instead of PIIX4 (another PM block, the same fixed
        # power button), libvirt's other x86 machine.
        for machine in ("pc", "q35"):
            with self.subTest(machine=machine):
                self.power_button_after_writes(machine)

    def power_button_after_writes(self, machine):
        disk = os.path.join(self.tmp, machine + ".img")
        subprocess.run(["mke2fs", "-q", "-F", "-t", "ext2", disk, "32M"], check=True)
        vm = qemu_monitor.Vm("images/fstest", "--machine=" + machine, "--disk=" + disk,
                             "--mode=write", "--wait")
        try:
            vm.wait_for(r"fstest: waiting for the power button", timeout=180)
            output = self.press_and_expect_status_0(vm)
        finally:
            vm.stop()
        self.assertIn("ACPI fixed power button", output)
        self.assertIn("-machine %s " % machine, " ".join(vm.command) + " ")
        # The services were stopped before the power-off: the fs service
        # flushed and refuses changes from then on.
        self.assertRegex(output, r"shutdown: fs stopped\r?\n")
        fsck = subprocess.run(["e2fsck", "-fn", disk], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
        self.assertEqual(fsck.returncode, 0, fsck.stdout)
        self.assertNotIn("? no", fsck.stdout)  # e2fsck -n exits 0 for wrong counts too
        listing = subprocess.run(["debugfs", "-R", "ls -l /fstest", disk], stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL, text=True, check=True).stdout
        self.assertIn("big", listing)

    def test_power_button_without_the_exit_device_powers_off_through_acpi(self):
        vm = qemu_monitor.Vm("images/webserver", edit_command=without_exit_device)
        try:
            vm.wait_for(r"webserver: listening", timeout=120)
            output = self.press_and_expect_status_0(vm)
        finally:
            vm.stop()
        self.assertIn("power-off: ACPI S5", output)
        self.assertIn("webserver: stopped accepting", output)

    def test_microvm_generic_event_device(self):
        for edit in (None, without_exit_device):
            with self.subTest(exit_device=edit is None):
                vm = qemu_monitor.Vm("images/ringbench", "--machine=microvm", "--mode=idle",
                                     edit_command=edit)
                try:
                    vm.wait_for(r"ringbench: ready", timeout=120)
                    output = self.press_and_expect_status_0(vm)
                finally:
                    vm.stop()
                self.assertIn("GED power-down event", output)

    def press_q(self, image, ready):
        """Boots `image`, presses q once `ready` is on the console; the
        output, after checking the exit status 0 and the counters."""
        vm = qemu_monitor.Vm(image)
        try:
            vm.wait_for(ready, timeout=120)
            vm.send_keys("q")
            status = vm.wait_exit(timeout=60)
            output = vm.output()
        finally:
            vm.stop()
        sys.stderr.write(output)
        self.assertEqual(status, 0, output)
        self.assertRegex(output, COUNTERS)
        return output

    def test_q_on_the_console_drains_the_web_server(self):
        output = self.press_q("images/webserver", r"webserver: listening")
        self.assertIn("shutdown: asked for by q on the console", output)
        self.assertIn("webserver: stopped accepting; 0 connections were open", output)

    def test_q_on_the_console_stops_echo(self):
        output = self.press_q("images/echo", r"echo: listening")
        self.assertIn("echo: stopped accepting", output)
        self.assertIn("shutdown: net stopped", output)


if __name__ == "__main__":
    unittest.main()
