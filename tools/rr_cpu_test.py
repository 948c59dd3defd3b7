"""The pure parts of rr_cpu.py (no QEMU, no timing)."""

import math
import unittest

from tools import rr_cpu

TCP_RR_OUTPUT = """rr 127.0.0.1:8007, 1 B each way, 1 connection(s), 10 s after 1 s warm-up
transactions   per second  median us     p90 us     p99 us     max us
       27580       2758.0      124.0      325.0     4602.0     9000.0
tcp_rr: mode=rr size=1 connections=1 seconds=10 transactions=27580 tps=2758.0 median_us=124.0 p90_us=325.0 p99_us=4602.0 max_us=9000.0
"""

# What the console prints for `s` (kernel/top/per_core.cc FormatCoreCounters).
COUNTER_TEXT = [
    "cpu0: busy 0.1% poll 0.0% halt 99.9% | halts 12 (aborted 1) poll-hits 0 window 0 us "
    "(adaptive) halted now | irq wake 3 timer 4 | timer writes 9 | wakeups sent 5 "
    "suppressed 2 | msgs out 40 ring-full 0 | switches 77",
    "cpu1   net: handled 10; from cpu0 5 (high-water 1)",
    "cpu1: busy 3.0% poll 1.0% halt 96.0% | halts 100 (aborted 7) poll-hits 30 window 160 us "
    "(halt) | irq wake 90 timer 2 | timer writes 6 | wakeups sent 11 suppressed 0 | msgs out 80 "
    "ring-full 1 | switches 500",
    "memory: heap 1 bytes in use (high 2), pages 3 free of 4 (low 3)",
]


