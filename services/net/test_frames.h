#pragma once
// Host-test support: building Ethernet frames (ARP, IPv4 with ICMP, TCP,
// UDP) byte by byte, with correct checksums unless a test breaks them, and
// reading back the frames a stack transmits. Everything is in wire order;
// addresses are kept as their bytes, so "10.0.2.15" is {10, 0, 2, 15}.

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace uk::net::testing {

using Bytes = std::vector<uint8_t>;
using Mac = std::array<uint8_t, 6>;
using Ip4 = std::array<uint8_t, 4>;

inline constexpr uint16_t kEtherTypeIpv4 = 0x0800;
inline constexpr uint16_t kEtherTypeArp = 0x0806;
inline constexpr uint8_t kProtoIcmp = 1, kProtoTcp = 6, kProtoUdp = 17;
inline constexpr uint16_t kArpRequest = 1, kArpReply = 2;
inline constexpr uint8_t kTcpFin = 0x01, kTcpSyn = 0x02, kTcpRst = 0x04, kTcpPsh = 0x08,
                         kTcpAck = 0x10;
inline constexpr Mac kBroadcastMac = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

// The Internet checksum (RFC 1071) of `data`, starting from a partial sum.
uint16_t InternetChecksum(std::span<const uint8_t> data, uint32_t sum = 0);
// The partial sum of the TCP/UDP pseudo-header.
uint32_t PseudoHeaderSum(const Ip4& src, const Ip4& dst, uint8_t protocol, size_t length);

uint16_t Load16(std::span<const uint8_t> bytes, size_t at);
uint32_t Load32(std::span<const uint8_t> bytes, size_t at);
void Store16(Bytes& bytes, size_t at, uint16_t value);
void Store32(Bytes& bytes, size_t at, uint32_t value);

// ---- Building ----

Bytes EthernetFrame(const Mac& dst, const Mac& src, uint16_t ether_type,
                    std::span<const uint8_t> payload);
Bytes ArpPacket(uint16_t op, const Mac& sender_mac, const Ip4& sender_ip, const Mac& target_mac,
                const Ip4& target_ip);

struct Ipv4Fields {
  Ip4 src{}, dst{};
  uint8_t protocol = 0;
  uint16_t id = 1;
  uint16_t fragment = 0x4000;  // flags and offset word: DF, offset 0
  uint8_t ttl = 64;
};
// A 20-byte header, checksummed, then `payload`.
Bytes Ipv4Packet(const Ipv4Fields& fields, std::span<const uint8_t> payload);

// An ICMP message with a correct checksum: type, code, then id and sequence.
Bytes IcmpEcho(uint8_t type, uint16_t id, uint16_t sequence, std::span<const uint8_t> payload);

struct TcpFields {
  uint16_t src_port = 0, dst_port = 0;
  uint32_t seq = 0, ack = 0;
  uint8_t flags = 0;
  uint16_t window = 65535;
};
// A TCP segment (with `options`, padded to 4 bytes) checksummed for src/dst.
Bytes TcpSegment(const Ip4& src, const Ip4& dst, const TcpFields& fields,
                 std::span<const uint8_t> options, std::span<const uint8_t> payload);
Bytes UdpDatagram(const Ip4& src, const Ip4& dst, uint16_t src_port, uint16_t dst_port,
                  std::span<const uint8_t> payload);

// ---- Reading back (nullopt: not that kind of frame, or too short) ----

struct ArpView {
  uint16_t op = 0;
  Mac sender_mac{}, target_mac{};
  Ip4 sender_ip{}, target_ip{};
};
std::optional<ArpView> ParseArp(std::span<const uint8_t> frame);

struct Ipv4View {
  Mac dst_mac{}, src_mac{};
  Ip4 src{}, dst{};
  uint8_t protocol = 0;
  bool header_checksum_ok = false;
  Bytes payload;  // exactly total length - header length
};
std::optional<Ipv4View> ParseIpv4(std::span<const uint8_t> frame);

struct IcmpView {
  Ipv4View ip;
  uint8_t type = 0, code = 0;
  uint16_t id = 0, sequence = 0;
  bool checksum_ok = false;
  Bytes payload;
};
std::optional<IcmpView> ParseIcmp(std::span<const uint8_t> frame);

struct TcpView {
  Ipv4View ip;
  TcpFields fields;
  bool checksum_ok = false;
  Bytes payload;
};
std::optional<TcpView> ParseTcp(std::span<const uint8_t> frame);

struct UdpView {
  Ipv4View ip;
  uint16_t src_port = 0, dst_port = 0;
  bool checksum_ok = false;  // also true for a zero (absent) checksum
  Bytes payload;             // exactly the UDP length field's payload
};
// An unfragmented UDP datagram (a fragment's payload is not parsed).
std::optional<UdpView> ParseUdp(std::span<const uint8_t> frame);

}  // namespace uk::net::testing
