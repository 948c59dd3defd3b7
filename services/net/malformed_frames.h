#pragma once
// Host-test support: a deterministic stream of broken Ethernet frames for
// robustness tests of a receive path: random bytes of every length up to a
// full frame (empty and 1-byte frames too), and valid ARP, ICMP, TCP, UDP
// and fragment frames with one thing wrong: truncated headers, IPv4 header
// lengths too small or too large, total lengths beyond the frame, bad
// checksums, fragments at absurd offsets, ARP with wrong hardware or
// protocol lengths, TCP with bogus data offsets or options, UDP lengths
// that lie. Most mutations re-checksum the frame so that it gets past the
// checksum checks into the parsing behind them.

#include <cstdint>
#include <random>

#include "services/net/test_frames.h"

namespace uk::net::testing {

struct MalformedTarget {
  Mac mac{};    // the stack's
  Ip4 ip{};     // the stack's
  uint16_t tcp_port = 0;  // a port it listens on, to reach established-socket paths
  Mac peer_mac{};
  Ip4 peer_ip{};
};

class MalformedFrames {
 public:
  // The same seed gives the same frames (std::mt19937's outputs are fixed
  // by the standard; no std::*_distribution is used).
  MalformedFrames(const MalformedTarget& target, uint32_t seed) : target_(target), random_(seed) {}

  // The next frame (at most 1514 bytes); kinds rotate so that every
  // `kKinds` frames cover each kind once.
  Bytes Next();
  static constexpr uint32_t kKinds = 14;

 private:
  uint32_t Below(uint32_t n) { return static_cast<uint32_t>(random_() % n); }
  Bytes RandomBytes(size_t length);
  Ip4 RandomSource();
  Bytes IpFrame(const Ipv4Fields& fields, const Bytes& payload) const;
  Bytes TcpTemplate();
  Bytes UdpTemplate();
  Bytes IcmpTemplate();
  Bytes ArpTemplate();
  Bytes AnyTemplate();

  const MalformedTarget target_;
  std::mt19937 random_;
  uint32_t count_ = 0;
};

// Recomputes the IPv4 header checksum of an Ethernet frame over the header
// length its IHL claims (as far as the frame reaches).
void FixIpChecksum(Bytes& frame);
// Recomputes the TCP or UDP checksum over what follows the IPv4 header.
void FixTransportChecksum(Bytes& frame);

}  // namespace uk::net::testing
