#pragma once
// The network service: one thread on the core that owns the NIC, running
// lwIP (NO_SYS: lwIP is a library this thread calls, never a thread of its
// own), the TCP and UDP socket tables and the device, and serving the TCP
// and interface requests (net_protocol.h) and the UDP requests
// (udp_protocol.h) from any core through its inbox, one handler per request
// (Routes()). The socket requests go to their table; blocking ones (accept,
// recv, send, connect, recvfrom, wait-for-address) may be kept and answered
// at the end of a later turn.
//
// What the thread waits for is derived, as for every service: a message in
// its inbox, a frame or completion from the device, or a due lwIP timer. A
// small timer thread on the same core sleeps until the next timer deadline
// (NetTimers, or a WaitForAddressRequest's timeout) and only raises a
// flag; all lwIP calls stay on the service thread. See docs/net.md for a
// frame's path from the NIC to the application and back.
//
// Portable: host tests run it over an in-memory device with cores as threads.

#include <cstdint>

#include "ipc/message.h"
#include "ipc/stat_counter.h"
#include "kernel/drivers/net_device.h"
#include "kernel/sched/scheduler.h"
#include "services/net/net_protocol.h"
#include "services/net/net_timers.h"
#include "services/net/sockets.h"
#include "services/net/udp_sockets.h"
#include "services/runtime/request_service.h"

struct netif;

namespace uk::net {

struct NetConfig {
  // Static address (network byte order); ip == 0 means DHCP.
  uint32_t ip = 0, netmask = 0, gateway = 0;
  // With DHCP: give up after this long and use the fallback below.
  uint64_t dhcp_timeout_ms = 5000;
  uint32_t fallback_ip = 0, fallback_netmask = 0, fallback_gateway = 0;
};

struct NetStats {
  ipc::StatCounter frames_in, frames_out;
  ipc::StatCounter dropped_in;   // no pbuf for a received frame
  ipc::StatCounter dropped_out;  // transmit ring full
  ipc::StatCounter timer_runs;     // turns that ran at least one lwIP timer
  ipc::StatCounter timer_wakeups;  // deadlines the timer thread slept until
  // Defences against hostile peers (services/net/overload.h, new_syn.h).
  ipc::StatCounter ooseq_dropped;    // out-of-order queues dropped to refill the pool
  ipc::StatCounter syn_evicted;      // half-open connections aborted for a new SYN
  ipc::StatCounter time_wait_reopened;  // TIME-WAITs ended by a new SYN (new_syn.h)
  ipc::StatCounter unread_refused;   // data segments refused at the pool's reserve (copied
                                     // from overload.cc's count at the end of every turn)
  // lwIP's memory, bytes for the heap and buffers for the pool, updated at
  // the end of every turn: readable from any core (relaxed atomics). The
  // heap holds send buffers (tcp_write copies) and outgoing frames; the
  // pool holds received frames, unread and out-of-order data.
  ipc::StatCounter heap_size, heap_used, heap_max;
  ipc::StatCounter pool_size, pool_used, pool_max;
  // lwIP's TCP PCBs by list, and the socket table's open sockets (listeners
  // and connections), updated with the memory figures.
  ipc::StatCounter tcp_active, tcp_time_wait, tcp_listening;
  ipc::StatCounter sockets_open;
  ipc::StatCounter bytes_by_reference, returns;  // sent without a copy; notices sent (sockets.h)
  // UDP sockets: datagrams in, out and dropped, written by the UDP socket
  // table as they happen (udp_sockets.h).
  UdpStats udp;
};

class NetService final : public svc::RequestService<NetService> {
 public:
  NetService(NetDevice& device, const NetConfig& config);
  ~NetService() override;

  static std::span<const svc::Route<NetService>> Routes();
  // Before every request: tcp_ticks catches up with the clock, before lwIP
  // stamps anything with it.
  void BeforeRequest() { SyncTcpTicks(NowMs()); }

  // On the service's core, before Start(): initializes lwIP, the interface,
  // DHCP or the static address, and the timer thread.
  void BringUp();

  bool Ready() override;
  const NetStats& stats() const { return stats_; }
  const SocketStats& socket_stats() const { return sockets_->stats(); }
  // "net: lwip heap ... sockets 4 open" (docs/net.md); reads only stats_.
  size_t FormatStats(char* out, size_t size) const override;
  // Current address (network byte order), 0 until configured.
  uint32_t ip() const;

  // The service clock, in ms: the scheduler's, plus what tests skipped.
  uint64_t NowMs() const;
  // What the timer thread sleeps until (service clock), kNever if nothing;
  // read on the service's core.
  uint64_t timer_deadline_ms() const { return timer_deadline_ms_; }
  // Host tests, on the service's core: moves the service clock forward, as
  // if `ms` had passed with nothing to do, so timeouts of a minute (TIME-WAIT)
  // are tested without waiting for them. lwIP sees the jump at the next turn.
  void AdvanceClockForTest(uint64_t ms);

