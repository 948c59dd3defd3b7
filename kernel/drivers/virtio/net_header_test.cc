#include "kernel/drivers/virtio/net_header.h"

#include <cstdint>
#include <vector>

#include "gtest/gtest.h"

namespace uk::virtio {
namespace {

uint16_t Fold(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

uint32_t Sum(const uint8_t* data, size_t length, uint32_t sum = 0) {
  for (size_t i = 0; i + 1 < length; i += 2) sum += static_cast<uint32_t>(data[i] << 8 | data[i + 1]);
  if (length % 2) sum += static_cast<uint32_t>(data[length - 1] << 8);
  return sum;
}

// An Ethernet + IPv4 + L4 frame with `payload` bytes, checksum field zero.
std::vector<uint8_t> Frame(uint8_t protocol, size_t payload, uint16_t fragment = 0) {
  const size_t l4_header = protocol == 6 ? 20 : 8;
  std::vector<uint8_t> f(14 + 20 + l4_header + payload);
  f[12] = 0x08;
  uint8_t* ip = &f[14];
  ip[0] = 0x45;
  const size_t total = 20 + l4_header + payload;
  ip[2] = static_cast<uint8_t>(total >> 8);
  ip[3] = static_cast<uint8_t>(total);
  ip[6] = static_cast<uint8_t>(fragment >> 8);
  ip[7] = static_cast<uint8_t>(fragment);
  ip[8] = 64;
  ip[9] = protocol;
  const uint8_t addresses[8] = {10, 0, 2, 15, 10, 0, 2, 2};
  for (int i = 0; i < 8; ++i) ip[12 + i] = addresses[i];
  for (size_t i = 34; i < f.size(); ++i) f[i] = static_cast<uint8_t>(i * 13 + 7);
  const size_t field = 34 + (protocol == 6 ? 16 : 6);
  f[field] = f[field + 1] = 0;
  if (protocol == 17) {  // UDP length
    f[38] = static_cast<uint8_t>((8 + payload) >> 8);
    f[39] = static_cast<uint8_t>(8 + payload);
  }
  return f;
}

// The checksum a stack computes in software: pseudo header + L4, complemented.
uint16_t Reference(const std::vector<uint8_t>& f) {
  const uint8_t* ip = &f[14];
  const size_t l4 = f.size() - 34;
  uint32_t sum = Sum(ip + 12, 8) + ip[9] + static_cast<uint32_t>(l4);
  std::vector<uint8_t> copy(f.begin() + 34, f.end());
  return static_cast<uint16_t>(~Fold(Sum(copy.data(), copy.size(), sum)));
}

// What the device does with NEEDS_CSUM: sum from checksum_start to the end
// (the field holds the pseudo-header sum) and store the complement.
void Device(const NetHeader& h, std::vector<uint8_t>& f) {
  const uint16_t result =
      static_cast<uint16_t>(~Fold(Sum(&f[h.checksum_start], f.size() - h.checksum_start)));
  f[h.checksum_start + h.checksum_offset] = static_cast<uint8_t>(result >> 8);
  f[h.checksum_start + h.checksum_offset + 1] = static_cast<uint8_t>(result);
}

TEST(NetHeaderTest, DeviceCompletesTheSameChecksumAsSoftware) {
  for (uint8_t protocol : {uint8_t{6}, uint8_t{17}}) {
    for (size_t payload : {0u, 1u, 2u, 3u, 100u, 1401u, 1460u - 8u}) {
      std::vector<uint8_t> frame = Frame(protocol, payload);
      const uint16_t want = Reference(frame);
      NetHeader header{};
      ASSERT_TRUE(RequestChecksum(&header, frame.data(), frame.size()));
      EXPECT_EQ(header.flags, kNeedsChecksum);
      EXPECT_EQ(header.checksum_start, 34);
      EXPECT_EQ(header.checksum_offset, protocol == 6 ? 16 : 6);
      Device(header, frame);
      const size_t field = 34 + header.checksum_offset;
      EXPECT_EQ(frame[field] << 8 | frame[field + 1], want)
          << "protocol " << int(protocol) << " payload " << payload;
    }
  }
}

TEST(NetHeaderTest, LeavesOtherFramesAlone) {
  NetHeader header{};
  std::vector<uint8_t> fragment = Frame(17, 100, 0x2000);  // more fragments
  EXPECT_FALSE(RequestChecksum(&header, fragment.data(), fragment.size()));
  std::vector<uint8_t> icmp = Frame(1, 20);
  EXPECT_FALSE(RequestChecksum(&header, icmp.data(), icmp.size()));
  std::vector<uint8_t> arp = Frame(6, 10);
  arp[13] = 0x06;
  EXPECT_FALSE(RequestChecksum(&header, arp.data(), arp.size()));
  std::vector<uint8_t> lying = Frame(6, 10);
  lying[16] = 0x40;  // IPv4 total length past the frame
  EXPECT_FALSE(RequestChecksum(&header, lying.data(), lying.size()));
  std::vector<uint8_t> runt = Frame(6, 0);
  EXPECT_FALSE(RequestChecksum(&header, runt.data(), 30));
  EXPECT_EQ(header.flags, 0);
}

}  // namespace
}  // namespace uk::virtio
