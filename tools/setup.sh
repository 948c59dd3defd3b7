#!/usr/bin/env bash
# Installs everything this project needs on Debian bookworm, idempotently.
# Run as root (or with sudo available). Safe to run again: it only installs
# what is missing and only fetches sources that are not already unpacked.
set -euo pipefail

cd "$(dirname "$0")/.."

packages=(
  bazel-bootstrap bazel-rules-java bazel-platforms bazel-skylib  # offline Bazel 4
  g++ binutils python3 dpkg-dev                                  # compilers, nm, apt-get source
  qemu-system-x86                                                # boots the images
  libgtest-dev libgmock-dev libbenchmark-dev                     # host tests and benchmarks
  libboost-dev libdpdk-dev                                       # ring benchmark peers
  e2fsprogs curl                                                 # disk images, e2e checks
  wrk                                                            # HTTP load for tests/webserver_load_test.py
  iproute2                                                       # network namespace and tap for tests/tap_hostile_test.py
  spin                                                           # model check of ipc/handshake.pml
  skopeo umoci                                                   # validate the OCI images (tests/oci_image_test.py)
  gdb                                                            # source-level debugging of images (tests/gdb_test.py)
  libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients      # the libvirt fleet (tools/fleet.py, tests/fleet_test.py)
  clang-14 libclang-rt-14-dev                                    # libFuzzer (tools/fuzz/libfuzzer.sh); clang-14 only Recommends the rt
)

sudo_if_needed() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

need_src_entry=0
if ! grep -rqs '^Types:.*deb-src' /etc/apt/sources.list.d/ && ! grep -qs '^deb-src' /etc/apt/sources.list; then
  need_src_entry=1
fi

if [ "$need_src_entry" = 1 ]; then
  echo "setup: adding a deb-src entry (sources for abseil are built here, never committed)"
  src=/etc/apt/sources.list.d/debian.sources
  if [ -f "$src" ]; then
    sudo_if_needed sh -c "sed 's/^Types: deb\$/Types: deb-src/' '$src' > /etc/apt/sources.list.d/unikernel-src.sources"
  else
    sudo_if_needed sh -c "grep '^deb ' /etc/apt/sources.list | sed 's/^deb /deb-src /' > /etc/apt/sources.list.d/unikernel-src.list"
  fi
fi

if [ ${#missing[@]} -gt 0 ] || [ "$need_src_entry" = 1 ] || [ ! -d .deps/abseil ] || [ ! -d .deps/lwip ]; then
  echo "setup: apt-get update"
  sudo_if_needed apt-get update -q >/dev/null
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi

# Source packages whose Bazel BUILD files we use (third_party/ points at them).
fetch_source() {  # fetch_source <debian source package> <dir under .deps>
  local pkg=$1 dir=$2
  [ -d ".deps/$dir" ] && return 0
  echo "setup: fetching Debian source of $pkg into .deps/$dir"
  mkdir -p .deps/tmp
  (cd .deps/tmp && apt-get source -q "$pkg" >/dev/null 2>&1) || {
    echo "setup: 'apt-get source $pkg' failed; check that a deb-src entry exists and run 'apt-get update'" >&2
    exit 1
  }
  local unpacked
  unpacked=$(find .deps/tmp -mindepth 1 -maxdepth 1 -type d | head -n 1)
  mv "$unpacked" ".deps/$dir"
  rm -rf .deps/tmp
}
fetch_source abseil abseil
# lwIP 2.1.3 (TCP/IP stack): built from source by third_party/lwip/lwip.BUILD
# with our own port (third_party/lwip/port/); lwIP code is never committed.
fetch_source lwip lwip

echo "setup: ok"
