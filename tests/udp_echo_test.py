"""//images:udp_echo under QEMU (TCG by default, see qemu_boot.ACCEL): one
boot, the guest's UDP port 7 forwarded from a free host UDP port, then:

- datagrams of 1, 2, 64, 512, 1000, 1471 and 1472 bytes (the largest that
  fits one Ethernet frame) and 4000 and 65507 (IP fragments both ways), one
  at a time, each echo compared byte for byte and from the forwarded port;
- a burst of 16 datagrams sent back to back (within the guest's queue of 32
  per socket), every echo compared;
- the console's `s` line: as many datagrams out as in, none dropped, and
  the guest never panicked.

UDP has no connection to wait for: the first probe is resent until an echo
comes (the guest is booting meanwhile), bounded by a deadline, not timed.
"""

import collections
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import unittest

import qemu_boot

HOST = "127.0.0.1"
BOOT_DEADLINE_S = 120
# Generous: the guest runs under TCG on a shared machine. Only a lost echo
# waits this long, and then the test fails.
RECV_TIMEOUT_S = 30


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def payload(size, seed):
    return bytes((i * 7 + seed) % 256 for i in range(size))


class UdpEchoTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.port = free_udp_port()
        cls.vm = subprocess.Popen(
            [qemu_boot.image("images/udp_echo"), "--timeout=600", "--accel=" + qemu_boot.ACCEL,
             "--udp-port=%d" % cls.port],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        cls.output = []
        cls.reader = threading.Thread(target=cls._read, daemon=True)
        cls.reader.start()
        cls._wait_for_echo()

    @classmethod
    def _read(cls):
        for line in iter(cls.vm.stdout.readline, b""):
            cls.output.append(line.decode(errors="replace").replace("\r", ""))

    @classmethod
    def _wait_for_echo(cls):
        """Resends a probe until it is echoed: QEMU forwards it (or drops it)
        from the moment it starts, long before the guest has bound port 7."""
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.settimeout(1)
            deadline = time.monotonic() + BOOT_DEADLINE_S
            while time.monotonic() < deadline:
                if cls.vm.poll() is not None:
                    raise AssertionError("the VM stopped:\n" + "".join(cls.output))
                probe.sendto(b"probe", (HOST, cls.port))
                try:
                    data, _ = probe.recvfrom(100)
                except socket.timeout:
                    continue
                if data == b"probe":
                    return
        raise AssertionError("no echo within %d s:\n%s" % (BOOT_DEADLINE_S, "".join(cls.output)))

    @classmethod
    def tearDownClass(cls):
        if cls.vm.poll() is None:
            cls.vm.send_signal(signal.SIGTERM)  # the runner stops QEMU
            cls.vm.wait(timeout=30)
        cls.reader.join(timeout=10)
        sys.stderr.write("".join(cls.output))  # the guest's log, for the test log

    def text(self):
        return "".join(self.output)

    def client(self):
        """A fresh socket, so no late echo of another test's datagram reaches it."""
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(RECV_TIMEOUT_S)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.addCleanup(s.close)
        return s

    def receive(self, s):
        try:
            data, source = s.recvfrom(65536)
        except socket.timeout:
            self.fail("no echo within %d s:\n%s" % (RECV_TIMEOUT_S, self.text()[-3000:]))
        self.assertEqual(source, (HOST, self.port))
        return data

    def test_1_sizes_one_at_a_time(self):
        s = self.client()
        for seed, size in enumerate([1, 2, 64, 512, 1000, 1471, 1472, 4000, 65507]):
            sent = payload(size, seed)
            s.sendto(sent, (HOST, self.port))
            echoed = self.receive(s)
            self.assertEqual(len(echoed), size)
            self.assertEqual(echoed, sent, "echo of %d bytes differs" % size)

    def test_2_burst(self):
        s = self.client()
        sizes = [1, 1472, 7, 300, 1200, 2, 999, 1472, 64, 1400, 3, 512, 1471, 100, 800, 5]
        sent = [payload(size, 100 + i) for i, size in enumerate(sizes)]
        for datagram in sent:
            s.sendto(datagram, (HOST, self.port))
        echoed = [self.receive(s) for _ in sent]
        # One path and one echo thread keep the order, but UDP does not
        # promise it: compare as multisets, every byte.
        self.assertEqual(collections.Counter(echoed), collections.Counter(sent))

    def test_3_counters_and_no_panic(self):
        before = len(self.output)
        self.vm.stdin.write(b"s")
        self.vm.stdin.flush()
        line = None
        deadline = time.monotonic() + RECV_TIMEOUT_S
        pattern = re.compile(r"udp (\d+) sockets, datagrams in (\d+) out (\d+), dropped: "
                             r"(\d+) queue full, (\d+) pool at reserve")
        while line is None and time.monotonic() < deadline:
            line = pattern.search("".join(self.output[before:]))
            if line is None:
                time.sleep(0.1)
        self.assertIsNotNone(line, "no udp counters after 's':\n" + self.text()[-3000:])
        sockets, datagrams_in, datagrams_out, full, pool = map(int, line.groups())
        self.assertEqual(sockets, 1)
        # At least the datagrams of tests 1 and 2 and one probe; every one echoed.
        self.assertGreaterEqual(datagrams_in, 9 + 16 + 1)
        self.assertEqual(datagrams_out, datagrams_in)
        self.assertEqual((full, pool), (0, 0))
        self.assertIn("udp_echo: serving UDP on ", self.text())
        self.assertNotIn("PANIC", self.text())
        self.assertIsNone(self.vm.poll(), "the VM stopped:\n" + self.text())


if __name__ == "__main__":
    unittest.main()
