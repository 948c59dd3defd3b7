#pragma once
// Initial sequence numbers for the connections lwIP opens or accepts
// (LWIP_HOOK_TCP_ISN, third_party/lwip/port/lwipopts.h), as RFC 6528 asks:
//
//   ISN = M + F(local address and port, remote address and port, secret)
//
// M is a clock in 4 us units, F the low 32 bits of SipHash-2-4 of the
// 4-tuple under a 128-bit secret drawn once per boot. lwIP's own ISN adds
// the TCP tick count to a counter starting at 6510 on every boot, so an
// off-path peer who opens one connection can predict the next connection's
// ISN and inject data or a RST into it. With F, a connection's ISN tells
// nothing about another 4-tuple's; with M, the ISNs of one 4-tuple grow
// with time, so a new connection from a port still in TIME-WAIT starts
// above the old one's sequence numbers (new_syn.h relies on the peer's).
//
// The secret comes from uk_net_isn_secret(), which whoever links the net
// service defines: the kernel (services/net/start.cc) from RDRAND where
// the CPU has it, else from TSC readings; host tests a fixed one.

#include <cstdint>
#include <span>

extern "C" void uk_net_isn_secret(uint8_t key[16]);

namespace uk::net {

// Draws the secret (once; later calls do nothing). The net service calls
// it at start-up, which also links this file into the kernel: lwIP refers
// to the hook only weakly, which pulls nothing out of a static library.
void SeedInitialSequenceNumbers();

// SipHash-2-4 (Aumasson and Bernstein, 2012) of `data` under `key`.
uint64_t SipHash24(const uint8_t key[16], std::span<const uint8_t> data);

// The ISN for a 4-tuple (addresses and ports in host order) at `now_ns`
// under `key`.
uint32_t InitialSequenceNumber(const uint8_t key[16], uint32_t local_ip, uint16_t local_port,
                               uint32_t remote_ip, uint16_t remote_port, uint64_t now_ns);

}  // namespace uk::net
