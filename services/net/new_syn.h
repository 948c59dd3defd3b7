#pragma once
// What the net service does with a connection request (a TCP SYN) before
// lwIP sees it. lwIP's NO_SYS raw API leaves two cases to its user:
//
//   - A SYN for a 4-tuple still in TIME-WAIT. The server closed first, so
//     it holds TIME-WAIT for 60 s, and a client that reuses its port within
//     that time (Linux reuses a port as soon as its own side is closed; so
//     does QEMU's user networking) would be answered by lwIP with an ACK of
//     the old connection, then its RST ignored (RFC 1337), until TIME-WAIT
//     ends: a 60 s stall. Like Linux and the BSDs (RFC 6191's rule, without
//     timestamps), a SYN whose sequence number is past the old connection's
//     ends that TIME-WAIT, and the listener takes the SYN. An older one
//     still gets lwIP's ACK.
//   - A SYN for a listener whose backlog of half-open connections is full
//     (overload.h): the oldest SYN_RCVD connection is aborted.
//
// The frame is read before lwIP checks its checksums: a forged SYN with a
// bad checksum can end one TIME-WAIT or evict one half-open connection, as
// a valid forged SYN can. Service thread only: these change lwIP's state.

#include <cstdint>
#include <optional>
#include <span>

namespace uk::net {

// The fields of a SYN the decisions need; addresses and ports in host order.
struct SynSegment {
  uint32_t src_ip, dst_ip;
  uint16_t src_port, dst_port;
  uint32_t seq;
};

// `frame` (Ethernet) if it is IPv4, not a fragment, TCP with SYN and
// neither ACK nor RST; nullopt for anything else, truncated frames included.
std::optional<SynSegment> ParseSyn(std::span<const uint8_t> frame);

// Ends the TIME-WAIT of the SYN's 4-tuple if the SYN starts a new
// connection (its sequence number is past the old one's). True if it did.
bool ReopenTimeWait(const SynSegment& syn);

// If the SYN's listener has a full backlog of half-open connections, aborts
// its oldest SYN_RCVD connection (no RST: it is probably spoofed), as BSD's
// syncache drops its oldest entry. True if it aborted one.
bool MakeRoomForSyn(const SynSegment& syn);

}  // namespace uk::net
