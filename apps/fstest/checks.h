#pragma once
// The checks //images:fstest runs against the filesystem service.

#include <cstdint>
#include <span>

#include "services/fs/fs_client.h"

namespace uk::fstest {

// CRC-32 (IEEE 802.3, zlib's crc32), continued from `crc` (0 to start).
uint32_t Crc32(uint32_t crc, std::span<const uint8_t> data);

// Every file listed in /MANIFEST has its size and checksum; the tree holds
// exactly those files. Prints each mismatch and a summary.
bool VerifyTree(fs::FsClient& client);

// Write-side operations under /fstest, each checked by reading back.
bool WriteAndCheck(fs::FsClient& client);

}  // namespace uk::fstest
