#include "services/net/new_syn.h"

#include "lwip/priv/tcp_priv.h"
#include "lwip/tcp.h"

namespace uk::net {
namespace {

constexpr size_t kEthernetHeader = 14;
constexpr uint16_t kEtherTypeIpv4 = 0x0800;
constexpr uint8_t kProtocolTcp = 6;
constexpr uint8_t kFlagSyn = 0x02, kFlagRst = 0x04, kFlagAck = 0x10;

uint16_t Read16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
uint32_t Read32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}

}  // namespace

std::optional<SynSegment> ParseSyn(std::span<const uint8_t> frame) {
  if (frame.size() < kEthernetHeader + 20) return std::nullopt;
  if (Read16(&frame[12]) != kEtherTypeIpv4) return std::nullopt;
  const uint8_t* ip = frame.data() + kEthernetHeader;
  const size_t ip_header = (ip[0] & 0x0f) * 4u;
  if ((ip[0] >> 4) != 4 || ip_header < 20 || ip[9] != kProtocolTcp) return std::nullopt;
  if ((Read16(ip + 6) & 0x3fff) != 0) return std::nullopt;  // a fragment (MF or an offset)
  if (frame.size() < kEthernetHeader + ip_header + 20) return std::nullopt;
  const uint8_t* tcp = ip + ip_header;
  if ((tcp[13] & (kFlagSyn | kFlagAck | kFlagRst)) != kFlagSyn) return std::nullopt;
  return SynSegment{Read32(ip + 12), Read32(ip + 16), Read16(tcp), Read16(tcp + 2),
                    Read32(tcp + 4)};
}

bool ReopenTimeWait(const SynSegment& syn) {
  for (tcp_pcb* pcb = tcp_tw_pcbs; pcb != nullptr; pcb = pcb->next) {
    if (pcb->local_port != syn.dst_port || pcb->remote_port != syn.src_port ||
        lwip_ntohl(ip_2_ip4(&pcb->remote_ip)->addr) != syn.src_ip ||
        lwip_ntohl(ip_2_ip4(&pcb->local_ip)->addr) != syn.dst_ip) {
      continue;
    }
    if (!TCP_SEQ_GT(syn.seq, pcb->rcv_nxt)) return false;  // an old duplicate: lwIP ACKs it
    tcp_abandon(pcb, /*reset=*/0);  // a TIME-WAIT PCB is only freed, nothing is sent
    return true;
  }
  return false;
}

bool MakeRoomForSyn(const SynSegment& syn) {
  for (tcp_pcb_listen* listener = tcp_listen_pcbs.listen_pcbs; listener != nullptr;
       listener = listener->next) {
    if (listener->local_port != syn.dst_port) continue;
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

}  // namespace uk::net
