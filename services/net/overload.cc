#include "services/net/overload.h"

#include "lwip/memp.h"
#include "lwip/pbuf.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/stats.h"
#include "lwip/tcp.h"

namespace uk::net {
namespace {

static_assert(MEMP_STATS && MEM_STATS, "lwipopts.h must keep the memory statistics on");

constexpr size_t kEthernetHeader = 14;
constexpr uint16_t kEtherTypeIpv4 = 0x0800;
constexpr uint8_t kProtocolTcp = 6;
constexpr uint8_t kFlagSyn = 0x02, kFlagRst = 0x04, kFlagAck = 0x10;

// Service thread only, like all of lwIP.
uint64_t unread_segments_refused = 0;

bool AnyOutOfOrder() {
  for (const tcp_pcb* pcb = tcp_active_pcbs; pcb != nullptr; pcb = pcb->next) {
    if (pcb->ooseq != nullptr) return true;
  }
  return false;
}

}  // namespace

uint32_t PoolFree() {
  const stats_mem& pool = *lwip_stats.memp[MEMP_PBUF_POOL];
  return pool.avail > pool.used ? pool.avail - pool.used : 0;
}

uint32_t FreeOutOfOrderQueues(uint32_t want_free) {
  uint32_t dropped = 0;
  while (PoolFree() < want_free && AnyOutOfOrder()) {
    pbuf_free_ooseq();  // the first connection with a queue
    ++dropped;
  }
  return dropped;
}

bool MakeRoomForSyn(std::span<const uint8_t> frame) {
  // Ethernet, IPv4 without fragmentation, TCP with SYN alone. Checksums are
  // lwIP's to check: a forged SYN that fails them costs one half-open
  // connection at most, as a valid forged SYN does.
  if (frame.size() < kEthernetHeader + 20) return false;
  if ((frame[12] << 8 | frame[13]) != kEtherTypeIpv4) return false;
  const uint8_t* ip = frame.data() + kEthernetHeader;
  const size_t ip_header = (ip[0] & 0x0f) * 4u;
  if ((ip[0] >> 4) != 4 || ip_header < 20 || ip[9] != kProtocolTcp) return false;
  if (((ip[6] & 0x3f) << 8 | ip[7]) != 0) return false;  // a fragment (MF or an offset)
  if (frame.size() < kEthernetHeader + ip_header + 20) return false;
  const uint8_t* tcp = ip + ip_header;
  if ((tcp[13] & (kFlagSyn | kFlagAck | kFlagRst)) != kFlagSyn) return false;
  const uint16_t port = static_cast<uint16_t>(tcp[2] << 8 | tcp[3]);

  for (tcp_pcb_listen* listener = tcp_listen_pcbs.listen_pcbs; listener != nullptr;
       listener = listener->next) {
    if (listener->local_port != port) continue;
    if (listener->accepts_pending < listener->backlog) return false;
    // New PCBs go to the front of tcp_active_pcbs: the last match is the
    // oldest.
    tcp_pcb* oldest = nullptr;
    for (tcp_pcb* pcb = tcp_active_pcbs; pcb != nullptr; pcb = pcb->next) {
      if (pcb->state == SYN_RCVD && pcb->listener == listener) oldest = pcb;
    }
    if (oldest == nullptr) return false;  // the backlog holds established ones: lwIP drops the SYN
    tcp_abandon(oldest, /*reset=*/0);  // no callbacks are set on a half-open PCB
    return true;
  }
  return false;
}

uint64_t UnreadSegmentsRefused() { return unread_segments_refused; }

LwipMemory ReadLwipMemory() {
  const stats_mem& heap = lwip_stats.mem;
  const stats_mem& pool = *lwip_stats.memp[MEMP_PBUF_POOL];
  return {heap.avail, heap.used, heap.max, pool.avail, pool.used, pool.max};
}

}  // namespace uk::net

// lwIP's LWIP_HOOK_TCP_INPACKET_PCB (lwipopts.h), called for every segment
// that matched a PCB, before lwIP processes (and acknowledges) it. Data
// that the application has not read holds its pool buffers, and the window
// only bounds that per connection. So once the pool is down to its reserve
// (FreeOutOfOrderQueues has already dropped what it could), a data segment
// for a connection that already holds unread data is refused: dropped
// without an ACK, so its sender retransmits it once the application reads
// and buffers are free. A connection holding nothing (a new client's
// request) is still let in, out of the reserve; so are segments without
// data (ACKs that free send buffers, FINs, RSTs).
extern "C" int uk_net_admit_tcp_segment(const tcp_pcb* pcb, const pbuf* p) {
  if (p->tot_len == 0 || pcb->state == LISTEN) return ERR_OK;  // a listen PCB has no window
  // rcv_wnd drops as data arrives and grows back as the application reads
  // (tcp_recved); refused_data is lwIP's own hold-back (not used by the
  // service's callbacks, but counted to be safe).
  const bool holds_unread = pcb->rcv_wnd < TCP_WND || pcb->refused_data != nullptr;
  if (!holds_unread || uk::net::PoolFree() >= uk::net::kPoolReserve) return ERR_OK;
  ++uk::net::unread_segments_refused;
  return ERR_MEM;
}
