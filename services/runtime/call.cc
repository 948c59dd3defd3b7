#include "services/runtime/call.h"

#include <atomic>

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

// A reply waiting for room in its ring (Reply never blocks).
struct QueuedReply {
  Address to;
  ipc::Message message;
  QueuedReply* next;
};

// What the loop does for the runtime on each core: publish what a service's
// turn staged (if the thread blocked before its turn ended), and hand
// replies to their parked callers.
class LoopWork final : public sched::LoopWork {
 public:
  LoopWork(Inbox& replies, ipc::StatCounter& drained) : replies_(replies), drained_(drained) {}
  bool Ready() override { return !replies_.AllEmpty(); }
  void Poll() override {
    PublishStaged();
    drained_ += replies_.Drain(
        [](uint32_t, const ipc::Message& reply) { DeliverReply(reply); }, kReplyBudget);
  }

 private:
  static constexpr uint32_t kReplyBudget = 64;  // per pass; Ready() brings the loop back
  Inbox& replies_;
  ipc::StatCounter& drained_;
};

// Per core, touched only by that core's threads (and its loop), except
// `replies`, which producers on other cores read to find the rings.
struct alignas(ipc::kFalseSharingRange) CoreCalls {
  std::atomic<Inbox*> replies{nullptr};  // one ring per producer core
  LoopWork* loop_work = nullptr;
  ipc::StatCounter replies_drained;
  PendingCall* pending = nullptr;
  uint64_t next_request_id = 1;
  ipc::StatCounter stale_replies;
  // The outbox: FIFO, sent by its thread while it is non-empty.
  QueuedReply* outbox_head = nullptr;
  QueuedReply* outbox_tail = nullptr;
  bool outbox_thread_running = false;
  ipc::StatCounter queued_replies;
  ipc::StatCounter outbox_spawn_failures;  // no memory for the sender: retried by the next Reply
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

// Replies go into the caller core's reply rings, where its loop finds them
// (a request's source names the caller's core: Call sets it).
SendStatus TrySendReply(Address to, const ipc::Message& reply) {
  Inbox* replies = ReplyRings(to.core);
  if (replies == nullptr) return SendStatus::kNoService;
  return TryPushInto(*replies, to.core, reply);
}

}  // namespace

void StartCallsOnThisCore() {
  // Once per core in the kernel; host tests start a fresh machine (new
  // schedulers) per test, and each needs its loop work and empty rings.
  CoreCalls& calls = core_calls[Scheduler::Current().core()];
  auto* replies = new Inbox(Scheduler::CoreCount());
  calls.loop_work = new LoopWork(*replies, calls.replies_drained);
  Scheduler::Current().SetLoopWork(calls.loop_work);
  // Release: the rings are built before a producer can find them.
  calls.replies.store(replies, std::memory_order_release);
}

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

namespace {

constexpr uint64_t kFirstOutboxBackoffNs = 1'000;
constexpr uint64_t kMaxOutboxBackoffNs = 1'000'000;

// Sends queued replies in order until the head's ring is full (false) or
// the outbox is empty (true).
bool SendQueued(CoreCalls& calls) {
  while (QueuedReply* head = calls.outbox_head) {
    if (TrySendReply(head->to, head->message) == SendStatus::kWouldBlock) return false;
    // Sent, or nobody there any more: dropped.
    calls.outbox_head = head->next;
    if (calls.outbox_head == nullptr) calls.outbox_tail = nullptr;
    delete head;
  }
  return true;
}

// Sends the outbox in order as rings drain, sleeping with a growing backoff
// while the head's ring is full; exits when the outbox is empty.
void SendOutbox(void* arg) {
  CoreCalls& calls = *static_cast<CoreCalls*>(arg);
  uint64_t backoff = kFirstOutboxBackoffNs;
  while (!SendQueued(calls)) {
    Scheduler::Current().SleepFor(backoff);
    if (backoff < kMaxOutboxBackoffNs) backoff *= 2;
  }
  calls.outbox_thread_running = false;
}

}  // namespace

SendStatus Reply(const ipc::Message& request, ipc::Message reply) {
  reply.header.request_id = request.header.request_id;
  reply.header.flags = ipc::kFlagReply;
  const Address to = Address::Unpack(request.header.source);
  CoreCalls& calls = core_calls[Scheduler::Current().core()];
  // Replies left queued when there was no memory for the sender: send what
  // the rings take now, in order.
  if (calls.outbox_head != nullptr && !calls.outbox_thread_running) (void)SendQueued(calls);
  if (calls.outbox_head == nullptr) {  // otherwise queue behind: replies keep their order
    const SendStatus status = TrySendReply(to, reply);
    if (status != SendStatus::kWouldBlock) return status;
  } else if (ReplyRings(to.core) == nullptr) {
    return SendStatus::kNoService;
  }
  auto* queued = new QueuedReply{to, reply, nullptr};
  if (calls.outbox_tail != nullptr) calls.outbox_tail->next = queued;
  else calls.outbox_head = queued;
  calls.outbox_tail = queued;
  ++calls.queued_replies;
  if (!calls.outbox_thread_running) {
    // The outbox grows with load (requests whose replies find rings full),
    // so its sender must not stop the kernel when memory is short. Without
    // a thread the replies stay queued, in order, and the next Reply on
    // this core tries again (it queues behind them: outbox_head is set).
    calls.outbox_thread_running =
        Scheduler::Current().TrySpawn(&SendOutbox, &calls, "outbox", sched::Joinable::kNo) !=
        nullptr;
    if (!calls.outbox_thread_running) ++calls.outbox_spawn_failures;
  }
  return SendStatus::kOk;
}

uint64_t QueuedReplies(uint32_t core) { return core_calls[core].queued_replies.Get(); }

uint64_t OutboxSpawnFailures(uint32_t core) {
  return core_calls[core].outbox_spawn_failures.Get();
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

Inbox* ReplyRings(uint32_t core) {
  return core < sched::kMaxCores ? core_calls[core].replies.load(std::memory_order_acquire)
                                 : nullptr;
}

uint64_t RepliesDrained(uint32_t core) { return core_calls[core].replies_drained.Get(); }

uint32_t StopServices(uint64_t deadline_ns, StoppedSink done, void* arg) {
  Scheduler& here = Scheduler::Current();
  uint32_t late = 0;
  for (uint16_t id = kMaxServicesPerCore - 1; id > kSchedServiceId; --id) {
    for (uint32_t core = 0; core < Scheduler::CoreCount(); ++core) {
      const Address address{static_cast<uint16_t>(core), id};
      const Service* service = Lookup(address);
      if (service == nullptr) continue;
      const uint64_t now = here.NowNs();
      ipc::Message message = ipc::MakeMessage(StopBody{}, 0, 0);
      StoppedBody stopped;
      if (now >= deadline_ns || Call(address, message, deadline_ns - now) != SendStatus::kOk ||
          !ipc::Decode(message, &stopped)) {
        ++late;
        continue;
      }
      done(arg, service->name(), stopped.error);
    }
  }
  return late;
}

}  // namespace uk::svc
