#pragma once
// services/runtime/sched_service: the service every core runs (id 0). It is how one core
// asks another to do something to its threads, since a core's scheduler is
// touched by that core alone:
//
//   request          body            reply
//   kSpawn           SpawnBody       SpawnedBody (thread id, 0 on failure)
//   kJoin            JoinBody        StatusBody when the thread has exited
//   kSetIdlePolicy   PolicyBody      StatusBody
//   kPing            PingBody        PongBody (liveness, and ringbench)
//
// Replies do not pass through it: the core's loop drains them (call.h).
// It is a RequestService (request_service.h): kinds it does not serve are
// answered with RejectedBody if the sender wants a reply, and counted.

#include <cstdint>
#include <span>
#include <type_traits>

#include "ipc/message.h"
#include "kernel/sched/halt_poll.h"
#include "kernel/sched/scheduler.h"
#include "services/runtime/registry.h"
#include "services/runtime/request_service.h"
#include "services/runtime/service.h"

namespace uk::svc {

inline constexpr const Registration& kSched = Registered("sched");

struct SpawnedBody;
struct StatusBody;

struct SpawnBody {
  static constexpr auto kKind = Kind(kSched, 0);
  using Reply = SpawnedBody;
  uint64_t entry;  // sched::ThreadEntry
  uint64_t arg;
  uint64_t name;   // const char*, must outlive the thread
};
struct SpawnedBody {
  static constexpr auto kKind = Kind(kSched, 1);
  uint64_t thread_id;
};
struct JoinBody {
  static constexpr auto kKind = Kind(kSched, 2);
  using Reply = StatusBody;
  uint64_t thread_id;
};
struct PolicyBody {
  static constexpr auto kKind = Kind(kSched, 3);
  using Reply = StatusBody;
  uint32_t policy;  // sched::IdlePolicy
};
struct StatusBody {
  static constexpr auto kKind = Kind(kSched, 4);
  int32_t status;  // 0 = done
};

class SchedService final : public RequestService<SchedService> {
 public:
  SchedService() : RequestService("sched", kSchedServiceId) {}
  static std::span<const Route<SchedService>> Routes();

  uint64_t pings() const { return pings_.Get(); }

 private:
  SpawnedBody Spawn(const SpawnBody& request);
  // Answered when the thread has exited, by a waiter thread.
  bool Join(const JoinBody& request, const ipc::Message& message, StatusBody* reply);
  StatusBody SetPolicy(const PolicyBody& request);
  // ipc::PingBody names no reply type (ipc/ is below the runtime): its
  // route is written out.
  static void Pong(SchedService& self, const ipc::Message& message);

  ipc::StatCounter pings_;
};

// Starts this core's part of the runtime (once per core, at boot): its reply
// rings (call.h), then its sched service.
void StartSchedService();

// ---- Client side: any thread, any core ----

struct RemoteThread {
  uint32_t core = 0;
  uint64_t id = 0;  // 0: not created
};

// Creates a joinable thread on `core` running entry(arg).
RemoteThread SpawnOn(uint32_t core, sched::ThreadEntry entry, void* arg, const char* name);
// Waits until the thread has exited. False if there is no such thread.
bool Join(RemoteThread thread);
// Runs fn() on `core`, in a thread of its own, and waits until it returns:
// how a service is created and started on the core it will run on. False
// if the thread could not be created there.
template <typename Fn>
bool RunOn(uint32_t core, Fn&& fn, const char* name = "run-on") {
  auto entry = [](void* arg) { (*static_cast<std::remove_reference_t<Fn>*>(arg))(); };
  return Join(SpawnOn(core, entry, &fn, name));
}
bool SetIdlePolicyOn(uint32_t core, sched::IdlePolicy policy);
// Round trip to `core`'s sched service. False if it did not answer.
bool Ping(uint32_t core, uint64_t timeout_ns = UINT64_MAX);

}  // namespace uk::svc
