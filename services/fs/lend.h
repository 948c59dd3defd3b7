#pragma once
// Lending a file's bytes in place: the extents of a lease (fs_protocol.h,
// LendRequest) built from the file's block map and pinned cache pages, and
// given back. The fs service owns the lease table and calls these on its
// thread; the rules the borrower follows are in fs_protocol.h.
//
// One pin per cache-backed extent: a run of adjacent blocks inside one page
// becomes one extent with one pin, and Return unpins each extent once.
// Holes are extents into ZeroPage(), which holds no pin.
//
// Portable: host-tested through the service (lend_test.cc).

#include <cstdint>

#include "services/fs/block_cache.h"
#include "services/fs/ext2.h"
#include "services/fs/fs_protocol.h"

namespace uk::fs {

// The shared page of zeros that holes are lent from; never written.
const uint8_t* ZeroPage();

// Fills *out with the extents of up to `max_length` bytes of `file` from
// `offset`, pinning their pages in `cache`, and returns the bytes lent (0 at
// or past the end of the file, with no extents). Stops early at
// LeaseExtents::kMaxExtents. On an error nothing stays pinned and *out is
// empty.
Result<uint64_t> LendExtents(Ext2& ext2, BlockCache& cache, const Inode& file, uint64_t offset,
                             uint32_t max_length, LeaseExtents* out);

// Unpins what LendExtents pinned for *lease and empties it.
void ReturnExtents(BlockCache& cache, LeaseExtents* lease);

}  // namespace uk::fs
