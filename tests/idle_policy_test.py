"""Boots //images:hello to check how the idle policy is chosen at boot.

The kernel picks the policy from CPUID (sched::ChooseIdlePolicy: poll only
on bare metal or on KVM with KVM_HINTS_REALTIME, else halt at once) and
--idle_policy=auto|adaptive|poll|halt overrides it on every core. The
counters printed at exit name each core's policy in parentheses.
"""

import re
import unittest

from tests.qemu_boot import ACCEL, boot

CORES = 2
COUNTERS = re.compile(r"^cpu(\d+): .* window \d+ us \((\w+)\)", re.M)
DECISION = re.compile(r"idle policy: (\w+) \((.*)\)$", re.M)


class IdlePolicyTest(unittest.TestCase):

    def boot_hello(self, *flags):
        status, out, err = boot("images/hello", "--smp=%d" % CORES, *flags)
        self.assertEqual(status, 0, "exit status %d\nstdout:\n%s\nstderr:\n%s" % (status, out, err))
        hellos = [l for l in out.splitlines() if l.startswith("hello from")]
        self.assertEqual(len(hellos), CORES, out)
        self.assertNotIn("PANIC", out)
        return out

    def policies(self, out):
        """{core: policy name} from the counters printed at exit."""
        found = {int(core): policy for core, policy in COUNTERS.findall(out)}
        self.assertEqual(sorted(found), list(range(CORES)), out)
        return found

    def decision(self, out):
        lines = DECISION.findall(out)
        self.assertEqual(len(lines), 1, "one decision line at boot:\n" + out)
        return lines[0]

    def test_auto_under_tcg_is_halt(self):
        out = self.boot_hello()
        policy, reason = self.decision(out)
        if ACCEL != "tcg":
            # Under KVM the answer depends on the host's hints; only say it.
            print("idle_policy_test: under %s the auto policy is %s (%s)" % (ACCEL, policy, reason))
            return
        # QEMU's TCG sets the hypervisor bit and gives no dedicated-CPU hint.
        self.assertEqual(policy, "halt", out)
        self.assertIn("hypervisor", reason)
        self.assertIn("override with --idle_policy=", reason)
        self.assertEqual(set(self.policies(out).values()), {"halt"}, out)

    def test_explicit_auto_is_the_default(self):
        out = self.boot_hello("--idle_policy=auto")
        self.assertNotIn("unknown --idle_policy", out)
        self.assertEqual(self.decision(out), self.decision(self.boot_hello()))

    def test_flag_sets_every_core(self):
        for policy in ("poll", "adaptive", "halt"):
            with self.subTest(policy=policy):
                out = self.boot_hello("--idle_policy=" + policy)
                chosen, reason = self.decision(out)
                self.assertEqual(chosen, policy, out)
                self.assertIn("set by --idle_policy=", reason)
                self.assertEqual(set(self.policies(out).values()), {policy}, out)

    def test_bad_value_is_reported_and_auto_used(self):
        auto, _ = self.decision(self.boot_hello())
        out = self.boot_hello("--idle_policy=fast")
        self.assertIn("unknown --idle_policy=fast (auto, adaptive, poll or halt); using auto", out)
        self.assertEqual(self.decision(out)[0], auto, out)
        self.assertEqual(set(self.policies(out).values()), {auto}, out)


if __name__ == "__main__":
    unittest.main()
