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

std::span<const Route<SchedService>> SchedService::Routes() {
  static constexpr Route<SchedService> kRoutes[] = {
      On<&SchedService::Spawn>(),
      On<&SchedService::Join>(),
      On<&SchedService::SetPolicy>(),
      {ipc::MessageKind::kPing, &SchedService::Pong},
  };
  return kRoutes;
}

SpawnedBody SchedService::Spawn(const SpawnBody& request) {
  // Out of memory for the thread: thread id 0, which SpawnOn reports.
  sched::Thread* t = Scheduler::Current().TrySpawn(
      reinterpret_cast<sched::ThreadEntry>(request.entry), reinterpret_cast<void*>(request.arg),
      reinterpret_cast<const char*>(request.name));
  return {t != nullptr ? t->id : 0};
}

bool SchedService::Join(const JoinBody& request, const ipc::Message& message, StatusBody* reply) {
  Scheduler& sched = Scheduler::Current();
  sched::Thread* t = sched.FindJoinable(request.thread_id);
  if (t == nullptr || t->join_claimed) {
    *reply = {-1};
    return true;
  }
  auto* waiter = new (std::nothrow) JoinWaiter{t, message};
  if (waiter == nullptr ||
      sched.TrySpawn(&WaitAndReply, waiter, "join", sched::Joinable::kNo) == nullptr) {
    delete waiter;  // out of memory: the join fails and may be asked again
    *reply = {-1};
    return true;
  }
  t->join_claimed = true;
  return false;  // WaitAndReply answers
}

StatusBody SchedService::SetPolicy(const PolicyBody& request) {
  if (request.policy > static_cast<uint32_t>(sched::IdlePolicy::kHalt)) return {-1};
  Scheduler::Current().SetIdlePolicy(static_cast<sched::IdlePolicy>(request.policy));
  return {0};
}

void SchedService::Pong(SchedService& self, const ipc::Message& message) {
  ipc::PingBody ping;
  ipc::Decode(message, &ping);  // the route matched its kind
  ++self.pings_;
  if (message.header.flags & ipc::kFlagWantsReply) {
    Reply(message, ipc::MakeMessage(ipc::PongBody{ping.sequence, ping.timestamp}, 0, 0));
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
