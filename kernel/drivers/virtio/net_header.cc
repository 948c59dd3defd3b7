#include "kernel/drivers/virtio/net_header.h"

namespace uk::virtio {
namespace {

constexpr size_t kEthernetHeader = 14;

}  // namespace

bool RequestChecksum(NetHeader* header, uint8_t* frame, size_t length) {
  if (length < kEthernetHeader + 20 || frame[12] != 0x08 || frame[13] != 0x00) return false;
  const uint8_t* ip = frame + kEthernetHeader;
  const size_t header_length = (ip[0] & 0xf) * 4u;
  const size_t total = static_cast<size_t>(ip[2]) << 8 | ip[3];
  const bool fragment = ((ip[6] << 8 | ip[7]) & 0x3fff) != 0;
  if ((ip[0] >> 4) != 4 || header_length < 20 || total < header_length ||
      kEthernetHeader + total > length || fragment) {
    return false;
  }
  const uint8_t protocol = ip[9];
  const uint16_t field = protocol == 6 ? 16 : protocol == 17 ? 6 : 0;
  const size_t l4_length = total - header_length;
  if (field == 0 || l4_length < field + 2u) return false;
  uint32_t sum = protocol + static_cast<uint32_t>(l4_length);
  for (int i = 12; i < 20; i += 2) sum += static_cast<uint32_t>(ip[i] << 8 | ip[i + 1]);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  uint8_t* checksum = frame + kEthernetHeader + header_length + field;
  checksum[0] = static_cast<uint8_t>(sum >> 8);
  checksum[1] = static_cast<uint8_t>(sum);
  header->flags = kNeedsChecksum;
  header->checksum_start = static_cast<uint16_t>(kEthernetHeader + header_length);
  header->checksum_offset = field;
  return true;
}

}  // namespace uk::virtio
