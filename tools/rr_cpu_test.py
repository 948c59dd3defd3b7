"""The pure parts of rr_cpu.py (no QEMU, no timing)."""

import math
import unittest

from tools import rr_cpu

TCP_RR_OUTPUT = """rr 127.0.0.1:8007, 1 B each way, 1 connection(s), 10 s after 1 s warm-up
transactions   per second  median us     p90 us     p99 us     max us
       27580       2758.0      124.0      325.0     4602.0     9000.0
tcp_rr: mode=rr size=1 connections=1 seconds=10 transactions=27580 tps=2758.0 median_us=124.0 p90_us=325.0 p99_us=4602.0 max_us=9000.0
"""


class RrCpuTest(unittest.TestCase):

    def test_parses_the_machine_readable_line(self):
        self.assertEqual(rr_cpu.parse_tcp_rr(TCP_RR_OUTPUT), {
            "transactions": 27580.0, "tps": 2758.0, "median_us": 124.0, "p90_us": 325.0,
            "p99_us": 4602.0})

    def test_no_result_line(self):
        self.assertIsNone(rr_cpu.parse_tcp_rr("rr 127.0.0.1:8007\n"))
        self.assertIsNone(rr_cpu.parse_tcp_rr("tcp_rr: mode=rr tps=x\n"))

    def test_cpu_per_transaction(self):
        self.assertAlmostEqual(rr_cpu.per_transaction_us(0.5, 1000), 500.0)
        self.assertTrue(math.isnan(rr_cpu.per_transaction_us(0.5, 0)))

    def test_medians_per_policy_in_order(self):
        rows = [dict(policy="halt", tps=1.0), dict(policy="poll", tps=5.0),
                dict(policy="halt", tps=3.0), dict(policy="halt", tps=2.0)]
        self.assertEqual(rr_cpu.medians(rows, ["poll", "halt", "adaptive"]), [
            dict(policy="poll", runs=1, tps=5.0), dict(policy="halt", runs=3, tps=2.0)])


if __name__ == "__main__":
    unittest.main()
