"""Unit tests for the pure parts of tools/idle_cpu.py (no QEMU needed)."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import idle_cpu  # noqa: E402
from idle_cpu import Sample  # noqa: E402


def stat_line(pid, comm, utime, stime):
    # Fields 3.. of a real /proc/PID/stat line; utime and stime are 14, 15.
    rest = ["S", "1", "100", "100", "0", "-1", "4194560", "1000", "0", "0", "0",
            str(utime), str(stime), "0", "0", "20", "0", "5", "0", "12345"]
    return "%d (%s) %s\n" % (pid, comm, " ".join(rest))


def grid(t0, t1, step, cpu_at, kind="grid"):
    """Samples every step s from t0 to t1 with cpu_at(t) CPU seconds."""
    n = int(round((t1 - t0) / step))
    return [Sample(t0 + i * step, cpu_at(t0 + i * step), int(cpu_at(t0 + i * step) * 100), kind)
            for i in range(n + 1)]


class ParseStatTest(unittest.TestCase):

    def test_plain(self):
        f = idle_cpu.parse_stat(stat_line(42, "qemu-system-x86", 123, 45))
        self.assertEqual((f["pid"], f["comm"], f["state"], f["utime"], f["stime"]),
                         (42, "qemu-system-x86", "S", 123, 45))

    def test_comm_with_parens_and_spaces(self):
        f = idle_cpu.parse_stat(stat_line(7, "a) (b ) S 9 9", 11, 22))
        self.assertEqual(f["comm"], "a) (b ) S 9 9")
        self.assertEqual((f["state"], f["utime"], f["stime"]), ("S", 11, 22))

    def test_short_line(self):
        with self.assertRaises(ValueError):
            idle_cpu.parse_stat("1 (x) S 1 2 3")


class PercentTest(unittest.TestCase):

    def test_cpu_percent(self):
        self.assertAlmostEqual(idle_cpu.cpu_percent(0.5, 10.0), 5.0)
        self.assertAlmostEqual(idle_cpu.cpu_percent(2.0, 1.0), 200.0)  # two cores busy
        self.assertEqual(idle_cpu.cpu_percent(0.0, 3.0), 0.0)
        with self.assertRaises(ValueError):
            idle_cpu.cpu_percent(1.0, 0.0)

    def test_tick_resolution(self):
        # One 10 ms tick over 20 s is 0.05% of a core.
        self.assertAlmostEqual(idle_cpu.resolution_percent(0.01, 20.0), 0.05)


class WindowTest(unittest.TestCase):

    def test_constant_rate(self):
        samples = grid(0.0, 5.0, 0.1, lambda t: 0.02 * t)  # 2% of a core
        w = idle_cpu.window(samples, 1.0, 3.0, slack=0.07)
        self.assertAlmostEqual(w["t_start"], 1.0)
        self.assertAlmostEqual(w["t_end"], 3.0)
        self.assertAlmostEqual(w["wall_s"], 2.0)
        self.assertAlmostEqual(w["cpu_s"], 0.04)
        self.assertAlmostEqual(w["percent"], 2.0)
        self.assertAlmostEqual(w["ticks_resolution_percent"], 0.5)

    def test_nearest_samples_within_slack(self):
        samples = [Sample(t, t, 0, "grid") for t in (0.0, 0.96, 1.03, 2.08, 2.5)]
        w = idle_cpu.window(samples, 1.0, 2.0, slack=0.1)
        self.assertEqual((w["t_start"], w["t_end"]), (1.03, 2.08))
        self.assertIsNone(idle_cpu.window(samples, 1.0, 2.0, slack=0.05))

    def test_needs_two_distinct_samples(self):
        samples = [Sample(1.0, 0.0, 0, "grid")]
        self.assertIsNone(idle_cpu.window(samples, 1.0, 1.0, slack=0.1))
        self.assertIsNone(idle_cpu.window([], 0.0, 1.0, slack=0.1))

    def test_marker_samples_split_the_burst(self):
        # Busy (100%) from 2.05 to 3.05, idle otherwise; the grid is every
        # 0.1 s and the marker samples fall exactly on the edges.
        def cpu(t):
            return min(max(t - 2.05, 0.0), 1.0)
        samples = sorted(grid(0.0, 6.0, 0.1, cpu)
                         + [Sample(2.05, cpu(2.05), 0, "marker:burst_start"),
                            Sample(3.05, cpu(3.05), 100, "marker:burst_end")])
        windows = dict(idle_cpu.burst_windows(samples, 2.05, 3.05, slack=0.07))
        self.assertEqual(len(windows), 5)
        self.assertAlmostEqual(windows["burst"]["t_start"], 2.05)
        self.assertAlmostEqual(windows["burst"]["t_end"], 3.05)
        self.assertAlmostEqual(windows["burst"]["percent"], 100.0)
        for label in ("idle 1 s before start", "end+0 s .. end+1 s", "end+1 s .. end+2 s",
                      "end+2 s .. end+3 s"):
            self.assertAlmostEqual(windows[label]["percent"], 0.0, msg=label)
            self.assertAlmostEqual(windows[label]["wall_s"], 1.0, delta=0.051, msg=label)

    def test_idle_windows(self):
        samples = grid(0.0, 13.0, 0.1, lambda t: 0.001 * t)  # 0.1%
        total, per_second = idle_cpu.idle_windows(samples, 2.0, 10.0, slack=0.07)
        self.assertAlmostEqual(total["percent"], 0.1)
        self.assertAlmostEqual(total["wall_s"], 10.0)
        self.assertEqual(len(per_second), 10)
        for w in per_second:
            self.assertAlmostEqual(w["percent"], 0.1)
        # A fraction of a second gets no per-second row of its own.
        _, per_second = idle_cpu.idle_windows(samples, 2.0, 2.5, slack=0.07)
        self.assertEqual(len(per_second), 2)

    def test_series(self):
        samples = [Sample(0.0, 0.0, 0, "grid"), Sample(0.1, 0.05, 5, "grid"),
                   Sample(0.15, 0.05, 5, "marker:burst_end"), Sample(0.2, 0.05, 5, "grid")]
        rows = idle_cpu.series(samples, origin=0.15)
        self.assertEqual(len(rows), 2)
        self.assertAlmostEqual(rows[0][0], -50.0)
        self.assertAlmostEqual(rows[0][1], 50.0)
        self.assertAlmostEqual(rows[1][0], 50.0)
        self.assertAlmostEqual(rows[1][1], 0.0)
        rows = idle_cpu.series(samples, origin=0.15, kinds=idle_cpu.ALL_KINDS)
        self.assertEqual([round(t) for t, _ in rows], [-50, 0, 50])

    def test_grid_next(self):
        self.assertAlmostEqual(idle_cpu.grid_next(10.0, 0.1, 10.05), 10.1)
        self.assertAlmostEqual(idle_cpu.grid_next(10.0, 0.1, 10.1), 10.2)
        self.assertAlmostEqual(idle_cpu.grid_next(10.0, 0.1, 9.75), 9.8)


class CommandTest(unittest.TestCase):

    def test_command_from_output(self):
        argv = idle_cpu.command_from_output(
            "qemu-system-x86_64 -kernel k -append 'a=1 b=2' -S\n\n")
        self.assertEqual(argv, ["qemu-system-x86_64", "-kernel", "k", "-append", "a=1 b=2", "-S"])
        self.assertIsNone(idle_cpu.command_from_output(""))
        self.assertIsNone(idle_cpu.command_from_output("unbalanced 'quote\n"))

    def test_guest_status(self):
        self.assertEqual(idle_cpu.guest_status_text(3), ": guest status 0")
        self.assertEqual(idle_cpu.guest_status_text(143), ": guest status 70")
        self.assertEqual(idle_cpu.guest_status_text(1), "")



class GuestStdinTest(unittest.TestCase):
    """Guest's stdin: /dev/null by default, a pipe for type_key with
    keyboard=True (a shell stands in for QEMU)."""

    def run_guest(self, script, **kwargs):
        guest = idle_cpu.Guest(["sh", "-c", script], False, **kwargs)
        guest.start()
        guest.start_reader(lambda kind: None)
        return guest

    def finish(self, guest):
        guest.proc.wait(10)
        guest.reader.join(10)
        guest.stop()
        return [text for _, text in guest.lines]

    def test_stdin_is_empty_by_default(self):
        guest = self.run_guest("cat; echo eof")
        guest.type_key("s")  # does nothing without a pipe
        self.assertEqual(self.finish(guest), ["eof"])

    def test_keyboard_types_keys(self):
        guest = self.run_guest("read key; echo got $key", keyboard=True)
        guest.type_key("s")
        guest.type_key("\n")
        self.assertEqual(self.finish(guest), ["got s"])


if __name__ == "__main__":
    unittest.main()
