#include "services/net/net_service.h"

#include <algorithm>
#include <optional>

#include "kernel/lib/format.h"
#include "lwip/dhcp.h"
#include "lwip/etharp.h"
#include "lwip/init.h"
#include "lwip/ip4_frag.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/tcp.h"
#include "netif/ethernet.h"
#include "services/net/new_syn.h"
#include "services/net/overload.h"
#include "services/net/tcp_isn.h"
#include "services/runtime/call.h"

namespace uk::net {
namespace {

constexpr uint32_t kReceiveBudget = 64;  // frames per turn before others run
constexpr size_t kMaxGather = 16;        // pbufs per frame handed over as parts
constexpr uint64_t kNsPerMs = 1000000;

// NetTimers' TCP grid is lwIP's: tcp_fasttmr every 250 ms, tcp_slowtmr every
// 500 ms, and tcp_ticks counts the latter.
static_assert(NetTimers::kTcpIntervalMs == TCP_TMR_INTERVAL);
static_assert(NetTimers::kTcpSlowIntervalMs == TCP_SLOW_INTERVAL);
// lwIP frees a TIME-WAIT PCB at the first slow run that finds it more than
// this many ticks old (tcp_slowtmr).
constexpr uint32_t kTimeWaitTicks = 2 * TCP_MSL / TCP_SLOW_INTERVAL;

uint64_t CountPcbs(const tcp_pcb* list) {
  uint64_t count = 0;
  for (const tcp_pcb* pcb = list; pcb != nullptr; pcb = pcb->next) ++count;
  return count;
}

ip4_addr_t Ip4(uint32_t network_order) {
  ip4_addr_t address;
  ip4_addr_set_u32(&address, network_order);
  return address;
}

}  // namespace

NetService::NetService(NetDevice& device, const NetConfig& config)
    : RequestService("net", kNetServiceId),
      device_(device),
      config_(config),
      netif_(new netif{}),
      sockets_(new SocketTable),
      udp_(new UdpSocketTable(stats_.udp)) {}

NetService::~NetService() {
  delete udp_;
  delete sockets_;
  delete netif_;
}

uint32_t NetService::ip() const { return ip4_addr_get_u32(netif_ip4_addr(netif_)); }

uint64_t NetService::NowMs() const {
  return sched::Scheduler::Current().NowNs() / kNsPerMs + clock_offset_ms_;
}

void NetService::AdvanceClockForTest(uint64_t ms) {
  clock_offset_ms_ += ms;
  // The timer thread's deadline, in scheduler time, moved closer.
  sched::Scheduler::Current().Unpark(timer_thread_);
}

void NetService::BringUp() {
  lwip_init();
  SeedInitialSequenceNumbers();
  const bool dhcp = config_.ip == 0;
  const ip4_addr_t ip = Ip4(config_.ip), mask = Ip4(config_.netmask), gw = Ip4(config_.gateway);
  netif_add(netif_, &ip, &mask, &gw, this, &NetifInit, &ethernet_input);
  netif_set_default(netif_);
  netif_set_up(netif_);
  if (device_.LinkUp()) netif_set_link_up(netif_);
  if (dhcp) {
    using_dhcp_ = dhcp_start(netif_) == ERR_OK;
    dhcp_started_ms_ = NowMs();
  }
  tcp_clock_ = TcpClock(NowMs());
  UpdateMemoryStats();
  sched::Scheduler& scheduler = sched::Scheduler::Current();
  timer_thread_ = scheduler.Spawn(&TimerThread, this, "net-timers", sched::Joinable::kNo);
  RescheduleTimer();
}

int8_t NetService::NetifInit(netif* nif) {
  auto* self = static_cast<NetService*>(nif->state);
  nif->name[0] = 'e';
  nif->name[1] = 'n';
  nif->output = &etharp_output;
  nif->linkoutput = &LinkOutput;
  nif->mtu = self->device_.mtu();
  nif->hwaddr_len = ETH_HWADDR_LEN;
  const MacAddress mac = self->device_.mac();
  for (int i = 0; i < ETH_HWADDR_LEN; ++i) nif->hwaddr[i] = mac.bytes[i];
  nif->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET;
  if (self->device_.OffloadsTransmitChecksums()) {
    NETIF_SET_CHECKSUM_CTRL(nif, NETIF_CHECKSUM_ENABLE_ALL &
                                     ~(NETIF_CHECKSUM_GEN_TCP | NETIF_CHECKSUM_GEN_UDP));
  }
  return ERR_OK;
}

int8_t NetService::LinkOutput(netif* nif, pbuf* p) {
  auto* self = static_cast<NetService*>(nif->state);
  std::span<const uint8_t> parts[kMaxGather];
  size_t count = 0;
  uint8_t flat[kMaxFrame];
  for (pbuf* q = p; q != nullptr && count < kMaxGather; q = q->next) {
    parts[count++] = {static_cast<const uint8_t*>(q->payload), q->len};
    if (q->len == q->tot_len) break;
  }
  if (count == kMaxGather && p->tot_len <= sizeof(flat)) {  // a long chain: flatten it
    pbuf_copy_partial(p, flat, p->tot_len, 0);
    parts[0] = {flat, p->tot_len};
    count = 1;
  }
  if (!self->device_.Transmit(parts, count)) {
    self->device_.Flush();  // make room for the next ones; this one is lost
    ++self->stats_.dropped_out;
    return ERR_IF;          // TCP retransmits it
  }
  ++self->stats_.frames_out;
  self->last_traffic_ms_ = self->NowMs();
  return ERR_OK;
}

// A due return notice (net_protocol.h): its token as the body of a message
// of its kind, wanting no reply. False if the ring is full (it is offered
// again next turn); a notice for an address with no service is dropped.
bool NetService::SendReturn(const ReturnNotice& notice) {
  ipc::Message message;
  message.header = {static_cast<ipc::MessageKind>(notice.kind), 0, address().Pack(), 0};
  message.payload = {};
  __builtin_memcpy(message.payload.data(), &notice.token, sizeof(notice.token));
  return svc::TrySend(svc::Address::Unpack(notice.to), message) != svc::SendStatus::kWouldBlock;
}

// Notices that found a full ring keep the service polling until they go.
bool NetService::Ready() {
  return Service::Ready() || timer_due_ || device_.Ready() || sockets_->returns_due();
}

InfoReply NetService::CurrentInfo() const {
  return {Error::kOk, ip(), ip4_addr_get_u32(netif_ip4_netmask(netif_)),
          ip4_addr_get_u32(netif_ip4_gw(netif_))};
}

std::span<const svc::Route<NetService>> NetService::Routes() {
  static constexpr svc::Route<NetService> kRoutes[] = {
      svc::On<&NetService::Listen>(),     svc::On<&NetService::Accept>(),
      svc::On<&NetService::Connect>(),    svc::On<&NetService::Send>(),
      svc::On<&NetService::Recv>(),       svc::On<&NetService::SendRecv>(),
      svc::On<&NetService::Shutdown>(),
      svc::On<&NetService::Close>(),      svc::On<&NetService::Info>(),
      svc::On<&NetService::WaitForAddress>(),
      svc::On<&NetService::UdpBind>(),    svc::On<&NetService::UdpSendTo>(),
      svc::On<&NetService::UdpRecvFrom>(), svc::On<&NetService::UdpClose>(),
  };
  return kRoutes;
}

bool NetService::WaitForAddress(const WaitForAddressRequest& request,
                                const ipc::Message& message, InfoReply* reply) {
  if (ip() != 0 || request.timeout_ms == 0) {
    *reply = CurrentInfo();
  } else if (address_waiter_count_ == kMaxAddressWaiters ||
             !(message.header.flags & ipc::kFlagWantsReply)) {
    *reply = {Error::kBusy};
  } else {
    // Answered by AnswerAddressWaiters(); RescheduleTimer() wakes the
    // service for the timeout (+1: now is rounded down to the ms).
    address_waiters_[address_waiter_count_++] = {message, NowMs() + request.timeout_ms + 1};
    return false;
  }
  return true;
}

uint32_t NetService::ReceiveFrames(uint32_t budget) {
  uint32_t frames = 0;
  std::span<const uint8_t> frame;
  while (frames < budget && device_.Receive(&frame)) {
    ++frames;
    pbuf* p = CopyFrame(frame);
    if (p != nullptr) AdmitSyn(frame);
    device_.ReleaseReceived();  // the device buffer is free again: we copied
    if (p == nullptr) {
      ++stats_.dropped_in;
      continue;
    }
    ++stats_.frames_in;
    if (netif_->input(p, netif_) != ERR_OK) pbuf_free(p);
  }
  if (frames > 0) last_traffic_ms_ = NowMs();
  return frames;
}

void NetService::AdmitSyn(std::span<const uint8_t> frame) {
  const std::optional<SynSegment> syn = ParseSyn(frame);
  if (!syn) return;
  if (ReopenTimeWait(*syn)) ++stats_.time_wait_reopened;
  if (MakeRoomForSyn(*syn)) ++stats_.syn_evicted;
}

pbuf* NetService::CopyFrame(std::span<const uint8_t> frame) {
  // Out-of-order data is the one thing in the pool that may be dropped
  // (its sender retransmits it); unread in-order data may not. Keeping a
  // reserve, not waiting for the pool to run dry, leaves room for the
  // frames lwIP holds while this one is processed.
  stats_.ooseq_dropped += FreeOutOfOrderQueues(kPoolReserve);
  const auto length = static_cast<uint16_t>(frame.size());
  pbuf* p = pbuf_alloc(PBUF_RAW, length, PBUF_POOL);
  if (p != nullptr) pbuf_take(p, frame.data(), length);
  return p;
}

void NetService::UpdateMemoryStats() {
  const LwipMemory memory = ReadLwipMemory();
  stats_.heap_size.Set(memory.heap_size);
  stats_.heap_used.Set(memory.heap_used);
  stats_.heap_max.Set(memory.heap_max);
  stats_.pool_size.Set(memory.pool_size);
  stats_.pool_used.Set(memory.pool_used);
  stats_.pool_max.Set(memory.pool_max);
  // A walk of the lists once per turn: lwIP's tcp_input already walks the
  // active list for every segment it receives, so this costs at most one
  // more lookup per turn.
  stats_.tcp_active.Set(CountPcbs(tcp_active_pcbs));
  stats_.tcp_time_wait.Set(CountPcbs(tcp_tw_pcbs));
  uint64_t listening = 0;
  for (const tcp_pcb_listen* pcb = tcp_listen_pcbs.listen_pcbs; pcb != nullptr; pcb = pcb->next) {
    ++listening;
  }
  stats_.tcp_listening.Set(listening);
  stats_.sockets_open.Set(sockets_->open_sockets());
  stats_.bytes_by_reference.Set(sockets_->stats().bytes_by_reference);
  stats_.returns.Set(sockets_->stats().returns);
  stats_.unread_refused.Set(UnreadSegmentsRefused());
}

size_t NetService::FormatStats(char* out, size_t size) const {
  return Format(out, size,
                "net: lwip heap %lu of %lu bytes (high %lu), pool %lu of %lu (high %lu), "
                "tcp %lu active %lu time-wait %lu listening, sockets %lu open, %lu bytes sent by "
                "reference, %lu return notices; frames in %lu out %lu, dropped: %lu no buffer, %lu transmit ring full, %lu out-of-order "
                "queues, %lu half-open evicted, %lu time-wait reopened, %lu unread-data segments refused; udp %lu sockets, "
                "datagrams in %lu out %lu, dropped: %lu queue full, %lu pool at reserve",
                stats_.heap_used.Get(), stats_.heap_size.Get(), stats_.heap_max.Get(),
                stats_.pool_used.Get(), stats_.pool_size.Get(), stats_.pool_max.Get(),
                stats_.tcp_active.Get(), stats_.tcp_time_wait.Get(), stats_.tcp_listening.Get(),
                stats_.sockets_open.Get(), stats_.bytes_by_reference.Get(), stats_.returns.Get(),
                stats_.frames_in.Get(), stats_.frames_out.Get(),
                stats_.dropped_in.Get(), stats_.dropped_out.Get(), stats_.ooseq_dropped.Get(),
                stats_.syn_evicted.Get(), stats_.time_wait_reopened.Get(),
                stats_.unread_refused.Get(),
                stats_.udp.sockets_open.Get(), stats_.udp.datagrams_in.Get(),
                stats_.udp.datagrams_out.Get(), stats_.udp.dropped_full.Get(),
                stats_.udp.dropped_pool.Get());
}

void NetService::SyncTcpTicks(uint64_t now_ms) { tcp_ticks += tcp_clock_.Sync(now_ms); }

uint32_t NetService::TimeWaitTicksLeft() {
  // Not ordered by age: a retransmitted FIN restarts a PCB's TIME-WAIT.
  uint32_t left = UINT32_MAX;
  for (const tcp_pcb* pcb = tcp_tw_pcbs; pcb != nullptr; pcb = pcb->next) {
    const uint32_t age = tcp_ticks - pcb->tmr;  // wraps like lwIP's own comparison
    left = std::min(left, age > kTimeWaitTicks ? 0 : kTimeWaitTicks + 1 - age);
  }
  return left;
}

NetActivity NetService::Activity() const {
  NetActivity activity;
  activity.tcp_active = tcp_active_pcbs != nullptr;
  // With connections active the tick runs anyway, and tcp_slowtmr() ends
  // TIME-WAITs on the way; without, only the first expiry needs a run.
  if (!activity.tcp_active && tcp_tw_pcbs != nullptr) {
    activity.tcp_time_wait_ms = tcp_clock_.SlowRunAtMs(TimeWaitTicksLeft());
  }
  activity.using_dhcp = using_dhcp_;
  activity.dhcp_bound = using_dhcp_ && dhcp_supplied_address(netif_);
  activity.last_traffic_ms = last_traffic_ms_;
  return activity;
}

void NetService::RunTimers() {
  const uint64_t now = NowMs();
  SyncTcpTicks(now);
  const uint32_t due = timers_.Due(now, Activity());
  if (due == 0) return;
  ++stats_.timer_runs;
  if (due & kTcpTimer) RunTcpTimer(now);
  if (due & kArpTimer) {
    etharp_tmr();
    ip_reass_tmr();
  }
  if (due & kDhcpFineTimer) dhcp_fine_tmr();
  if (due & kDhcpCoarseTimer) dhcp_coarse_tmr();
  // No lease in time: the configured fallback (QEMU user networking's
  // defaults unless the command line says otherwise).
  if (using_dhcp_ && !dhcp_supplied_address(netif_) &&
      now >= dhcp_started_ms_ + config_.dhcp_timeout_ms && config_.fallback_ip != 0) {
    dhcp_stop(netif_);
    using_dhcp_ = false;
    const ip4_addr_t ip = Ip4(config_.fallback_ip), mask = Ip4(config_.fallback_netmask),
                     gw = Ip4(config_.fallback_gateway);
    netif_set_addr(netif_, &ip, &mask, &gw);
  }
}

// tcp_tmr() without its own parity: the fast timer at every run, the slow
// one at most once per 500 ms instant, after tcp_ticks caught up with the
// instants skipped since (tcp_slowtmr() adds the current one itself).
void NetService::RunTcpTimer(uint64_t now_ms) {
  tcp_fasttmr();
  if (tcp_clock_.SlowRunDue(now_ms)) {
    --tcp_ticks;
    tcp_slowtmr();
  }
}

void NetService::AnswerAddressWaiters(uint64_t now_ms) {
  const bool bound = ip() != 0;
  uint32_t kept = 0;
  for (uint32_t i = 0; i < address_waiter_count_; ++i) {
    const AddressWaiter& waiter = address_waiters_[i];
    if (bound || now_ms >= waiter.deadline_ms) {
      svc::Reply(waiter.message, ipc::MakeMessage(CurrentInfo(), 0, 0));
    } else {
      address_waiters_[kept++] = waiter;
    }
  }
  address_waiter_count_ = kept;
}

void NetService::Poll() {
  sched::Scheduler& scheduler = sched::Scheduler::Current();
  uint32_t frames = 0;
  for (;;) {
    SyncTcpTicks(NowMs());
    frames += ReceiveFrames(kReceiveBudget - frames);
    if (timer_due_) {
      timer_due_ = false;
      RunTimers();
    }
    sockets_->Complete([](const ipc::Message& request, const ipc::Message& reply) {
      svc::Reply(request, reply);
    });
    sockets_->TakeReturns([this](const ReturnNotice& notice) { return SendReturn(notice); });
    udp_->Complete([](const ipc::Message& request, const UdpReply& reply) {
      svc::Reply(request, ipc::MakeMessage(reply, 0, 0));
    });
    if (address_waiter_count_ > 0) AnswerAddressWaiters(NowMs());
    device_.Flush();  // one notification for everything this turn produced
    if (frames >= kReceiveBudget) {
      scheduler.NoteCongestion();  // more may be waiting: keep the core polling
      break;
    }
    // Ask for an interrupt at the next frame; if one came meanwhile, go on.
    if (!device_.ArmInterrupts()) break;
  }
  UpdateMemoryStats();
  RescheduleTimer();
}

void NetService::RescheduleTimer() {
  const uint64_t now = NowMs();
  uint64_t deadline = timers_.NextDeadline(now, Activity());
  for (uint32_t i = 0; i < address_waiter_count_; ++i) {
    deadline = std::min(deadline, address_waiters_[i].deadline_ms);
  }
  // Later as well as earlier: a deadline left behind (the tick of connections
  // that have all closed since) would cost a wakeup for nothing.
  if (deadline != timer_deadline_ms_) {
    timer_deadline_ms_ = deadline;
    sched::Scheduler::Current().Unpark(timer_thread_);  // it re-parks until the new deadline
  }
}

void NetService::TimerThread(void* arg) {
  auto& self = *static_cast<NetService*>(arg);
  sched::Scheduler& scheduler = sched::Scheduler::Current();
  for (;;) {
    const uint64_t deadline = self.timer_deadline_ms_;
    const uint64_t deadline_ns =
        deadline == kNever ? sched::SleepQueue::kNever
                           : (deadline > self.clock_offset_ms_ ? deadline - self.clock_offset_ms_
                                                               : 0) * kNsPerMs;
    if (scheduler.Park(deadline_ns)) continue;  // unparked: the deadline moved
    if (self.timer_deadline_ms_ != deadline) continue;  // moved after it passed
    // The deadline passed: hand the work to the service thread.
    ++self.stats_.timer_wakeups;
    self.timer_deadline_ms_ = kNever;
    self.timer_due_ = true;
  }
}

}  // namespace uk::net
