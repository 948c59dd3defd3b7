"""Runs //tools:tcp_rr against echo servers on the host (no QEMU).

Checks behaviour only: the machine-readable line parses and counts are
positive, and each failure gives its exit status and message. No timing
thresholds: these machines are shared and noisy.
"""

import os
import re
import socket
import subprocess
import unittest

from tests.echo_client import HostEchoServer

RUN_TIMEOUT_S = 60
LINE = re.compile(r"^tcp_rr: mode=(\w+)((?: \w+=[\d.]+)+)$", re.M)


def tool():
    root = os.environ.get("TEST_SRCDIR", "")
    workspace = os.environ.get("TEST_WORKSPACE", "unikernel")
    return os.path.join(root, workspace, "tools", "tcp_rr")


def run(*flags):
    result = subprocess.run([tool()] + list(flags), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL,
                            timeout=RUN_TIMEOUT_S)
    return result.returncode, result.stdout, result.stderr


def free_port():
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class TcpRrTest(unittest.TestCase):

    def measure(self, port, *flags):
        status, out, err = run("--port=%d" % port, "--seconds=2", "--warmup_seconds=0.2", *flags)
        self.assertEqual(status, 0, "exit %d\nstdout:\n%s\nstderr:\n%s" % (status, out, err))
        lines = LINE.findall(out)
        self.assertEqual(len(lines), 1, out)
        mode, fields = lines[0]
        values = dict(kv.split("=") for kv in fields.split())
        print(out)
        return mode, {k: float(v) for k, v in values.items()}

    def test_rr(self):
        with HostEchoServer() as server:
            mode, v = self.measure(server.port)
        self.assertEqual(mode, "rr")
        self.assertEqual(v["size"], 1)
        self.assertEqual(v["connections"], 1)
        self.assertGreater(v["transactions"], 0)
        self.assertGreater(v["tps"], 0)
        self.assertLessEqual(v["median_us"], v["p90_us"])
        self.assertLessEqual(v["p90_us"], v["p99_us"])
        self.assertLessEqual(v["p99_us"], v["max_us"])

    def test_rr_parallel_connections_large_messages(self):
        with HostEchoServer() as server:
            mode, v = self.measure(server.port, "--connections=4", "--size=100000")
        self.assertEqual((mode, v["size"], v["connections"]), ("rr", 100000, 4))
        self.assertGreater(v["transactions"], 0)

    def test_stream(self):
        with HostEchoServer() as server:
            mode, v = self.measure(server.port, "--mode=stream")
        self.assertEqual((mode, v["size"]), ("stream", 65536))
        self.assertGreater(v["sent_bytes"], 0)
        self.assertGreater(v["echoed_bytes"], 0)
        # Every byte sent, warm-up and drain included, came back and was
        # compared with the pattern; the measured window is part of that.
        self.assertEqual(v["checked_bytes"], v["total_sent_bytes"])
        self.assertGreaterEqual(v["total_sent_bytes"], v["sent_bytes"])
        self.assertGreaterEqual(v["checked_bytes"], v["echoed_bytes"])

    def test_refused_connection_exits_1_with_hint(self):
        status, out, err = run("--port=%d" % free_port(), "--seconds=1")
        self.assertEqual(status, 1, err)
        self.assertIn("Connection refused", err)
        self.assertIn("is the echo image running? bazel run //images:echo", err)

    def test_server_that_closes_at_once_exits_1(self):
        # What QEMU's port forward does before the guest listens.
        for mode in ("rr", "stream"):
            with HostEchoServer(behaviour="close") as server:
                status, out, err = run("--port=%d" % server.port, "--mode=" + mode,
                                       "--seconds=1", "--warmup_seconds=0")
            self.assertEqual(status, 1, "%s: %s" % (mode, err))
            self.assertIn("the server closed the connection", err, mode)
            self.assertIn("bazel run //images:echo", err, mode)

    def test_echo_mismatch_exits_3_and_says_where(self):
        with HostEchoServer(behaviour="corrupt", corrupt_at=1000) as server:
            status, out, err = run("--port=%d" % server.port, "--size=100", "--seconds=1")
            self.assertEqual(status, 3, err)
            self.assertIn("echo mismatch: connection 0, transaction 10, stream byte 1000:", err)
            status, out, err = run("--port=%d" % server.port, "--mode=stream", "--seconds=1")
            self.assertEqual(status, 3, err)
            self.assertIn("echo mismatch: stream, stream byte 1000:", err)

    def test_bad_flags_exit_2(self):
        for flags in (["--nosuchflag=1"], ["--mode=udp"], ["--seconds=abc"], ["--size=0x"],
                      ["--port=0"], ["--connections=0"], ["--mode=stream", "--connections=2"],
                      ["positional"], ["--port"]):
            status, out, err = run(*flags)
            self.assertEqual(status, 2, "%s: %s" % (flags, err))
            self.assertIn("--help", err, flags)

    def test_help(self):
        status, out, err = run("--help")
        self.assertEqual(status, 0, err)
        for flag in ("--host=127.0.0.1", "--port=8007", "--mode=rr", "--seconds=10", "--size=0",
                     "--connections=1", "--warmup_seconds=1", "--connect_timeout_ms="):
            self.assertIn(flag, out)


if __name__ == "__main__":
    unittest.main()
