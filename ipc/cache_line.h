#pragma once

// Cache geometry shared by every ring and per-core word in ipc/.
//
// Portable: compiles freestanding (kernel) and hosted (tests) alike.

#include <cstddef>

namespace uk::ipc {

// One message slot is exactly one x86-64 cache line, so a producer writing a
// slot and a consumer reading the next one never touch the same line.
inline constexpr std::size_t kCacheLineSize = 64;

// Intel's L2 spatial prefetcher fetches cache lines in aligned pairs, so two
// words written by different cores should sit at least 128 bytes apart or the
// pair keeps bouncing between cores (DPDK pads its ring heads the same way).
// Producer-owned and consumer-owned ring state are separated by this much.
inline constexpr std::size_t kFalseSharingRange = 128;

static_assert(kFalseSharingRange % kCacheLineSize == 0);

}  // namespace uk::ipc
