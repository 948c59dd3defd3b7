#pragma once
// What the net service does when peers push lwIP to its limits (docs/net.md,
// "Hostile peers"). lwIP's NO_SYS raw API leaves these to its user:
//
//   - Receive buffers: every received frame takes a PBUF_POOL buffer, and
//     out-of-order segments keep theirs until the gap is filled. lwipopts.h
//     caps that per connection (TCP_OOSEQ_MAX_PBUFS); across connections the
//     service keeps kPoolReserve buffers free by dropping whole out-of-order
//     queues (lwIP's pbuf_free_ooseq(), one connection per call), which the
//     senders retransmit. So a frame, a SYN of a new client included, always
//     finds a buffer.
//   - Half-open connections: lwIP counts them against the listen backlog
//     (accepts_pending) for 20 s each, and drops SYNs beyond it, so a SYN
//     flood from spoofed addresses would close the port. new_syn.h makes
//     room for the new SYN.
//
// Service thread only: these read and change lwIP's state.

#include <cstdint>
#include <span>

namespace uk::net {

// Free PBUF_POOL buffers the service keeps for new frames.
inline constexpr uint32_t kPoolReserve = 64;

// PBUF_POOL buffers free now (lwIP's statistics). Also read by the UDP
// sockets, which drop datagrams below the reserve.
uint32_t PoolFree();

// Drops out-of-order queues, one connection at a time, until at least
// `want_free` pool buffers are free or no connection has one. Returns how
// many queues it dropped.
uint32_t FreeOutOfOrderQueues(uint32_t want_free);

// Data segments refused since boot because the pool was down to its
// reserve and their connection already held data the application had not
// read (lwip_hooks: uk_net_admit_tcp_segment).
uint64_t UnreadSegmentsRefused();

// lwIP's memory: its heap (tcp_write copies, outgoing frames) and the
// receive-buffer pool, in use now and at most since boot.
struct LwipMemory {
  uint64_t heap_size, heap_used, heap_max;
  uint64_t pool_size, pool_used, pool_max;
};
LwipMemory ReadLwipMemory();

}  // namespace uk::net
