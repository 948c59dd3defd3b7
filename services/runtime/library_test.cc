// The service library: handle tables, the registry's kinds, typed
// request/reply services with deferred answers, RunOn.

#include <cstdint>
#include <memory>
#include <utility>

#include "gtest/gtest.h"
#include "services/runtime/handle_table.h"
#include "services/runtime/host_machine.h"
#include "services/runtime/registry.h"
#include "services/runtime/request_service.h"
#include "services/runtime/sched_service.h"

namespace uk::svc {
namespace {

TEST(HandleTableTest, StaleHandlesAreRefusedAndZeroIsNeverIssued) {
  HandleTable<int, 3> table;
  uint32_t a = 0, b = 0, c = 0, d = 0;
  ASSERT_NE(table.Open(&a), nullptr);
  ASSERT_NE(table.Open(&b), nullptr);
  ASSERT_NE(table.Open(&c), nullptr);
  EXPECT_EQ(table.Open(&d), nullptr);  // full
  EXPECT_EQ(table.open(), 3u);
  EXPECT_NE(a, 0u);
  *table.Find(b) = 7;
  EXPECT_EQ(*table.Find(b), 7);
  EXPECT_TRUE(table.Close(b));
  EXPECT_FALSE(table.Close(b));  // twice
  EXPECT_EQ(table.Find(b), nullptr);
  int* reused = table.Open(&d);
  ASSERT_NE(reused, nullptr);
  EXPECT_EQ(*reused, 0);        // value-initialized again
  EXPECT_NE(d, b);              // same slot, new generation
  EXPECT_EQ(table.Find(b), nullptr);
  EXPECT_EQ(table.Find(d), reused);
  EXPECT_EQ(table.Find(0), nullptr);
  EXPECT_EQ(table.Find(0xffffffffu), nullptr);
}

TEST(HandleTableTest, GenerationsWrapWithoutIssuingZero) {
  // The largest table leaves the fewest generation bits (12): slot 0 wraps
  // after 4,095 closes.
  using Table = HandleTable<uint8_t, 1u << 20>;
  static_assert(Table::kGenerationMask == 4095);
  auto table_memory = std::make_unique<Table>();
  Table& table = *table_memory;
  uint32_t handle = 0;
  for (uint32_t i = 0; i < Table::kGenerationMask + 5; ++i) {
    ASSERT_NE(table.Open(&handle), nullptr);
    ASSERT_NE(handle, 0u) << "after " << i << " closes";
    ASSERT_TRUE(table.Close(handle));
  }
}

TEST(RegistryTest, KindsStayInsideTheirServicesRange) {
  constexpr const Registration& sched = Registered("sched");
  EXPECT_EQ(sched.id, kSchedServiceId);
  EXPECT_EQ(static_cast<uint16_t>(Kind(sched, 0)), sched.first_kind);
  EXPECT_EQ(static_cast<uint16_t>(Kind(sched, sched.kinds - 1)), sched.first_kind + sched.kinds - 1);
  // Kind(sched, sched.kinds) or Registered("nope") would not compile.
  for (const Registration& a : kRegistry) {
    for (const Registration& b : kRegistry) {
      if (&a == &b) continue;
      EXPECT_NE(a.id, b.id);
      EXPECT_TRUE(a.first_kind + a.kinds <= b.first_kind || b.first_kind + b.kinds <= a.first_kind)
          << a.name << " and " << b.name;
    }
  }
}

constexpr const Registration& kImage = Registered("image");

struct SumReply {
  static constexpr ipc::MessageKind kKind = Kind(kImage, 0);
  int32_t error;
  uint64_t sum;
};
struct SumRequest {
  static constexpr ipc::MessageKind kKind = Kind(kImage, 1);
  using Reply = SumReply;
  uint64_t a, b;
};
// Answered only once a later Release arrives: a deferred reply.
struct HoldReply {
  static constexpr ipc::MessageKind kKind = Kind(kImage, 2);
  int32_t error;
  uint64_t order;
};
struct HoldRequest {
  static constexpr ipc::MessageKind kKind = Kind(kImage, 3);
  using Reply = HoldReply;
  uint64_t unused;
};
struct ReleaseRequest {
  static constexpr ipc::MessageKind kKind = Kind(kImage, 4);
  using Reply = HoldReply;
  uint64_t unused;
};
struct UnservedRequest {
  static constexpr ipc::MessageKind kKind = Kind(kImage, 5);
  using Reply = SumReply;
  uint64_t unused;
};

class Adder final : public RequestService<Adder> {
 public:
  Adder() : RequestService("adder", kFirstImageServiceId) {}
  static std::span<const Route<Adder>> Routes();
  // Counts the requests that reached a handler.
  void BeforeRequest() { ++before_request_; }
  uint64_t before_request() const { return before_request_; }

 private:
  SumReply Sum(const SumRequest& r) { return {0, r.a + r.b}; }
  bool Hold(const HoldRequest&, const ipc::Message& message, HoldReply*) {
    held_ = message;
    return false;  // answered by Release
  }
  HoldReply Release(const ReleaseRequest&) {
    Reply(held_, ipc::MakeMessage(HoldReply{0, ++order_}, 0, 0));
    return {0, ++order_};
  }

  ipc::Message held_{};
  uint64_t order_ = 0;
  uint64_t before_request_ = 0;
};
std::span<const Route<Adder>> Adder::Routes() {
  static constexpr Route<Adder> kRoutes[] = {
      On<&Adder::Sum>(),
      On<&Adder::Hold>(),
      On<&Adder::Release>(),
  };
  return kRoutes;
}

TEST(RequestServiceTest, DispatchesByKindDefersAndRejects) {
  testing::Machine machine(2);
  Adder* adder = nullptr;
  SendStatus sum_status{}, unserved_status{}, hold_status{}, release_status{};
  SumReply sum{};
  HoldReply held{}, released{};
  machine.Run([&] {
    ASSERT_TRUE(RunOn(1, [&] { (adder = new Adder)->Start(); }));
    sum_status = CallService(adder->address(), SumRequest{40, 2}, &sum);
    SumReply ignored{};
    unserved_status = CallService(adder->address(), UnservedRequest{}, &ignored);
    // The hold waits in a thread of its own until the release answers it.
    RemoteThread holder = SpawnOn(
        0,
        [](void* arg) {
          std::unique_ptr<std::pair<Adder*, std::pair<SendStatus*, HoldReply*>>> out(
              static_cast<std::pair<Adder*, std::pair<SendStatus*, HoldReply*>>*>(arg));
          *out->second.first = CallService(out->first->address(), HoldRequest{}, out->second.second);
        },
        new std::pair<Adder*, std::pair<SendStatus*, HoldReply*>>(adder, {&hold_status, &held}),
        "holder");
    while (adder->handled() < 3) sched::Scheduler::Current().SleepFor(100'000);
    release_status = CallService(adder->address(), ReleaseRequest{}, &released);
    ASSERT_TRUE(Join(holder));
  });
  EXPECT_EQ(sum_status, SendStatus::kOk);
  EXPECT_EQ(sum.sum, 42u);
  EXPECT_EQ(unserved_status, SendStatus::kRejected);
  EXPECT_EQ(adder->rejected(), 1u);
  EXPECT_EQ(adder->before_request(), 3u);  // sum, hold, release; not the rejected one
  EXPECT_EQ(hold_status, SendStatus::kOk);
  EXPECT_EQ(held.order, 1u);  // answered inside Release, before Release's own reply
  EXPECT_EQ(release_status, SendStatus::kOk);
  EXPECT_EQ(released.order, 2u);
}

}  // namespace
}  // namespace uk::svc
