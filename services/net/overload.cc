#include "services/net/overload.h"

#include "lwip/memp.h"
#include "lwip/pbuf.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/stats.h"
#include "lwip/tcp.h"

namespace uk::net {
namespace {

static_assert(MEMP_STATS && MEM_STATS, "lwipopts.h must keep the memory statistics on");

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
