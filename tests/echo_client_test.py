"""Runs every tests/echo_client.py client against echo servers on the host
(no QEMU): a correct one, one that corrupts a byte, one that closes at once.
Behaviour only, no timing thresholds."""

import re
import socket
import threading
import unittest

from tests import echo_client
from tests.echo_client import HostEchoServer

HOST = "127.0.0.1"


def free_port():
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class EchoClientTest(unittest.TestCase):

    def test_round_trips(self):
        with HostEchoServer() as server:
            stats = echo_client.round_trips(HOST, server.port, count=30, min_size=1,
                                            max_size=64 * 1024, seed=1)
        self.assertEqual(stats["round_trips"], 30)
        self.assertGreater(stats["bytes"], 30)
        self.assertLessEqual(stats["median_us"], stats["max_us"])

    def test_concurrent_connects_all_before_traffic(self):
        with HostEchoServer() as server:
            stats = echo_client.concurrent(HOST, server.port, connections=200, rounds_each=3,
                                           size_range=(1, 2048), seed=2)
        self.assertEqual(stats["rounds"], 600)
        self.assertGreaterEqual(stats["bytes"], 600)

    def test_vanishing_clients_leave_the_server_working(self):
        with HostEchoServer() as server:
            stats = echo_client.vanishing_clients(HOST, server.port, count=20, seed=3)
            echo_client.round_trips(HOST, server.port, count=3)
        for kind in echo_client.VANISHING_KINDS:
            self.assertEqual(stats[kind], 5, stats)

    def test_wait_for_port_waits_for_a_late_server(self):
        port = free_port()
        servers = []
        starter = threading.Timer(0.5, lambda: servers.append(HostEchoServer(port=port).__enter__()))
        starter.start()
        try:
            echo_client.wait_for_port(HOST, port, timeout=20)
            # The server exists only once the timer has fired: returning
            # before that would mean wait_for_port did not wait for an echo.
            self.assertEqual(len(servers), 1, "returned before the server was started")
        finally:
            starter.join()
            for server in servers:
                server.stop()

    def test_wait_for_port_is_not_fooled_by_an_accept_and_close(self):
        # QEMU's user-net port forward accepts before the guest listens.
        with HostEchoServer(behaviour="close") as server:
            with self.assertRaisesRegex(AssertionError, r"no echo from .* within 1\.5 s"):
                echo_client.wait_for_port(HOST, server.port, timeout=1.5)

    def test_wait_for_port_times_out_on_a_closed_port(self):
        # It retries (every 0.1 s) until the timeout, then gives up; a hang
        # would be caught by the test's Bazel timeout, not a clock here.
        with self.assertRaisesRegex(AssertionError,
                                    r"within 1 s \((\d+) tries; last: .*refused") as caught:
            echo_client.wait_for_port(HOST, free_port(), timeout=1)
        tries = int(re.search(r"\((\d+) tries", str(caught.exception)).group(1))
        self.assertGreater(tries, 1, "gave up after the first refusal")

    def test_corruption_is_reported_with_its_place(self):
        with HostEchoServer(behaviour="corrupt", corrupt_at=5000) as server:
            with self.assertRaisesRegex(AssertionError, r"round trip 0 .*differs at byte 5000"):
                echo_client.round_trips(HOST, server.port, count=3, min_size=6000,
                                        max_size=6000)
            with self.assertRaisesRegex(AssertionError, r"connection \d+, round 1 .*differs at"):
                echo_client.concurrent(HOST, server.port, connections=5, rounds_each=2,
                                       size_range=(4000, 4000))

    def test_closed_connection_is_reported(self):
        with HostEchoServer(behaviour="close") as server:
            with self.assertRaisesRegex(AssertionError, "round trip 0"):
                echo_client.round_trips(HOST, server.port, count=1)
            with self.assertRaisesRegex(AssertionError, "connection"):
                echo_client.concurrent(HOST, server.port, connections=3, rounds_each=1)

    def test_refused_connection_is_reported(self):
        port = free_port()
        with self.assertRaisesRegex(AssertionError, "cannot connect to 127.0.0.1:%d" % port):
            echo_client.round_trips(HOST, port, count=1)
        with self.assertRaisesRegex(AssertionError, "vanishing client 0"):
            echo_client.vanishing_clients(HOST, port, count=1)


if __name__ == "__main__":
    unittest.main()
