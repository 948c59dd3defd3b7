"""//images:echo under QEMU (TCG by default, see qemu_boot.ACCEL): one boot,
then, in order, with the server expected to keep serving after each:

- 10,000 round trips on one connection, sizes 1 B to 64 KiB (log-uniform),
  every byte compared;
- 200 connections open at once, each doing several round trips;
- clients that vanish mid-transfer (close at once, half a message, a large
  send never read, reset with SO_LINGER 0);
- the counters (console key `s`) show the net core halting between
  requests, and the guest never panicked.
"""

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import unittest

import echo_client
import qemu_boot

HOST = "127.0.0.1"


def free_port():
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class EchoTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.port = free_port()
        cls.vm = subprocess.Popen(
            [qemu_boot.image("images/echo"), "--timeout=900", "--accel=" + qemu_boot.ACCEL,
             "--port=%d" % cls.port],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        cls.output = []
        cls.reader = threading.Thread(target=cls._read, daemon=True)
        cls.reader.start()
        echo_client.wait_for_port(HOST, cls.port, timeout=120)

    @classmethod
    def _read(cls):
        for line in iter(cls.vm.stdout.readline, b""):
            cls.output.append(line.decode(errors="replace").replace("\r", ""))

    @classmethod
    def tearDownClass(cls):
        if cls.vm.poll() is None:
            cls.vm.send_signal(signal.SIGTERM)  # the runner stops QEMU
            cls.vm.wait(timeout=30)
        cls.reader.join(timeout=10)
        sys.stderr.write("".join(cls.output))  # the guest's log, for the test log

    def text(self):
        return "".join(self.output)

    def still_serving(self):
        self.assertIsNone(self.vm.poll(), "the VM stopped:\n" + self.text())
        echo_client.round_trips(HOST, self.port, 20, 1, 2000, seed=99)
        self.assertNotIn("PANIC", self.text())

    def test_1_ten_thousand_round_trips(self):
        stats = echo_client.round_trips(HOST, self.port, 10000, 1, 65536, seed=1, log_sizes=True)
        self.assertEqual(stats["round_trips"], 10000)
        print("echo_test: 10,000 round trips, %d bytes, %.1f s, median %.0f us"
              % (stats["bytes"], stats["seconds"], stats["median_us"]))
        self.still_serving()

    def test_2_two_hundred_concurrent_connections(self):
        echo_client.concurrent(HOST, self.port, 200, 5, size_range=(1, 4096), seed=2)
        self.still_serving()

    def test_3_vanishing_clients(self):
        echo_client.vanishing_clients(HOST, self.port, 40, seed=3)
        self.still_serving()

    def test_4_net_core_halts_between_requests(self):
        self.still_serving()
        before = len(self.output)
        self.vm.stdin.write(b"s")
        self.vm.stdin.flush()
        deadline_lines = None
        for _ in range(100):
            lines = "".join(self.output[before:])
            if re.search(r"^cpu1: .*\n", lines, re.M) and "net:" in lines:
                deadline_lines = lines
                break
            threading.Event().wait(0.1)
        self.assertIsNotNone(deadline_lines, "no counters after 's':\n" + self.text())
        halts = re.search(r"^cpu1: .* halts (\d+)", deadline_lines, re.M)
        self.assertIsNotNone(halts, deadline_lines)
        self.assertGreater(int(halts.group(1)), 0, deadline_lines)
        self.assertRegex(deadline_lines, r"cpu1 +net: handled [1-9]")


if __name__ == "__main__":
    unittest.main()
