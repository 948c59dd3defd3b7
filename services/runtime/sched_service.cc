#include "services/runtime/sched_service.h"

#include <new>

#include "services/runtime/call.h"

namespace uk::svc {
namespace {

using sched::Scheduler;

ipc::Message Status(int32_t status) {
  return ipc::MakeMessage(StatusBody{status}, 0, 0);
}

// A join waits in a thread of its own, so the sched service keeps serving.
struct JoinWaiter {
  sched::Thread* thread;
  ipc::Message request;
};

void WaitAndReply(void* arg) {
  auto* waiter = static_cast<JoinWaiter*>(arg);
  Scheduler::Current().Join(waiter->thread);
  Reply(waiter->request, Status(0));
  delete waiter;
}

}  // namespace

void SchedService::Handle(uint32_t, const ipc::Message& m) {
  Scheduler& sched = Scheduler::Current();
  if (ipc::IsReply(m)) {
    DeliverReply(m);
    return;
  }
  const bool wants_reply = (m.header.flags & ipc::kFlagWantsReply) != 0;
  ipc::PingBody ping;
  SpawnBody spawn;
  JoinBody join;
  PolicyBody policy;
  if (ipc::Decode(m, &ping)) {
    ++pings_;
    if (wants_reply) Reply(m, ipc::MakeMessage(ipc::PongBody{ping.sequence, ping.timestamp}, 0, 0));
  } else if (ipc::Decode(m, &spawn)) {
    // Out of memory for the thread: thread id 0, which SpawnOn reports.
    sched::Thread* t = sched.TrySpawn(reinterpret_cast<sched::ThreadEntry>(spawn.entry),
                                      reinterpret_cast<void*>(spawn.arg),
                                      reinterpret_cast<const char*>(spawn.name));
    if (wants_reply) Reply(m, ipc::MakeMessage(SpawnedBody{t != nullptr ? t->id : 0}, 0, 0));
  } else if (ipc::Decode(m, &join)) {
    sched::Thread* t = sched.FindJoinable(join.thread_id);
    if (t == nullptr || t->join_claimed) {
      if (wants_reply) Reply(m, Status(-1));
      return;
    }
    auto* waiter = new (std::nothrow) JoinWaiter{t, m};
    if (waiter == nullptr ||
        sched.TrySpawn(&WaitAndReply, waiter, "join", sched::Joinable::kNo) == nullptr) {
      delete waiter;  // out of memory: the join fails and may be asked again
      if (wants_reply) Reply(m, Status(-1));
      return;
    }
    t->join_claimed = true;
  } else if (ipc::Decode(m, &policy)) {
    if (policy.policy > static_cast<uint32_t>(sched::IdlePolicy::kHalt)) {
      if (wants_reply) Reply(m, Status(-1));
      return;
    }
    sched.SetIdlePolicy(static_cast<sched::IdlePolicy>(policy.policy));
    if (wants_reply) Reply(m, Status(0));
  } else {
    ++unknown_;
    if (wants_reply) Reply(m, Status(-1));
  }
}

void StartSchedService() {
  StartCallsOnThisCore();
  (new SchedService)->Start();
}

namespace {

Address SchedOn(uint32_t core) { return {static_cast<uint16_t>(core), kSchedServiceId}; }

int32_t CallForStatus(uint32_t core, ipc::Message m) {
  if (Call(SchedOn(core), m) != SendStatus::kOk) return -1;
  StatusBody status;
  return ipc::Decode(m, &status) ? status.status : -1;
}

}  // namespace

RemoteThread SpawnOn(uint32_t core, sched::ThreadEntry entry, void* arg, const char* name) {
  ipc::Message m = ipc::MakeMessage(
      SpawnBody{reinterpret_cast<uint64_t>(entry), reinterpret_cast<uint64_t>(arg),
                reinterpret_cast<uint64_t>(name)},
      0, 0);
  SpawnedBody spawned{0};
  if (Call(SchedOn(core), m) != SendStatus::kOk || !ipc::Decode(m, &spawned)) return {};
  return {core, spawned.thread_id};
}

bool Join(RemoteThread thread) {
  if (thread.id == 0) return false;
  return CallForStatus(thread.core, ipc::MakeMessage(JoinBody{thread.id}, 0, 0)) == 0;
}

bool SetIdlePolicyOn(uint32_t core, sched::IdlePolicy policy) {
  return CallForStatus(core, ipc::MakeMessage(PolicyBody{static_cast<uint32_t>(policy)}, 0, 0)) ==
         0;
}

bool Ping(uint32_t core, uint64_t timeout_ns) {
  ipc::Message m = ipc::MakeMessage(ipc::PingBody{0, 0}, 0, 0);
  ipc::PongBody pong;
  return Call(SchedOn(core), m, timeout_ns) == SendStatus::kOk && ipc::Decode(m, &pong);
}

}  // namespace uk::svc
