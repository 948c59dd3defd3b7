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
// Interrupts (Config::interrupts > 0): up to that many interrupts (timer,
// device, wake IPI) are taken on the consumer's core, each before any step
// of the consumer: in its drain, between ArmDeadline and the announce,
// between announce and fence, fence and re-check, re-check and the
// `cli; check; sti;hlt` (one step: an interrupt that arrives with interrupts
// off stays pending and ends the halt at once), and while it is halted,
// which it ends. The handler runs on the consumer's core, so its stores go
// into the consumer's store buffer, behind the consumer's own. It sets
// `pending = 1` (an event the loop must see, like a ring becoming
// non-empty) and `word = kRunning` (Scheduler::InterruptWake). The consumer
// stores `pending = 0` at the start of every pass of its loop, before it
// looks for work, and its re-check after the fence reads the rings and
// `pending`. The re-check never sees an interrupt's work in the rings: a
// timer may fire before the clock says its deadline passed. IRET is
// serializing (SDM vol. 3A, "Serializing instructions"), interrupt delivery
// is not; by default the model does not drain the buffer at the end of a
// handler, which allows every behaviour a drain would and more.
//
// A lost wakeup is a quiescent state (no step enabled but the optional next
// interrupt) in which the consumer has not received every message, or has
// not started a pass of its loop since the last interrupt: it sleeps
// forever with work in a ring, or with an interrupt's event (a due timer, a
// device completion) unobserved.
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
  // The ordering before the pending flag: an interrupt sets only word =
  // running and the re-check looks only at the rings, so an interrupt taken
  // between ArmDeadline and the announce is overwritten by the announce.
  kOldInterruptOrder,
};

const char* VariantName(Variant variant);

// Whether the end of an interrupt handler (IRET) drains the core's store
// buffer before the interrupted code goes on.
enum class InterruptReturn {
  kKeepsBuffer,   // not relied upon: the stricter model (the default)
  kDrainsBuffer,  // IRET as the SDM describes it
};

struct Config {
  Variant variant = Variant::kCorrect;
  int producers = 2;              // 1..kMaxProducers
  int messages_per_producer = 2;  // 1..kMaxMessages
  int interrupts = 0;             // 0..kMaxInterrupts, on the consumer's core
  InterruptReturn interrupt_return = InterruptReturn::kKeepsBuffer;
};

inline constexpr int kMaxProducers = 3;
inline constexpr int kMaxMessages = 3;
inline constexpr int kMaxInterrupts = 2;

struct Result {
  std::uint64_t states = 0;             // distinct states reached
  std::uint64_t transitions = 0;        // steps explored
  std::uint64_t final_states = 0;       // quiescent states (see above)
  std::uint64_t lost_wakeups = 0;       // final states with work undelivered
  std::uint64_t unseen_interrupts = 0;  // ... of which an interrupt unseen
  std::uint64_t stray_wakeups = 0;      // wake steps aimed at a running consumer
  std::vector<std::string> counterexample;  // steps to the first lost wakeup
  // Consumer steps an interrupt was taken just before (e.g. "announce").
  std::vector<std::string> interrupted_before;
};

Result Explore(const Config& config);

}  // namespace uk::ipc::model
