#pragma once

// An exhaustive model checker for the sleep/wake handshake of wake.h.
//
// The model runs an abstract version of WakeIfHalted (per producer) and
// SleepUnlessWork (one consumer) and explores every interleaving of their
// steps (a breadth-first search of the state graph, so no interleaving is
// missed and none is explored twice). Memory follows x86-TSO, the model of
// the machine the kernel runs on: each thread has a FIFO store buffer, a
// store enters the buffer and reaches memory at any later step, a load sees
// the thread's own newest buffered store first, and a fence, a locked
// exchange or a syscall/halt may only run with an empty buffer. Under plain
// sequential consistency a missing fence would go unnoticed; TSO is what
// makes the fences necessary.
//
// A lost wakeup is a final state (no step enabled) in which the consumer has
// not received every message: it sleeps forever with work in a ring.
//
// Variants remove one ingredient each; the checker must find a lost wakeup
// in every broken variant (so it is shown able to fail) and none in kCorrect.
//
// Host only (test support).

#include <cstdint>
#include <string>
#include <vector>

namespace uk::ipc::model {

enum class Variant {
  kCorrect,
  kNoProducerFence,   // publish, then read the word without a fence
  kNoConsumerFence,   // announce, then re-check without a fence
  kNoRecheck,         // announce and sleep without re-checking the rings
  kWakeWithoutClaim,  // producer wakes without setting the word to running
};

const char* VariantName(Variant variant);

struct Config {
  Variant variant = Variant::kCorrect;
  int producers = 2;              // 1..kMaxProducers
  int messages_per_producer = 2;  // 1..kMaxMessages
};

inline constexpr int kMaxProducers = 3;
inline constexpr int kMaxMessages = 3;

struct Result {
  std::uint64_t states = 0;             // distinct states reached
  std::uint64_t transitions = 0;        // steps explored
  std::uint64_t final_states = 0;       // states with no enabled step
  std::uint64_t lost_wakeups = 0;       // final states with work undelivered
  std::uint64_t stray_wakeups = 0;      // wake steps aimed at a running consumer
  std::vector<std::string> counterexample;  // steps to the first lost wakeup
};

Result Explore(const Config& config);

}  // namespace uk::ipc::model