 private:
  bool SendReturn(const ReturnNotice& notice);
  // A WaitForAddressRequest held until the address is bound.
  struct AddressWaiter {
    ipc::Message message;
    uint64_t deadline_ms;
  };
  static constexpr uint32_t kMaxAddressWaiters = 8;

  // TCP: forwarded to the socket table.
  HandleReply Listen(const TcpListenRequest& request) { return sockets_->Listen(request); }
  bool Accept(const TcpAcceptRequest& request, const ipc::Message& message, PeerReply* reply) {
    return sockets_->Accept(request, message, reply);
  }
  bool Connect(const TcpConnectRequest& request, const ipc::Message& message,
               HandleReply* reply) {
    return sockets_->Connect(request, message, reply);
  }
  bool Send(const TcpSendRequest& request, const ipc::Message& message, CountReply* reply) {
    return sockets_->Send(request, message, reply);
  }
  bool Recv(const TcpRecvRequest& request, const ipc::Message& message, CountReply* reply) {
    return sockets_->Recv(request, message, reply);
  }
  bool SendRecv(const TcpSendRecvRequest& request, const ipc::Message& message,
                ExchangeReply* reply) {
    return sockets_->SendRecv(request, message, reply);
  }
  StatusReply Shutdown(const TcpShutdownRequest& request) { return sockets_->Shutdown(request); }
  StatusReply Close(const TcpCloseRequest& request) { return sockets_->Close(request); }
  // The interface.
  InfoReply Info(const InfoRequest&) { return CurrentInfo(); }
  bool WaitForAddress(const WaitForAddressRequest& request, const ipc::Message& message,
                      InfoReply* reply);
  // UDP: forwarded to the UDP socket table.
  UdpReply UdpBind(const UdpBindRequest& request) { return udp_->Bind(request); }
  UdpReply UdpSendTo(const UdpSendToRequest& request) { return udp_->SendTo(request); }
  bool UdpRecvFrom(const UdpRecvFromRequest& request, const ipc::Message& message,
                   UdpReply* reply) {
    return udp_->RecvFrom(request, message, reply);
  }
  UdpReply UdpClose(const UdpCloseRequest& request) { return udp_->Close(request); }

  void Poll() override;
  // One pass over the device's received frames (at most `budget`).
  uint32_t ReceiveFrames(uint32_t budget);
  // A pool buffer holding `frame`, after freeing out-of-order data if the
  // pool ran low; nullptr if none could be had.
  struct pbuf* CopyFrame(std::span<const uint8_t> frame);
  // A SYN may end a TIME-WAIT or evict a half-open connection (new_syn.h).
  void AdmitSyn(std::span<const uint8_t> frame);
  void UpdateMemoryStats();
  void RunTimers();
  void RunTcpTimer(uint64_t now_ms);
  // tcp_ticks catches up with the service clock (TcpClock).
  void SyncTcpTicks(uint64_t now_ms);
  // Ticks until the first TIME-WAIT PCB expires (tcp_tw_pcbs non-empty).
  static uint32_t TimeWaitTicksLeft();
  NetActivity Activity() const;
  InfoReply CurrentInfo() const;
  // Answers held kWaitForAddress requests whose address came or time ran out.
  void AnswerAddressWaiters(uint64_t now_ms);
  void RescheduleTimer();
  static void TimerThread(void* self);
  static int8_t NetifInit(netif* nif);
  static int8_t LinkOutput(netif* nif, struct pbuf* p);

  NetDevice& device_;
  const NetConfig config_;
  netif* netif_;  // lwIP's, allocated here
  SocketTable* sockets_;  // large (a slot per socket): on the heap
  UdpSocketTable* udp_;   // likewise (a receive queue per socket)
  NetTimers timers_;
  TcpClock tcp_clock_;
  NetStats stats_;
  bool using_dhcp_ = false;
  uint64_t dhcp_started_ms_ = 0;
  uint64_t last_traffic_ms_ = 0;
  uint64_t clock_offset_ms_ = 0;  // AdvanceClockForTest
  AddressWaiter address_waiters_[kMaxAddressWaiters];
  uint32_t address_waiter_count_ = 0;
  // Timer thread handshake (same core, cooperative: plain fields suffice).
  // The service thread sets the deadline and unparks the timer thread
  // whenever it changes; the timer thread parks until it, then raises
  // timer_due_.
  sched::Thread* timer_thread_ = nullptr;
  uint64_t timer_deadline_ms_ = kNever;  // service clock
  bool timer_due_ = false;
};

}  // namespace uk::net
