// The graceful shutdown's stop message (Service::Stop, StopServices): every
// started service but the sched services is asked, the highest id first,
// after what the asking core sent it before; each answer reaches the sink.
// A binary of its own: services started by other tests would still be
// registered here (the table is per process) with their cores gone.

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "services/runtime/call.h"
#include "services/runtime/host_machine.h"
#include "services/runtime/sched_service.h"
#include "services/runtime/service.h"

namespace uk::svc {
namespace {

using testing::Machine;

// Counts the messages it handles; Stop records how many came before it and
// answers with `error`.
class Counting final : public Service {
 public:
  Counting(const char* name, uint16_t id, int32_t error) : Service(name, id), error_(error) {}

  uint64_t seen = 0;
  uint64_t seen_at_stop = 0;
  int stops = 0;

 protected:
  int32_t Stop() override {
    seen_at_stop = seen;
    ++stops;
    return error_;
  }

 private:
  void Handle(uint32_t, const ipc::Message&) override {
    // Blocks a little now and then: a stop still waits its turn.
    if (++seen % 100 == 0) sched::Scheduler::Current().SleepFor(100'000);
  }

  const int32_t error_;
};

struct Started {
  Counting* low = nullptr;   // core 1, the first image id
  Counting* high = nullptr;  // core 0, the next one
};

TEST(StopTest, EveryServiceStopsAfterItsEarlierMessagesHighestIdFirst) {
  Machine machine(2);
  Started started;
  std::vector<std::string> order;
  std::vector<int32_t> errors;
  uint32_t late = 99;
  machine.Run([&] {
    ASSERT_TRUE(Join(SpawnOn(
        1,
        [](void* arg) {
          auto* s = static_cast<Started*>(arg);
          (s->low = new Counting("low", kFirstImageServiceId, 0))->Start();
        },
        &started, "start-low")));
    (started.high = new Counting("high", kFirstImageServiceId + 1, 7))->Start();
    for (uint32_t i = 0; i < 1000; ++i) {
      ASSERT_EQ(Send(started.low->address(), ipc::MakeMessage(ipc::PingBody{i, 0}, 0, 0)),
                SendStatus::kOk);
    }
    struct Sink {
      std::vector<std::string>* order;
      std::vector<int32_t>* errors;
    } sink{&order, &errors};
    late = StopServices(
        sched::Scheduler::Current().NowNs() + 60'000'000'000,
        [](void* arg, const char* name, int32_t error) {
          auto* s = static_cast<Sink*>(arg);
          s->order->push_back(name);
          s->errors->push_back(error);
        },
        &sink);
  });
  EXPECT_EQ(late, 0u);
  EXPECT_EQ(order, (std::vector<std::string>{"high", "low"}));
  EXPECT_EQ(errors, (std::vector<int32_t>{7, 0}));
  EXPECT_EQ(started.low->seen_at_stop, 1000u);
  EXPECT_EQ(started.low->stops, 1);
  EXPECT_EQ(started.high->stops, 1);
}

}  // namespace
}  // namespace uk::svc
