#include "services/net/tcp_server.h"

#include "kernel/lib/log.h"
#include "kernel/sched/scheduler.h"

namespace uk::net {

bool TcpServer::Listen(uint16_t port, uint16_t backlog) {
  const Result<uint32_t> listener = client_.Listen(port, backlog);
  if (!listener.ok()) {
    Print("%s: cannot listen on port %u: %s\n", name_, port, ErrorName(listener.error()));
    return false;
  }
  listener_ = listener.value();
  return true;
}

void TcpServer::Stop() {
  stopped_ = true;
  (void)client_.Close(listener_);  // the waiting accept answers kClosed
}

void TcpServer::AcceptForever(ConnectionHandler handler, void* context) {
  sched::Scheduler& scheduler = sched::Scheduler::Current();
  for (;;) {
    const Result<Peer> peer = client_.Accept(listener_);
    if (stopped_) {
      if (peer.ok()) (void)client_.Close(peer.value().handle, CloseMode::kAbort);
      return;
    }
    if (!peer.ok()) {
      Log(LogLevel::kWarn, "%s: accept failed: %s", name_, ErrorName(peer.error()));
      scheduler.SleepFor(kRetryDelayNs);
      continue;
    }
    handler(context, peer.value());
  }
}

}  // namespace uk::net
