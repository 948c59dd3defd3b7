#!/usr/bin/env bash
# Runs Spin on ipc/handshake.pml: the protocol, with interrupts on the
# consumer's core, must verify with no errors, and each broken variant must be
# caught (proving the check can fail), among them the interrupt ordering from
# before the pending flag (OLD_INTERRUPT_ORDER).
# Needs Debian's `spin` package and a C compiler (tools/setup.sh).
set -euo pipefail

model="$(pwd)/ipc/handshake.pml"
if ! command -v spin >/dev/null; then
  echo "FAIL: spin is not installed (apt-get install spin; see tools/setup.sh)" >&2
  exit 1
fi
work="${TEST_TMPDIR:-$(mktemp -d)}/spin"
mkdir -p "$work"
cd "$work"

# verify [-DVARIANT]: prints Spin's error count for the model.
verify() {
  rm -f pan pan.* out.txt
  spin "$@" -a "$model" >/dev/null
  cc -O1 -DSAFETY -o pan pan.c
  ./pan -m100000 >out.txt 2>&1 || true
  grep -o 'errors: [0-9]*' out.txt | awk '{print $2}'
}

status=0
errors=$(verify)
grep -E 'State-vector|states, stored' out.txt || true
if [ "$errors" != 0 ]; then
  echo "FAIL: the handshake has $errors error(s):"; cat out.txt; status=1
elif grep -q 'search depth too small' out.txt; then
  echo "FAIL: the search was cut short (raise -m):"; cat out.txt; status=1
else
  echo "ok: handshake verified with interrupts, no invalid end state, no assertion failure"
fi
for variant in NO_RECHECK WAKE_WITHOUT_CLAIM OLD_INTERRUPT_ORDER; do
  errors=$(verify "-D$variant")
  if [ "$errors" = 0 ] || [ -z "$errors" ]; then
    echo "FAIL: broken variant $variant was not caught"; cat out.txt; status=1
  else
    echo "ok: broken variant $variant caught ($(grep -m1 -o 'pan:[^(]*' out.txt))"
  fi
done
exit $status
