// Exhaustive check of the sleep/wake handshake (see handshake_model.h): the
// protocol as written never loses a wakeup, and each deliberately broken
// variant does, which shows the checker can fail.

#include "ipc/handshake_model.h"

#include <cstdio>
#include <string>

#include "gtest/gtest.h"

namespace uk::ipc::model {
namespace {

void Print(const Config& c, const Result& r) {
  std::printf("%-18s producers=%d messages=%d: states=%llu transitions=%llu "
              "final=%llu lost_wakeups=%llu stray_wakeup_steps=%llu\n",
              VariantName(c.variant), c.producers, c.messages_per_producer,
              (unsigned long long)r.states, (unsigned long long)r.transitions,
              (unsigned long long)r.final_states,
              (unsigned long long)r.lost_wakeups,
              (unsigned long long)r.stray_wakeups);
}

std::string Trace(const Result& r) {
  std::string out;
  for (const std::string& step : r.counterexample) out += "  " + step + "\n";
  return out;
}

struct Shape {
  int producers;
  int messages;
};
constexpr Shape kShapes[] = {{1, 1}, {1, 3}, {2, 2}, {3, 1}, {2, 3}};

TEST(HandshakeModelTest, CorrectProtocolNeverLosesAWakeup) {
  for (const Shape& shape : kShapes) {
    const Config config{Variant::kCorrect, shape.producers, shape.messages};
    const Result result = Explore(config);
    Print(config, result);
    EXPECT_EQ(result.lost_wakeups, 0u) << Trace(result);
    EXPECT_GT(result.final_states, 0u);
    // The search really branches (store buffers, interleavings).
    EXPECT_GT(result.states, 50u * shape.producers * shape.messages);
  }
}

TEST(HandshakeModelTest, CorrectProtocolCanWakeARunningConsumer) {
  // The one admitted imprecision (see wake.h): a producer that claimed an
  // announcement the consumer is cancelling. The model must reach it.
  const Result result = Explore({Variant::kCorrect, 1, 2});
  EXPECT_GT(result.stray_wakeups, 0u);
}

class BrokenHandshakeTest : public ::testing::TestWithParam<Variant> {};

TEST_P(BrokenHandshakeTest, CheckerFindsTheLostWakeup) {
  for (const Shape& shape : kShapes) {
    const Config config{GetParam(), shape.producers, shape.messages};
    const Result result = Explore(config);
    Print(config, result);
    EXPECT_GT(result.lost_wakeups, 0u);
    ASSERT_FALSE(result.counterexample.empty());
    if (shape.producers == 1 && shape.messages == 1) {
      std::printf("counterexample:\n%s", Trace(result).c_str());
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Variants, BrokenHandshakeTest,
                         ::testing::Values(Variant::kNoProducerFence,
                                           Variant::kNoConsumerFence,
                                           Variant::kNoRecheck,
                                           Variant::kWakeWithoutClaim),
                         [](const auto& info) {
                           return std::string(VariantName(info.param));
                         });

}  // namespace
}  // namespace uk::ipc::model
