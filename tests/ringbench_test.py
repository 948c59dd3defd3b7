"""Runs //images:ringbench briefly on 2 and 4 cores (TCG) and checks that
every message arrived and that the per-core counters add up. Figures are
printed by the image but never compared with a threshold: this is a test of
behaviour, not of speed."""

import re
import signal
import subprocess
import unittest

from tests.qemu_boot import boot, image

SAMPLES = 10
CHECK = 50
ROW = re.compile(r"^ringbench: +(\d+) (us|ms) (\w+) +(\d+) +(\d+) +[\d.]+ +[\d.]+ +(\d+) +(\d+)$",
                 re.M)
CORE = re.compile(r"^cpu(\d+): .*\| halts (\d+) .*\| irq wake (\d+) timer (\d+) \| "
                  r"timer writes \d+ \| wakeups sent (\d+) "
                  r"suppressed (\d+) \| msgs out (\d+) ", re.M)
SERVICE = re.compile(r"^cpu(\d+)   (\w+): handled (\d+);(.*)$", re.M)
FROM = re.compile(r" from cpu(\d+) (\d+) \(high-water (\d+)\)")


class RingbenchTest(unittest.TestCase):

    def run_bench(self, cores):
        status, out, err = boot("images/ringbench", "--smp=%d" % cores,
                                "--samples=%d" % SAMPLES, "--check=%d" % CHECK)
        self.assertEqual(status, 0, "exit status %d\nstdout:\n%s\nstderr:\n%s" % (status, out, err))
        self.assertIn("ringbench: ok", out)
        return out

    def check(self, cores):
        out = self.run_bench(cores)

        # The table: 3 policies x 5 gaps, every sample answered.
        rows = ROW.findall(out)
        self.assertEqual(len(rows), 15, out)
        for gap, unit, policy, median, p99, halts, hits in rows:
            self.assertLessEqual(int(median), int(p99))
            if policy == "poll":
                self.assertEqual(int(halts), 0, "a polling receiver never halts")
            if policy == "halt" and unit == "ms":
                self.assertGreaterEqual(int(halts), SAMPLES, "1-10 ms gaps: halted before each")

        # The all-to-all check: n*(n-1)*CHECK pings, all answered.
        sent, answered = map(int, re.search(r"check: (\d+) pings sent, (\d+) answered", out).groups())
        self.assertEqual(sent, CHECK * cores * (cores - 1))
        self.assertEqual(answered, sent)

        # Counters add up: what each core put in rings is what the services
        # drained from that core's rings (every ring is empty at the end).
        per_core = {int(m[0]): m for m in CORE.findall(out)}
        self.assertEqual(sorted(per_core), list(range(cores)), out)
        drained_from = {c: 0 for c in range(cores)}
        handled_total = 0
        for core, name, handled, rings in SERVICE.findall(out):
            from_rings = FROM.findall(rings)
            self.assertEqual(int(handled), sum(int(n) for _, n, _ in from_rings), name)
            handled_total += int(handled)
            for producer, n, high_water in from_rings:
                drained_from[int(producer)] += int(n)
                self.assertGreaterEqual(int(high_water), 1)
        for core, row in per_core.items():
            self.assertEqual(int(row[6]), drained_from[core], "messages out of cpu%d" % core)
        # Every wakeup sent is an IPI received; on top, each core got one
        # start-up IPI during boot.
        wakeups_sent = sum(int(r[4]) for r in per_core.values())
        wake_irqs = sum(int(r[2]) for r in per_core.values())
        self.assertGreater(wakeups_sent, 0)
        self.assertLessEqual(abs(wake_irqs - wakeups_sent - cores), cores,
                             "sent %d, received %d" % (wakeups_sent, wake_irqs))

    def test_2_cores(self):
        self.check(2)

    def test_4_cores(self):
        self.check(4)

    def test_console_key_prints_counters_of_an_idle_machine(self):
        proc = subprocess.Popen([image("images/ringbench"), "--timeout=60", "--smp=2",
                                 "--mode=idle"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, text=True)
        try:
            seen = []
            for line in proc.stdout:
                seen.append(line)
                if "ringbench: ready" in line:
                    proc.stdin.write("s")
                    proc.stdin.flush()
                if line.startswith("cpu1   sched:"):
                    break
            out = "".join(seen).replace("\r\n", "\n")
            cores = CORE.findall(out)
            self.assertEqual([c[0] for c in cores], ["0", "1"], out)
            # Core 1 has nothing to do: the key found it halted.
            self.assertIn("halted now", [l for l in out.splitlines() if l.startswith("cpu1:")][0])
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        self.assertEqual(proc.returncode, 128 + signal.SIGTERM)

    def test_bad_options_are_refused(self):
        status, out, _ = boot("images/ringbench", "--smp=2", "--samples=lots")
        self.assertEqual(status, 2)
        self.assertIn("bad option", out)
        status, out, _ = boot("images/ringbench", "--smp=1")
        self.assertEqual(status, 2)
        self.assertIn("needs at least 2 cores", out)


if __name__ == "__main__":
    unittest.main()
