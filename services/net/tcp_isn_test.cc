#include "services/net/tcp_isn.h"

#include <cstdint>
#include <set>

#include "gtest/gtest.h"

namespace uk::net {
namespace {

constexpr uint8_t kKey[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
constexpr uint32_t kOurIp = 0x0a00020f, kPeerIp = 0x0a000202;  // 10.0.2.15, 10.0.2.2

TEST(SipHash24, MatchesThePapersTestVectors) {
  // Appendix A of "SipHash: a fast short-input PRF": key 00..0f, messages
  // 00, 01, .. of each length; the reference implementation's vectors.h.
  uint8_t message[15];
  for (uint8_t i = 0; i < 15; ++i) message[i] = i;
  EXPECT_EQ(SipHash24(kKey, {message, 0}), 0x726fdb47dd0e0e31ull);
  EXPECT_EQ(SipHash24(kKey, {message, 1}), 0x74f839c593dc67fdull);
  EXPECT_EQ(SipHash24(kKey, {message, 8}), 0x93f5f5799a932462ull);
  EXPECT_EQ(SipHash24(kKey, {message, 15}), 0xa129ca6149be45e5ull);
}

TEST(InitialSequenceNumber, GrowsWithTheClockForOneTuple) {
  const uint64_t t = 123'456'789'000;
  const uint32_t first = InitialSequenceNumber(kKey, kOurIp, 80, kPeerIp, 40000, t);
  // 4 us per step: a millisecond later, 250 more; a minute later, 15 million.
  EXPECT_EQ(InitialSequenceNumber(kKey, kOurIp, 80, kPeerIp, 40000, t + 1'000'000), first + 250);
  EXPECT_EQ(InitialSequenceNumber(kKey, kOurIp, 80, kPeerIp, 40000, t + 60'000'000'000),
            first + 15'000'000);
}

TEST(InitialSequenceNumber, NeighbouringTuplesTellNothingAboutEachOther) {
  // Ports a client would use one after the other, at one instant: no
  // collision and no constant step an attacker could extrapolate.
  const uint64_t t = 5'000'000'000;
  std::set<uint32_t> isns, steps;
  uint32_t previous = InitialSequenceNumber(kKey, kOurIp, 80, kPeerIp, 40000, t);
  isns.insert(previous);
  for (uint16_t port = 40001; port < 40200; ++port) {
    const uint32_t isn = InitialSequenceNumber(kKey, kOurIp, 80, kPeerIp, port, t);
    isns.insert(isn);
    steps.insert(isn - previous);
    previous = isn;
  }
  EXPECT_EQ(isns.size(), 200u);
  EXPECT_EQ(steps.size(), 199u);
  // Every field of the tuple counts, and so does the secret.
  const uint32_t base = InitialSequenceNumber(kKey, kOurIp, 80, kPeerIp, 40000, t);
  EXPECT_NE(InitialSequenceNumber(kKey, kOurIp, 81, kPeerIp, 40000, t), base);
  EXPECT_NE(InitialSequenceNumber(kKey, kOurIp + 1, 80, kPeerIp, 40000, t), base);
  EXPECT_NE(InitialSequenceNumber(kKey, kOurIp, 80, kPeerIp + 1, 40000, t), base);
  uint8_t other_key[16];
  for (int i = 0; i < 16; ++i) other_key[i] = static_cast<uint8_t>(kKey[i] ^ 0x80);
  EXPECT_NE(InitialSequenceNumber(other_key, kOurIp, 80, kPeerIp, 40000, t), base);
}

}  // namespace
}  // namespace uk::net