class RrCpuTest(unittest.TestCase):

    def test_parses_counter_lines(self):
        got = rr_cpu.parse_counter_lines(COUNTER_TEXT)
        self.assertEqual(sorted(got), [0, 1])
        self.assertEqual(got[0], dict(halts=12, aborted=1, poll_hits=0, wake_irqs=3,
                                      timer_irqs=4, timer_writes=9, wakeups_sent=5,
                                      suppressed=2, msgs_out=40, switches=77))
        self.assertEqual(got[1], dict(halts=100, aborted=7, poll_hits=30, wake_irqs=90,
                                      timer_irqs=2, timer_writes=6, wakeups_sent=11,
                                      suppressed=0, msgs_out=80, switches=500))

    def test_parses_console_noise_around_counter_lines(self):
        # Serial lines end in \r\n; a service line of the same core and a
        # truncated line are not counter lines.
        got = rr_cpu.parse_counter_lines([" " + COUNTER_TEXT[2] + "\r", COUNTER_TEXT[2][:60]])
        self.assertEqual(list(got), [1])
        self.assertEqual(rr_cpu.parse_counter_lines(["cpu9: busy", "hello", COUNTER_TEXT[1]]), {})

    def test_a_later_counter_line_wins(self):
        later = COUNTER_TEXT[0].replace("halts 12", "halts 13")
        self.assertEqual(rr_cpu.parse_counter_lines(COUNTER_TEXT + [later])[0]["halts"], 13)

    def after_text(self):
        """COUNTER_TEXT 10 transactions later: cpu0 halted 20 times and
        sent 20 wakeups, cpu1 took 20 wake IRQs, wrote its timer 10 times,
        took 10 timer IRQs and hit 40 polls."""
        return [COUNTER_TEXT[0].replace("halts 12", "halts 32").replace("wakeups sent 5",
                                                                        "wakeups sent 25"),
                COUNTER_TEXT[2].replace("irq wake 90", "irq wake 110")
                .replace("timer writes 6", "timer writes 16").replace("timer 2 ", "timer 12 ")
                .replace("poll-hits 30", "poll-hits 70")]

    def test_counters_per_transaction(self):
        before = rr_cpu.parse_counter_lines(COUNTER_TEXT)
        after = rr_cpu.parse_counter_lines(self.after_text())
        got = rr_cpu.counters_per_transaction(before, after, 10)
        self.assertEqual(got["per_core"], {
            0: dict(halts=2.0, wake_irqs=0.0, wakeups_sent=2.0, timer_irqs=0.0,
                    timer_writes=0.0, poll_hits=0.0, exits_per_txn=4.0),
            1: dict(halts=0.0, wake_irqs=2.0, wakeups_sent=0.0, timer_irqs=1.0,
                    timer_writes=1.0, poll_hits=4.0, exits_per_txn=1.0)})
        self.assertEqual(got["total"], dict(halts=2.0, wake_irqs=2.0, wakeups_sent=2.0,
                                            timer_irqs=1.0, timer_writes=1.0, poll_hits=4.0,
                                            exits_per_txn=5.0))

    def test_exits_are_halts_ipis_sent_and_timer_writes_only(self):
        before = rr_cpu.parse_counter_lines(COUNTER_TEXT[:1])
        after = rr_cpu.parse_counter_lines([
            COUNTER_TEXT[0].replace("irq wake 3 timer 4", "irq wake 103 timer 104")
            .replace("poll-hits 0", "poll-hits 100").replace("suppressed 2", "suppressed 102")
            .replace("timer writes 9", "timer writes 10")])
        got = rr_cpu.counters_per_transaction(before, after, 100)
        self.assertEqual(got["total"]["exits_per_txn"], 0.01)
        self.assertEqual(got["total"]["wake_irqs"], 1.0)

    def test_no_figures_without_two_matching_reads(self):
        before = rr_cpu.parse_counter_lines(COUNTER_TEXT)
        after = rr_cpu.parse_counter_lines(self.after_text())
        self.assertIsNone(rr_cpu.counters_per_transaction(before, None, 10))
        self.assertIsNone(rr_cpu.counters_per_transaction(None, after, 10))
        self.assertIsNone(rr_cpu.counters_per_transaction(before, after, 0))
        # A core missing from one read (its line was lost) spoils the sum.
        self.assertIsNone(rr_cpu.counters_per_transaction(before, {0: after[0]}, 10))
        # Counters that went backwards are not the same boot's.
        self.assertIsNone(rr_cpu.counters_per_transaction(after, before, 10))

    def test_covered_transactions(self):
        # 3000 transactions in a 3 s window; the counter reads span 3.3 s.
        self.assertAlmostEqual(rr_cpu.covered_transactions(3000, 3.0, 3.3), 3300.0)
        self.assertEqual(rr_cpu.covered_transactions(3000, 0.0, 3.3), 0.0)

    def test_accel_of_a_qemu_command(self):
        self.assertEqual(rr_cpu.qemu_accel(["qemu", "-accel", "kvm", "-smp", "4"]), "kvm")
        self.assertEqual(rr_cpu.qemu_accel(["qemu", "-accel", "tcg,thread=multi"]), "tcg")
        self.assertEqual(rr_cpu.qemu_accel(["qemu"]), "tcg")

    def test_smp_of_a_qemu_command(self):
        self.assertEqual(rr_cpu.qemu_smp(["qemu", "-smp", "4", "-m", "1G"]), 4)
        self.assertEqual(rr_cpu.qemu_smp(["qemu", "-smp", "cpus=2,maxcpus=2"]), 2)
        self.assertEqual(rr_cpu.qemu_smp(["qemu"]), 1)

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

    def test_medians_per_core_and_no_strings(self):
        rows = [dict(policy="halt", accel="tcg", halts=h, per_core={"0": dict(halts=h),
                                                                    "1": dict(halts=10 * h)})
                for h in (1.0, 5.0, 2.0)]
        self.assertEqual(rr_cpu.medians(rows, ["halt"]), [dict(
            policy="halt", runs=3, halts=2.0,
            per_core={"0": dict(halts=2.0), "1": dict(halts=20.0)})])


if __name__ == "__main__":
    unittest.main()
