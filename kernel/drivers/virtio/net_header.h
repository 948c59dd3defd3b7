#pragma once
// The virtio-net header in front of every frame, and transmit checksum
// offload (VIRTIO 1.1 5.1.6). Portable: host-tested in net_header_test.cc.

#include <cstddef>
#include <cstdint>

namespace uk::virtio {

// The header in front of every frame (5.1.6). With VERSION_1 it always has
// num_buffers, so it is 12 bytes. All zero on transmit: no offloads asked.
struct NetHeader {
  uint8_t flags;
  uint8_t gso_type;
  uint16_t header_length;
  uint16_t gso_size;
  uint16_t checksum_start;
  uint16_t checksum_offset;
  uint16_t buffer_count;
};
static_assert(sizeof(NetHeader) == 12);

inline constexpr uint8_t kNeedsChecksum = 1;  // NetHeader.flags

// For TCP or UDP over unfragmented IPv4, asks the device to checksum the L4
// part: the checksum field gets the pseudo-header sum (not complemented),
// the header says where the device starts summing and where it stores the
// result. Anything else keeps what the stack wrote (for UDP without a
// checksum that is 0, which IPv4 allows). False if the frame was left alone.
bool RequestChecksum(NetHeader* header, uint8_t* frame, size_t length);

}  // namespace uk::virtio
