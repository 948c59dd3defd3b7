#include "services/net/tcp_isn.h"

#include "kernel/sched/scheduler.h"
#include "lwip/ip_addr.h"

namespace uk::net {
namespace {

uint8_t isn_key[16];  // the net service's thread only, like all of lwIP
bool isn_key_drawn = false;

uint64_t Rotl(uint64_t x, int b) { return (x << b) | (x >> (64 - b)); }

uint64_t Load64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

struct SipState {
  uint64_t v0, v1, v2, v3;
  void Round() {
    v0 += v1; v1 = Rotl(v1, 13); v1 ^= v0; v0 = Rotl(v0, 32);
    v2 += v3; v3 = Rotl(v3, 16); v3 ^= v2;
    v0 += v3; v3 = Rotl(v3, 21); v3 ^= v0;
    v2 += v1; v1 = Rotl(v1, 17); v1 ^= v2; v2 = Rotl(v2, 32);
  }
  void Absorb(uint64_t m) {
    v3 ^= m;
    Round();
    Round();
    v0 ^= m;
  }
};

}  // namespace

void SeedInitialSequenceNumbers() {
  if (isn_key_drawn) return;
  uk_net_isn_secret(isn_key);
  isn_key_drawn = true;
}

uint64_t SipHash24(const uint8_t key[16], std::span<const uint8_t> data) {
  const uint64_t k0 = Load64(key), k1 = Load64(key + 8);
  SipState s{k0 ^ 0x736f6d6570736575ull, k1 ^ 0x646f72616e646f6dull,
             k0 ^ 0x6c7967656e657261ull, k1 ^ 0x7465646279746573ull};
  const size_t whole = data.size() & ~size_t{7};
  for (size_t i = 0; i < whole; i += 8) s.Absorb(Load64(&data[i]));
  // The last block: the remaining bytes, the length's low byte on top.
  uint64_t last = uint64_t{data.size() & 0xff} << 56;
  for (size_t i = whole; i < data.size(); ++i) last |= uint64_t{data[i]} << (8 * (i - whole));
  s.Absorb(last);
  s.v2 ^= 0xff;
  for (int i = 0; i < 4; ++i) s.Round();
  return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

uint32_t InitialSequenceNumber(const uint8_t key[16], uint32_t local_ip, uint16_t local_port,
                               uint32_t remote_ip, uint16_t remote_port, uint64_t now_ns) {
  const uint8_t tuple[12] = {
      static_cast<uint8_t>(local_ip >> 24),   static_cast<uint8_t>(local_ip >> 16),
      static_cast<uint8_t>(local_ip >> 8),    static_cast<uint8_t>(local_ip),
      static_cast<uint8_t>(remote_ip >> 24),  static_cast<uint8_t>(remote_ip >> 16),
      static_cast<uint8_t>(remote_ip >> 8),   static_cast<uint8_t>(remote_ip),
      static_cast<uint8_t>(local_port >> 8),  static_cast<uint8_t>(local_port),
      static_cast<uint8_t>(remote_port >> 8), static_cast<uint8_t>(remote_port)};
  const auto clock = static_cast<uint32_t>(now_ns / 4000);  // RFC 6528's 4 us timer
  return static_cast<uint32_t>(SipHash24(key, tuple)) + clock;
}

}  // namespace uk::net

// LWIP_HOOK_TCP_ISN (lwipopts.h), on the net service's thread like all of
// lwIP.
extern "C" uint32_t uk_net_tcp_isn(const ip_addr_t* local_ip, uint16_t local_port,
                                   const ip_addr_t* remote_ip, uint16_t remote_port) {
  uk::net::SeedInitialSequenceNumbers();  // already done unless lwIP is driven directly
  return uk::net::InitialSequenceNumber(
      uk::net::isn_key, lwip_ntohl(ip_2_ip4(local_ip)->addr), local_port,
      lwip_ntohl(ip_2_ip4(remote_ip)->addr), remote_port,
      uk::sched::Scheduler::Current().NowNs());
}
