// The ring is a header-only template; these explicit instantiations make
// every build (kernel and host) compile all of it, so a freestanding-only
// error shows up in `bazel build --platforms=//toolchain:kernel_platform`.

#include "ipc/spsc_ring.h"

#include <cstdint>

namespace uk::ipc {

template class SpscRing<std::uint64_t, 1024>;

namespace {
struct alignas(kCacheLineSize) Line {
  std::uint64_t words[kCacheLineSize / sizeof(std::uint64_t)];
};
}  // namespace

template class SpscRing<Line, 256>;

}  // namespace uk::ipc
