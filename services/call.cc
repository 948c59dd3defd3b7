#include "services/call.h"

#include "kernel/sched/scheduler.h"

namespace uk::svc {
namespace {

using sched::Scheduler;

struct PendingCall {
  uint64_t request_id;
  sched::Thread* thread;
  ipc::Message* reply;
  bool done;
  PendingCall* next;
};

// Per core, touched only by that core's threads.
struct alignas(ipc::kFalseSharingRange) CoreCalls {
  PendingCall* pending = nullptr;
  uint64_t next_request_id = 1;
  ipc::StatCounter stale_replies;
};
CoreCalls core_calls[sched::kMaxCores];

void Unlink(CoreCalls& calls, PendingCall* call) {
  for (PendingCall** link = &calls.pending; *link != nullptr; link = &(*link)->next) {
    if (*link == call) {
      *link = call->next;
      return;
    }
  }
}

}  // namespace

SendStatus Call(Address to, ipc::Message& message, uint64_t timeout_ns) {
  Scheduler& sched = Scheduler::Current();
  CoreCalls& calls = core_calls[sched.core()];
  PendingCall call{calls.next_request_id++, sched.current(), &message, false, calls.pending};
  calls.pending = &call;

  message.header.source =
      Address{static_cast<uint16_t>(sched.core()), kSchedServiceId}.Pack();
  message.header.request_id = call.request_id;
  message.header.flags = ipc::kFlagWantsReply;
  const SendStatus sent = Send(to, message);
  if (sent != SendStatus::kOk) {
    Unlink(calls, &call);
    return sent;
  }
  const uint64_t deadline =
      timeout_ns == kNoTimeout ? sched::SleepQueue::kNever : sched.NowNs() + timeout_ns;
  while (!call.done) {
    if (!sched.Park(deadline) && !call.done) {
      Unlink(calls, &call);
      return SendStatus::kTimedOut;
    }
  }
  return SendStatus::kOk;  // DeliverReply unlinked it
}

SendStatus Reply(const ipc::Message& request, ipc::Message reply) {
  reply.header.request_id = request.header.request_id;
  reply.header.flags = ipc::kFlagReply;
  return Send(Address::Unpack(request.header.source), reply);
}

bool DeliverReply(const ipc::Message& reply) {
  CoreCalls& calls = core_calls[Scheduler::Current().core()];
  for (PendingCall* call = calls.pending; call != nullptr; call = call->next) {
    if (call->request_id != reply.header.request_id) continue;
    Unlink(calls, call);
    *call->reply = reply;
    call->done = true;
    Scheduler::Current().Unpark(call->thread);
    return true;
  }
  ++calls.stale_replies;
  return false;
}

uint64_t StaleReplies(uint32_t core) { return core_calls[core].stale_replies.Get(); }

}  // namespace uk::svc
