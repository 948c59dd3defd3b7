#!/usr/bin/env bash
# Installs the host tools bench/run.py needs (Debian bookworm), idempotently.
# The Linux guests themselves are NOT installed: run.py fetches their Debian
# packages with `apt-get download` into bench/.cache at run time.
set -euo pipefail

packages=(
  qemu-system-x86      # the VMs
  wrk                  # load generator
  curl                 # readiness probes (also used by hand)
  cpio                 # initramfs archives
  python3-matplotlib   # bench/out/cpu.png
  kmod                 # modinfo, to order the guest's kernel modules (optional)
)

sudo_if_needed() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "bench/setup: everything is installed"
  exit 0
fi
echo "bench/setup: apt-get update"
sudo_if_needed apt-get update -q >/dev/null
echo "bench/setup: installing ${missing[*]}"
sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
echo "bench/setup: done"
