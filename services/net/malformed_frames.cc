#include "services/net/malformed_frames.h"

#include <algorithm>

namespace uk::net::testing {
namespace {

constexpr size_t kEth = 14;
constexpr size_t kMaxFrameBytes = 1514;

size_t IpHeaderLength(const Bytes& frame) { return size_t{frame[kEth] & 0x0fu} * 4; }

}  // namespace

void FixIpChecksum(Bytes& frame) {
  if (frame.size() < kEth + 20) return;
  const size_t header = std::min(std::max<size_t>(IpHeaderLength(frame), 20), frame.size() - kEth);
  frame[kEth + 10] = frame[kEth + 11] = 0;
  Store16(frame, kEth + 10,
          InternetChecksum(std::span<const uint8_t>(frame).subspan(kEth, header)));
}

void FixTransportChecksum(Bytes& frame) {
  if (frame.size() < kEth + 20) return;
  const size_t header = IpHeaderLength(frame);
  if (header < 20 || kEth + header >= frame.size()) return;
  const uint8_t protocol = frame[kEth + 9];
  const size_t at = kEth + header;
  const size_t checksum_at = protocol == kProtoTcp ? 16 : protocol == kProtoUdp ? 6 : 2;
  if (frame.size() < at + checksum_at + 2) return;
  frame[at + checksum_at] = frame[at + checksum_at + 1] = 0;
  const auto segment = std::span<const uint8_t>(frame).subspan(at);
  Ip4 src, dst;
  std::copy_n(frame.begin() + kEth + 12, 4, src.begin());
  std::copy_n(frame.begin() + kEth + 16, 4, dst.begin());
  const uint32_t pseudo =
      protocol == kProtoIcmp ? 0 : PseudoHeaderSum(src, dst, protocol, segment.size());
  Store16(frame, at + checksum_at, InternetChecksum(segment, pseudo));
}

Bytes MalformedFrames::RandomBytes(size_t length) {
  Bytes bytes(length);
  for (uint8_t& b : bytes) b = static_cast<uint8_t>(random_());
  return bytes;
}

Ip4 MalformedFrames::RandomSource() {
  switch (Below(6)) {
    case 0: return target_.peer_ip;
    case 1: return {10, 0, 2, static_cast<uint8_t>(Below(256))};      // on link, maybe broadcast
    case 2: return target_.ip;                                          // ourselves
    case 3: return {static_cast<uint8_t>(224 + Below(32)), 0, 0, 1};   // multicast, class E
    case 4: return {0, 0, 0, 0};
    default: return {static_cast<uint8_t>(random_()), static_cast<uint8_t>(random_()),
                     static_cast<uint8_t>(random_()), static_cast<uint8_t>(random_())};
  }
}

Bytes MalformedFrames::IpFrame(const Ipv4Fields& fields, const Bytes& payload) const {
  return EthernetFrame(target_.mac, target_.peer_mac, kEtherTypeIpv4,
                       Ipv4Packet(fields, payload));
}

Bytes MalformedFrames::TcpTemplate() {
  const Ip4 src = Below(2) ? target_.peer_ip : RandomSource();
  TcpFields tcp;
  tcp.src_port = static_cast<uint16_t>(1024 + Below(4));  // few ports: segments hit the same pcbs
  tcp.dst_port = Below(4) ? target_.tcp_port : static_cast<uint16_t>(random_());
  tcp.seq = random_();
  tcp.ack = random_();
  tcp.flags = Below(3) ? kTcpSyn : static_cast<uint8_t>(random_());
  tcp.window = static_cast<uint16_t>(random_());
  Bytes options;
  switch (Below(4)) {
    case 0: options = {2, 4, 0x05, 0xb4}; break;                       // MSS 1460
    case 1: options = {2, static_cast<uint8_t>(Below(3)), 0, 0}; break;  // MSS of length 0..2
    case 2: options = RandomBytes(Below(41)); break;
    default: break;
  }
  return IpFrame({.src = src, .dst = target_.ip, .protocol = kProtoTcp,
                  .id = static_cast<uint16_t>(random_())},
                 TcpSegment(src, target_.ip, tcp, options, RandomBytes(Below(3) ? 0 : Below(200))));
}

Bytes MalformedFrames::UdpTemplate() {
  const Ip4 src = RandomSource();
  const Ip4 dst = Below(4) ? target_.ip : Ip4{10, 0, 2, 255};
  return IpFrame({.src = src, .dst = dst, .protocol = kProtoUdp},
                 UdpDatagram(src, dst, static_cast<uint16_t>(random_()),
                             Below(2) ? 68 : static_cast<uint16_t>(random_()),
                             RandomBytes(Below(300))));
}

Bytes MalformedFrames::IcmpTemplate() {
  const Ip4 src = Below(2) ? target_.peer_ip : RandomSource();
  Bytes icmp = IcmpEcho(Below(2) ? 8 : static_cast<uint8_t>(Below(256)),
                        static_cast<uint16_t>(random_()), static_cast<uint16_t>(random_()),
                        RandomBytes(Below(600)));
  if (Below(4) == 0) icmp[1] = static_cast<uint8_t>(random_());  // odd code, now a bad checksum
  return IpFrame({.src = src, .dst = Below(5) ? target_.ip : Ip4{10, 0, 2, 255},
                  .protocol = kProtoIcmp},
                 icmp);
}

Bytes MalformedFrames::ArpTemplate() {
  const Ip4 sender = Below(4) ? Ip4{10, 0, 2, static_cast<uint8_t>(100 + Below(50))}
                              : RandomSource();
  Bytes arp = ArpPacket(static_cast<uint16_t>(Below(4)), target_.peer_mac, sender, Mac{},
                        Below(3) ? target_.ip : RandomSource());
  switch (Below(5)) {
    case 0: arp[4] = static_cast<uint8_t>(random_()); break;       // hardware length
    case 1: arp[5] = static_cast<uint8_t>(random_()); break;       // protocol length
    case 2: Store16(arp, 0, static_cast<uint16_t>(random_())); break;  // hardware type
    case 3: Store16(arp, 2, static_cast<uint16_t>(random_())); break;  // protocol type
    default: arp.resize(Below(28)); break;                          // truncated
  }
  return EthernetFrame(Below(2) ? kBroadcastMac : target_.mac, target_.peer_mac, kEtherTypeArp,
                       arp);
}

Bytes MalformedFrames::AnyTemplate() {
  switch (Below(4)) {
    case 0: return TcpTemplate();
    case 1: return UdpTemplate();
    case 2: return IcmpTemplate();
    default: return ArpTemplate();
  }
}

Bytes MalformedFrames::Next() {
  const uint32_t kind = count_++ % kKinds;
  Bytes frame;
  switch (kind) {
    case 0:  // random bytes, any length; the first ones are 0 and 1 bytes long
      frame = RandomBytes(count_ <= kKinds ? 0 : count_ <= 2 * kKinds ? 1 : Below(1515));
      break;
    case 1:  // random bytes behind a real Ethernet + IPv4 start
      frame = EthernetFrame(target_.mac, target_.peer_mac, kEtherTypeIpv4,
                            RandomBytes(Below(1501)));
      if (frame.size() > kEth) frame[kEth] = static_cast<uint8_t>(0x40 | Below(16));
      FixIpChecksum(frame);
      break;
    case 2:  // a valid frame cut anywhere, headers included
      frame = AnyTemplate();
      frame.resize(Below(static_cast<uint32_t>(frame.size()) + 1));
      break;
    case 3:  // IHL too small or too large (up to 60 bytes, maybe past the frame)
      frame = Below(2) ? TcpTemplate() : IcmpTemplate();
      frame[kEth] = static_cast<uint8_t>(0x40 | Below(16));
      if (Below(2)) frame.resize(kEth + 20 + Below(40));
      FixIpChecksum(frame);
      break;
    case 4:  // total length beyond the frame, or shorter than the header
      frame = AnyTemplate();
      if (frame.size() < kEth + 20) break;
      Store16(frame, kEth + 2, Below(2) ? static_cast<uint16_t>(random_())
                                        : static_cast<uint16_t>(Below(20)));
      FixIpChecksum(frame);
      break;
    case 5:  // one flipped byte: a bad IP, TCP, UDP or ICMP checksum (or worse)
      frame = AnyTemplate();
      if (frame.size() > kEth) frame[kEth + Below(static_cast<uint32_t>(frame.size() - kEth))] ^= 0x5a;
      break;
    case 6: {  // fragments: absurd offsets, overlaps, the last one missing
      frame = Below(2) ? UdpTemplate() : IcmpTemplate();
      const uint16_t offset = Below(2) ? static_cast<uint16_t>(Below(8192))
                                       : static_cast<uint16_t>(8191 - Below(4));
      Store16(frame, kEth + 4, static_cast<uint16_t>(Below(8)));  // few ids: shared datagrams
      Store16(frame, kEth + 6, static_cast<uint16_t>((Below(4) ? 0x2000 : 0) | offset));
      FixIpChecksum(frame);
      break;
    }
    case 7:  // ARP with wrong lengths or types, or cut short
      frame = ArpTemplate();
      break;
    case 8: {  // TCP data offset below 5 or past the segment, checksummed
      frame = TcpTemplate();
      const size_t at = kEth + 20 + 12;
      frame[at] = static_cast<uint8_t>(Below(16) << 4);
      FixTransportChecksum(frame);
      break;
    }
    case 9: {  // TCP with 40 bytes of option garbage (zero-length options too)
      frame = TcpTemplate();
      const size_t at = kEth + 20;
      Bytes options = RandomBytes(40);
      for (uint8_t& b : options) {
        if (Below(4) == 0) b = static_cast<uint8_t>(Below(4));  // EOL, NOP, MSS, WS kinds
      }
      frame.resize(at + 20);
      frame.insert(frame.end(), options.begin(), options.end());
      frame[at + 12] = 15 << 4;
      Store16(frame, kEth + 2, static_cast<uint16_t>(frame.size() - kEth));
      FixIpChecksum(frame);
      FixTransportChecksum(frame);
      break;
    }
    case 10: {  // UDP length that lies (with and without a checksum)
      frame = UdpTemplate();
      const size_t at = kEth + 20;
      Store16(frame, at + 4, Below(2) ? static_cast<uint16_t>(random_())
                                      : static_cast<uint16_t>(Below(8)));
      if (Below(2)) {
        FixTransportChecksum(frame);
      } else {
        Store16(frame, at + 6, 0);  // no checksum: nothing stops the length
      }
      break;
    }
    case 11: {  // ICMP shorter than its header, checksummed
      frame = IcmpTemplate();
      frame.resize(kEth + 20 + Below(8));
      Store16(frame, kEth + 2, static_cast<uint16_t>(frame.size() - kEth));
      FixIpChecksum(frame);
      FixTransportChecksum(frame);
      break;
    }
    case 12: {  // IPv4 options of random bytes, checksummed
      frame = AnyTemplate();
      if (frame.size() < kEth + 20 || frame[12] != 0x08 || frame[13] != 0x00) break;
      const uint32_t words = 1 + Below(10);
      const Bytes options = RandomBytes(words * 4);
      frame.insert(frame.begin() + kEth + 20, options.begin(), options.end());
      frame[kEth] = static_cast<uint8_t>(0x40 | (5 + words));
      Store16(frame, kEth + 2, static_cast<uint16_t>(frame.size() - kEth));
      FixIpChecksum(frame);
      break;
    }
    default:  // odd versions and EtherTypes
      frame = AnyTemplate();
      if (Below(2) && frame.size() > kEth) {
        frame[kEth] = static_cast<uint8_t>(Below(256));
        FixIpChecksum(frame);
      } else if (frame.size() >= kEth) {
        Store16(frame, 12, static_cast<uint16_t>(random_()));
      }
      break;
  }
  if (frame.size() > kMaxFrameBytes) frame.resize(kMaxFrameBytes);
  return frame;
}

}  // namespace uk::net::testing
