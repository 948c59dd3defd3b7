#include "third_party/lwip/test_link.h"

#include <cstring>

#include "lwip/etharp.h"
#include "lwip/ip4_addr.h"
#include "lwip/pbuf.h"
#include "netif/ethernet.h"
#include "third_party/lwip/test_support.h"

namespace uk::lwip_test {

BackToBackLink::BackToBackLink(const char* a_address, const char* b_address) {
  InitLwipOnce();
  const char* addresses[2] = {a_address, b_address};
  for (int i = 0; i < 2; ++i) {
    End& end = ends_[i];
    end.link = this;
    end.index = i;
    ip4_addr_t address;
    ip4_addr_t netmask;
    ip4_addr_t gateway;
    ip4addr_aton(addresses[i], &address);
    IP4_ADDR(&netmask, 255, 255, 255, 0);
    ip4_addr_set_zero(&gateway);
    netif_add(&end.nif, &address, &netmask, &gateway, &end, &BackToBackLink::InitNetif,
              ethernet_input);
    netif_set_link_up(&end.nif);
    netif_set_up(&end.nif);
  }
  // Bringing an interface up announces it (gratuitous ARP); start the test
  // with those delivered and the logs empty.
  Deliver();
  for (End& end : ends_) end.sent.clear();
}

BackToBackLink::~BackToBackLink() {
  for (End& end : ends_) netif_remove(&end.nif);
}

err_t BackToBackLink::InitNetif(netif* nif) {
  auto* end = static_cast<End*>(nif->state);
  nif->name[0] = end->index == 0 ? 'a' : 'b';
  nif->name[1] = '0' + end->index;
  nif->output = etharp_output;
  nif->linkoutput = &BackToBackLink::LinkOutput;
  nif->mtu = 1500;
  nif->hwaddr_len = ETH_HWADDR_LEN;
  const uint8_t mac[ETH_HWADDR_LEN] = {0x02, 0, 0, 0, 0, static_cast<uint8_t>(end->index + 1)};
  std::memcpy(nif->hwaddr, mac, sizeof(mac));
  nif->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET;
  return ERR_OK;
}

err_t BackToBackLink::LinkOutput(netif* nif, pbuf* p) {
  auto* end = static_cast<End*>(nif->state);
  Frame frame(p->tot_len);
  pbuf_copy_partial(p, frame.data(), p->tot_len, 0);
  end->sent.push_back(frame);
  BackToBackLink* link = end->link;
  ++link->frames_sent_;
  if (link->drop_every_ != 0 && link->frames_sent_ % link->drop_every_ == 0) return ERR_OK;
  link->ends_[1 - end->index].inbox.push_back(std::move(frame));
  return ERR_OK;
}

size_t BackToBackLink::Deliver() {
  size_t delivered = 0;
  bool any = true;
  while (any) {
    any = false;
    for (End& end : ends_) {
      if (end.inbox.empty()) continue;
      Frame frame = std::move(end.inbox.front());
      end.inbox.pop_front();
      pbuf* p = pbuf_alloc(PBUF_RAW, static_cast<u16_t>(frame.size()), PBUF_POOL);
      if (p == nullptr) continue;  // pool exhausted: the frame is lost, as on a NIC
      pbuf_take(p, frame.data(), static_cast<u16_t>(frame.size()));
      if (end.nif.input(p, &end.nif) != ERR_OK) pbuf_free(p);
      ++delivered;
      any = true;
    }
  }
  return delivered;
}

bool BackToBackLink::RunUntil(const std::function<bool()>& done, uint32_t timeout_ms,
                              uint32_t step_ms) {
  const uint32_t deadline = NowMs() + timeout_ms;
  while (!done()) {
    if (Deliver() > 0) continue;
    if (static_cast<int32_t>(NowMs() - deadline) >= 0) return done();
    AdvanceClock(step_ms);
  }
  return true;
}

}  // namespace uk::lwip_test
