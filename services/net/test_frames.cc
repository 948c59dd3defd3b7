#include "services/net/test_frames.h"

namespace uk::net::testing {
namespace {

constexpr size_t kEthHeader = 14;

}  // namespace

uint16_t InternetChecksum(std::span<const uint8_t> data, uint32_t sum) {
  uint64_t total = sum;
  for (size_t i = 0; i + 1 < data.size(); i += 2) total += Load16(data, i);
  if (data.size() % 2 == 1) total += uint32_t{data.back()} << 8;
  while (total >> 16) total = (total & 0xffff) + (total >> 16);
  return static_cast<uint16_t>(~total);
}

uint32_t PseudoHeaderSum(const Ip4& src, const Ip4& dst, uint8_t protocol, size_t length) {
  uint32_t sum = 0;
  sum += uint32_t{src[0]} << 8 | src[1];
  sum += uint32_t{src[2]} << 8 | src[3];
  sum += uint32_t{dst[0]} << 8 | dst[1];
  sum += uint32_t{dst[2]} << 8 | dst[3];
  sum += protocol;
  sum += static_cast<uint32_t>(length & 0xffff);
  return sum;
}

uint16_t Load16(std::span<const uint8_t> bytes, size_t at) {
  return static_cast<uint16_t>(bytes[at] << 8 | bytes[at + 1]);
}

uint32_t Load32(std::span<const uint8_t> bytes, size_t at) {
  return uint32_t{Load16(bytes, at)} << 16 | Load16(bytes, at + 2);
}

void Store16(Bytes& bytes, size_t at, uint16_t value) {
  bytes[at] = static_cast<uint8_t>(value >> 8);
  bytes[at + 1] = static_cast<uint8_t>(value);
}

void Store32(Bytes& bytes, size_t at, uint32_t value) {
  Store16(bytes, at, static_cast<uint16_t>(value >> 16));
  Store16(bytes, at + 2, static_cast<uint16_t>(value));
}

Bytes EthernetFrame(const Mac& dst, const Mac& src, uint16_t ether_type,
                    std::span<const uint8_t> payload) {
  Bytes frame(dst.begin(), dst.end());
  frame.insert(frame.end(), src.begin(), src.end());
  frame.push_back(static_cast<uint8_t>(ether_type >> 8));
  frame.push_back(static_cast<uint8_t>(ether_type));
  frame.insert(frame.end(), payload.begin(), payload.end());
  return frame;
}

Bytes ArpPacket(uint16_t op, const Mac& sender_mac, const Ip4& sender_ip, const Mac& target_mac,
                const Ip4& target_ip) {
  Bytes arp = {0, 1, 0x08, 0x00, 6, 4, 0, 0};  // Ethernet, IPv4, lengths 6 and 4
  Store16(arp, 6, op);
  arp.insert(arp.end(), sender_mac.begin(), sender_mac.end());
  arp.insert(arp.end(), sender_ip.begin(), sender_ip.end());
  arp.insert(arp.end(), target_mac.begin(), target_mac.end());
  arp.insert(arp.end(), target_ip.begin(), target_ip.end());
  return arp;
}

Bytes Ipv4Packet(const Ipv4Fields& fields, std::span<const uint8_t> payload) {
  Bytes packet(20, 0);
  packet[0] = 0x45;
  Store16(packet, 2, static_cast<uint16_t>(20 + payload.size()));
  Store16(packet, 4, fields.id);
  Store16(packet, 6, fields.fragment);
  packet[8] = fields.ttl;
  packet[9] = fields.protocol;
  for (int i = 0; i < 4; ++i) {
    packet[12 + i] = fields.src[i];
    packet[16 + i] = fields.dst[i];
  }
  Store16(packet, 10, InternetChecksum(packet));
  packet.insert(packet.end(), payload.begin(), payload.end());
  return packet;
}

Bytes IcmpEcho(uint8_t type, uint16_t id, uint16_t sequence, std::span<const uint8_t> payload) {
  Bytes icmp = {type, 0, 0, 0, 0, 0, 0, 0};
  Store16(icmp, 4, id);
  Store16(icmp, 6, sequence);
  icmp.insert(icmp.end(), payload.begin(), payload.end());
  Store16(icmp, 2, InternetChecksum(icmp));
  return icmp;
}

Bytes TcpSegment(const Ip4& src, const Ip4& dst, const TcpFields& fields,
                 std::span<const uint8_t> options, std::span<const uint8_t> payload) {
  const size_t header = 20 + (options.size() + 3) / 4 * 4;
  Bytes tcp(20, 0);
  Store16(tcp, 0, fields.src_port);
  Store16(tcp, 2, fields.dst_port);
  Store32(tcp, 4, fields.seq);
  Store32(tcp, 8, fields.ack);
  tcp[12] = static_cast<uint8_t>(header / 4 << 4);
  tcp[13] = fields.flags;
  Store16(tcp, 14, fields.window);
  tcp.insert(tcp.end(), options.begin(), options.end());
  tcp.resize(header, 0);  // end-of-options padding
  tcp.insert(tcp.end(), payload.begin(), payload.end());
  Store16(tcp, 16, InternetChecksum(tcp, PseudoHeaderSum(src, dst, kProtoTcp, tcp.size())));
  return tcp;
}

Bytes UdpDatagram(const Ip4& src, const Ip4& dst, uint16_t src_port, uint16_t dst_port,
                  std::span<const uint8_t> payload) {
  Bytes udp(8, 0);
  Store16(udp, 0, src_port);
  Store16(udp, 2, dst_port);
  Store16(udp, 4, static_cast<uint16_t>(8 + payload.size()));
  udp.insert(udp.end(), payload.begin(), payload.end());
  uint16_t checksum = InternetChecksum(udp, PseudoHeaderSum(src, dst, kProtoUdp, udp.size()));
  Store16(udp, 6, checksum == 0 ? 0xffff : checksum);
  return udp;
}

std::optional<ArpView> ParseArp(std::span<const uint8_t> frame) {
  if (frame.size() < kEthHeader + 28 || Load16(frame, 12) != kEtherTypeArp) return std::nullopt;
  const auto arp = frame.subspan(kEthHeader);
  ArpView view;
  view.op = Load16(arp, 6);
  for (int i = 0; i < 6; ++i) {
    view.sender_mac[i] = arp[8 + i];
    view.target_mac[i] = arp[18 + i];
  }
  for (int i = 0; i < 4; ++i) {
    view.sender_ip[i] = arp[14 + i];
    view.target_ip[i] = arp[24 + i];
  }
  return view;
}

std::optional<Ipv4View> ParseIpv4(std::span<const uint8_t> frame) {
  if (frame.size() < kEthHeader + 20 || Load16(frame, 12) != kEtherTypeIpv4) return std::nullopt;
  const auto ip = frame.subspan(kEthHeader);
  const size_t header = size_t{ip[0] & 0x0fu} * 4;
  const size_t total = Load16(ip, 2);
  if ((ip[0] >> 4) != 4 || header < 20 || total < header || total > ip.size()) return std::nullopt;
  Ipv4View view;
  for (int i = 0; i < 6; ++i) {
    view.dst_mac[i] = frame[i];
    view.src_mac[i] = frame[6 + i];
  }
  for (int i = 0; i < 4; ++i) {
    view.src[i] = ip[12 + i];
    view.dst[i] = ip[16 + i];
  }
  view.protocol = ip[9];
  view.header_checksum_ok = InternetChecksum(ip.first(header)) == 0;
  view.payload.assign(ip.begin() + header, ip.begin() + total);
  return view;
}

std::optional<IcmpView> ParseIcmp(std::span<const uint8_t> frame) {
  std::optional<Ipv4View> ip = ParseIpv4(frame);
  if (!ip || ip->protocol != kProtoIcmp || ip->payload.size() < 8) return std::nullopt;
  IcmpView view;
  view.ip = std::move(*ip);
  const Bytes& icmp = view.ip.payload;
  view.type = icmp[0];
  view.code = icmp[1];
  view.id = Load16(icmp, 4);
  view.sequence = Load16(icmp, 6);
  view.checksum_ok = InternetChecksum(icmp) == 0;
  view.payload.assign(icmp.begin() + 8, icmp.end());
  return view;
}

std::optional<TcpView> ParseTcp(std::span<const uint8_t> frame) {
  std::optional<Ipv4View> ip = ParseIpv4(frame);
  if (!ip || ip->protocol != kProtoTcp || ip->payload.size() < 20) return std::nullopt;
  TcpView view;
  view.ip = std::move(*ip);
  const Bytes& tcp = view.ip.payload;
  const size_t header = static_cast<size_t>(tcp[12] >> 4) * 4;
  if (header < 20 || header > tcp.size()) return std::nullopt;
  view.fields.src_port = Load16(tcp, 0);
  view.fields.dst_port = Load16(tcp, 2);
  view.fields.seq = Load32(tcp, 4);
  view.fields.ack = Load32(tcp, 8);
  view.fields.flags = tcp[13];
  view.fields.window = Load16(tcp, 14);
  view.checksum_ok =
      InternetChecksum(tcp, PseudoHeaderSum(view.ip.src, view.ip.dst, kProtoTcp, tcp.size())) == 0;
  view.payload.assign(tcp.begin() + header, tcp.end());
  return view;
}

std::optional<UdpView> ParseUdp(std::span<const uint8_t> frame) {
  std::optional<Ipv4View> ip = ParseIpv4(frame);
  if (!ip || ip->protocol != kProtoUdp || ip->payload.size() < 8) return std::nullopt;
  const auto ip_header = frame.subspan(kEthHeader);
  if ((Load16(ip_header, 6) & 0x3fff) != 0) return std::nullopt;  // a fragment
  UdpView view;
  view.ip = std::move(*ip);
  const Bytes& udp = view.ip.payload;
  const size_t length = Load16(udp, 4);
  if (length < 8 || length > udp.size()) return std::nullopt;
  view.src_port = Load16(udp, 0);
  view.dst_port = Load16(udp, 2);
  view.checksum_ok =
      Load16(udp, 6) == 0 ||
      InternetChecksum(std::span(udp).first(length),
                       PseudoHeaderSum(view.ip.src, view.ip.dst, kProtoUdp, length)) == 0;
  view.payload.assign(udp.begin() + 8, udp.begin() + static_cast<ptrdiff_t>(length));
  return view;
}

}  // namespace uk::net::testing
