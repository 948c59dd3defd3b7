// Several cores as host threads, each running the real scheduler loop with
// a futex standing in for `hlt` + IPI, talking through the real services.

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "kernel/sched/host_platform.h"
#include "services/runtime/call.h"
#include "services/runtime/host_machine.h"
#include "services/runtime/request_service.h"
#include "services/runtime/sched_service.h"

namespace uk::svc {
namespace {

using sched::Scheduler;
using testing::Machine;

// A service that answers every message with its payload's first word + 1.
class AddOne final : public Service {
 public:
  AddOne() : Service("add-one", kFirstImageServiceId) {}

 private:
  void Handle(uint32_t, const ipc::Message& m) override {
    ipc::PingBody ping;
    if (!ipc::Decode(m, &ping)) return;
    Reply(m, ipc::MakeMessage(ipc::PongBody{ping.sequence + 1, ping.timestamp}, 0, 0));
  }
};

TEST(ServicesTest, PingEveryCore) {
  Machine machine(3);
  int answered = 0;
  machine.Run([&] {
    for (uint32_t core = 0; core < 3; ++core) answered += Ping(core) ? 1 : 0;
  });
  EXPECT_EQ(answered, 3);
}

TEST(ServicesTest, ManyCallsAllAnsweredInOrder) {
  Machine machine(2);
  AddOne* service = nullptr;
  uint64_t wrong = 0, calls = 0;
  machine.Run([&] {
    RemoteThread starter = SpawnOn(
        1, [](void* arg) { (*static_cast<AddOne**>(arg) = new AddOne)->Start(); }, &service,
        "starter");
    ASSERT_TRUE(Join(starter));
    for (uint64_t i = 0; i < 5000; ++i) {
      ipc::Message m = ipc::MakeMessage(ipc::PingBody{i, 0}, 0, 0);
      ASSERT_EQ(Call(service->address(), m), SendStatus::kOk);
      ipc::PongBody pong;
      if (!ipc::Decode(m, &pong) || pong.sequence != i + 1) ++wrong;
      ++calls;
    }
  });
  EXPECT_EQ(calls, 5000u);
  EXPECT_EQ(wrong, 0u);
  EXPECT_EQ(service->handled(), 5000u);
  EXPECT_EQ(service->inbox().stats(0).messages.Get(), 5000u);
  // Core 1 had nothing else to do between calls: it halted, and was woken.
  const auto& c1 = machine.sched(1).counters();
  EXPECT_EQ(c1.messages_out.Get(), 5000u + 2);  // replies, + spawn and join replies
}

TEST(ServicesTest, SpawnAndJoinOnEveryCore) {
  constexpr uint32_t kCores = 4;
  Machine machine(kCores);
  std::atomic<uint32_t> ran_on_mask{0};
  machine.Run([&] {
    RemoteThread threads[kCores];
    for (uint32_t core = 0; core < kCores; ++core) {
      threads[core] = SpawnOn(
          core,
          [](void* mask) {
            Scheduler::Current().SleepFor(1'000'000);
            static_cast<std::atomic<uint32_t>*>(mask)->fetch_or(1u << sched::CurrentCore());
          },
          &ran_on_mask, "worker");
      ASSERT_NE(threads[core].id, 0u);
    }
    for (auto& t : threads) EXPECT_TRUE(Join(t));
    EXPECT_EQ(ran_on_mask.load(), (1u << kCores) - 1);  // all done by the joins
    EXPECT_FALSE(Join(threads[1]));  // already joined: an error, not a crash
  });
  EXPECT_EQ(ran_on_mask.load(), (1u << kCores) - 1);
}

TEST(ServicesTest, BadRequestsGetErrorsNotCrashes) {
  Machine machine(2);
  machine.Run([&] {
    EXPECT_FALSE(Join(RemoteThread{1, 12345}));
    EXPECT_FALSE(SetIdlePolicyOn(1, static_cast<sched::IdlePolicy>(9)));
    EXPECT_TRUE(SetIdlePolicyOn(1, sched::IdlePolicy::kHalt));
    ipc::Message m = ipc::MakeMessage(ipc::PingBody{0, 0}, 0, 0);
    EXPECT_EQ(Call(Address{1, 9}, m), SendStatus::kNoService);
    EXPECT_EQ(Call(Address{200, 0}, m), SendStatus::kNoService);
    EXPECT_EQ(SpawnOn(7, [](void*) {}, nullptr, "x").id, 0u);
    ipc::Message odd{};
    odd.header.kind = static_cast<ipc::MessageKind>(0x7777);
    EXPECT_EQ(Call(Address{1, kSchedServiceId}, odd), SendStatus::kOk);
    RejectedBody rejected{};
    EXPECT_TRUE(ipc::Decode(odd, &rejected));  // a kind it does not serve: rejected, named
    EXPECT_EQ(rejected.kind, 0x7777);
  });
}

TEST(ServicesTest, CallTimesOutAndALateReplyIsDropped) {
  Machine machine(2);
  machine.Run([&] {
    // A thread on core 1 that hogs it (cooperatively: core 1's sched
    // service cannot run) until the call has timed out, so the answer is
    // late by construction, however slow the host or its clock.
    // Flags between the two cores' threads; the default seq_cst order is
    // more than enough for a flag that carries no data.
    static std::atomic<bool> hogging, release;
    hogging.store(false);
    release.store(false);
    RemoteThread hog = SpawnOn(
        1,
        [](void*) {
          hogging.store(true);
          while (!release.load()) {
          }
        },
        nullptr, "hog");
    while (!hogging.load()) Scheduler::Current().SleepFor(100'000);
    ipc::Message m = ipc::MakeMessage(ipc::PingBody{0, 0}, 0, 0);
    EXPECT_EQ(Call(Address{1, kSchedServiceId}, m, 1'000'000), SendStatus::kTimedOut);
    release.store(true);
    EXPECT_TRUE(Join(hog));
    EXPECT_TRUE(Ping(1));
  });
  EXPECT_EQ(StaleReplies(0), 1u);
}

TEST(ServicesTest, FullRingBlocksTheSenderUntilTheConsumerCatchesUp) {
  Machine machine(2);
  AddOne* service = nullptr;
  machine.Run([&] {
    RemoteThread starter = SpawnOn(
        1, [](void* arg) { (*static_cast<AddOne**>(arg) = new AddOne)->Start(); }, &service,
        "starter");
    ASSERT_TRUE(Join(starter));
    // Fire-and-forget sends, far more than the ring holds; replies go to a
    // core-0 sched service as stale replies (no caller waits for them).
    for (uint64_t i = 0; i < 10 * kInboxSlots; ++i) {
      ASSERT_EQ(Send(service->address(), ipc::MakeMessage(ipc::PingBody{i, 0}, 0, 0)),
                SendStatus::kOk);
    }
    EXPECT_TRUE(Ping(1));
  });
  EXPECT_EQ(service->handled(), 10 * kInboxSlots);
}

// Two cores ping each other's sched service from many threads at once, so
// each core's ring to the other fills with its own pings while its sched
// service wants to put replies into that same ring. A reply that blocked on
// the full ring would stop its service draining, and the two services would
// wait for each other forever; replies go to the outbox instead.
TEST(ServicesTest, RepliesNeverDeadlockOnFullRings) {
  constexpr int kPingersPerCore = 4 * kInboxSlots;
  constexpr uint64_t kGiveUpNs = 20'000'000'000;  // a deadlock, not slowness
  Machine machine(2);
  static std::atomic<int> answered{0}, unanswered{0};
  answered = 0;
  unanswered = 0;
  auto pinger = [](void* other_core) {
    if (Ping(static_cast<uint32_t>(reinterpret_cast<uintptr_t>(other_core)), kGiveUpNs)) {
      ++answered;
    } else {
      ++unanswered;
    }
  };
  machine.Run([&] {
    // Core 1's pingers are spawned by a thread on core 1 (SpawnOn of each
    // would make core 0 wait for every spawn).
    RemoteThread spawner = SpawnOn(
        1,
        [](void* fn) {
          for (int i = 0; i < kPingersPerCore; ++i) {
            Scheduler::Current().Spawn(reinterpret_cast<sched::ThreadEntry>(fn),
                                       reinterpret_cast<void*>(uintptr_t{0}), "pinger",
                                       sched::Joinable::kNo);
          }
        },
        reinterpret_cast<void*>(+pinger), "spawner");
    for (int i = 0; i < kPingersPerCore; ++i) {
      Scheduler::Current().Spawn(pinger, reinterpret_cast<void*>(uintptr_t{1}), "pinger",
                                 sched::Joinable::kNo);
    }
    ASSERT_TRUE(Join(spawner));
    while (answered.load() + unanswered.load() < 2 * kPingersPerCore) {
      Scheduler::Current().SleepFor(1'000'000);
    }
  });
  EXPECT_EQ(unanswered.load(), 0);
  EXPECT_EQ(answered.load(), 2 * kPingersPerCore);
  // Whether replies found their rings full here depends on timing (replies
  // have rings of their own, drained by the loop); the next test makes it
  // happen on purpose.
}

// Answers one request with kRepliesPerRequest replies (same id), then sets
// `done`: more replies than the caller core's reply ring holds.
constexpr uint32_t kRepliesPerRequest = kInboxSlots + 36;
class Flood final : public Service {
 public:
  Flood() : Service("flood", kFirstImageServiceId) {}
  std::atomic<bool> done{false};

 private:
  void Handle(uint32_t, const ipc::Message& m) override {
    for (uint32_t i = 0; i < kRepliesPerRequest; ++i) {
      EXPECT_EQ(Reply(m, ipc::MakeMessage(ipc::PongBody{i, 0}, 0, 0)), SendStatus::kOk);
    }
    done.store(true);
  }
};

TEST(ServicesTest, RepliesBeyondAFullReplyRingWaitInTheOutboxInOrder) {
  Machine machine(2);
  Flood* flood = nullptr;
  const uint64_t queued_before = QueuedReplies(1);
  const uint64_t stale_before = StaleReplies(0);
  machine.Run([&] {
    ASSERT_TRUE(RunOn(1, [&] { (flood = new Flood)->Start(); }));
    // A request as Call sends it, but nobody parks for the answer: every
    // reply is stale when it arrives, and counted.
    ipc::Message m = ipc::MakeMessage(ipc::PingBody{1, 0}, 0, 0);
    m.header.source = Address{0, kSchedServiceId}.Pack();
    m.header.request_id = 0xfeed;
    m.header.flags = ipc::kFlagWantsReply;
    ASSERT_EQ(Send(flood->address(), m), SendStatus::kOk);
    // Keep core 0's loop from draining its reply ring until every reply was
    // sent: this thread does not yield meanwhile.
    while (!flood->done.load()) {
    }
    while (StaleReplies(0) - stale_before < kRepliesPerRequest) {
      Scheduler::Current().SleepFor(100'000);
    }
  });
  // The ring took kInboxSlots; the rest waited in core 1's outbox.
  EXPECT_EQ(QueuedReplies(1) - queued_before, kRepliesPerRequest - kInboxSlots);
  EXPECT_EQ(StaleReplies(0) - stale_before, kRepliesPerRequest);
}

}  // namespace
}  // namespace uk::svc
