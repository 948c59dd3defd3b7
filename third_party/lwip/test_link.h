#pragma once
// Two lwIP Ethernet netifs in one process, wired back to back: a frame that
// one sends is queued for the other, and Deliver() feeds the queues to
// lwIP's input. Queuing (rather than calling input from the output path)
// keeps lwIP from being re-entered, as a real driver would.
//
// Both netifs live in the one lwIP stack, on the same /24, so routing by
// destination alone would pick whichever netif was added last: a test binds
// each pcb to its end's netif (udp_bind_netif, tcp_bind_netif) so packets
// leave through the intended end.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <vector>

#include "lwip/netif.h"

namespace uk::lwip_test {

using Frame = std::vector<uint8_t>;

class BackToBackLink {
 public:
  // Adds the netifs "a0" and "b1" with these IPv4 addresses (/24; "0.0.0.0"
  // for none, e.g. to run DHCP), brings links and interfaces up and delivers
  // the announcements that causes, so sent() starts empty.
  BackToBackLink(const char* a_address, const char* b_address);
  ~BackToBackLink();
  BackToBackLink(const BackToBackLink&) = delete;
  BackToBackLink& operator=(const BackToBackLink&) = delete;

  netif* a() { return &ends_[0].nif; }
  netif* b() { return &ends_[1].nif; }

  // Hands every queued frame to its receiver, including frames sent while
  // doing so. Returns how many were delivered.
  size_t Deliver();

  // Delivers frames; whenever the link is idle and `done` is false, advances
  // the fake clock by `step_ms` (running lwIP's timers). Returns `done()`
  // once it is true or `timeout_ms` of fake time have passed.
  bool RunUntil(const std::function<bool()>& done, uint32_t timeout_ms, uint32_t step_ms = 10);

  // Drops every `n`th frame sent by either end (0: lose none), so TCP has to
  // retransmit and reorder.
  void set_drop_every(size_t n) { drop_every_ = n; }

  // Every frame each end has sent, in order (0 = a, 1 = b), dropped or not.
  const std::vector<Frame>& sent(int end) const { return ends_[end].sent; }

  static uint16_t EtherType(const Frame& frame) {
    return static_cast<uint16_t>(frame[12] << 8 | frame[13]);
  }

 private:
  struct End {
    netif nif;
    BackToBackLink* link;
    int index;
    std::deque<Frame> inbox;  // frames the peer sent, not yet delivered
    std::vector<Frame> sent;
  };

  static err_t InitNetif(netif* nif);
  static err_t LinkOutput(netif* nif, pbuf* p);

  End ends_[2];
  size_t drop_every_ = 0;
  size_t frames_sent_ = 0;
};

}  // namespace uk::lwip_test
