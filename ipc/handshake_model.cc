#include "ipc/handshake_model.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <vector>

namespace uk::ipc::model {
namespace {

// Variables: 0 = word, 1 + p = tail[p], then the consumer core's `pending`.
constexpr std::uint8_t kWordVar = 0;
constexpr std::uint8_t kPendingVar = 1 + kMaxProducers;
constexpr int kVars = 2 + kMaxProducers;

std::uint8_t TailVar(int producer) {
  return static_cast<std::uint8_t>(1 + producer);
}

// A thread's x86 store buffer: FIFO, drained to memory one store per step.
// A producer buffers at most one pass of tails. The consumer's core buffers
// a `pending = 0` per pass between two fences (one pass per message at
// most), its announce and clear, and two stores per interrupt.
template <int kCapacity>
struct StoreBuffer {
  std::uint8_t count;
  std::uint8_t var[kCapacity];
  std::uint8_t value[kCapacity];
};
using ProducerBuffer = StoreBuffer<kMaxMessages + 1>;
using ConsumerBuffer =
    StoreBuffer<kMaxProducers * kMaxMessages + 4 + 2 * kMaxInterrupts>;

enum ProducerPc : std::uint8_t {
  kPublish,  // tail = ++sent                       (store, buffered)
  kPFence,   // atomic_thread_fence(seq_cst)        (needs empty buffer)
  kCheck,    // r = word
  kClaim,    // if exchange(word, 0) == 1 -> kWake  (locked: empty buffer)
  kWake,     // seam.Wake                           (syscall/IPI: empty buffer)
  kPDone,
};

enum ConsumerPc : std::uint8_t {
  kDrain,     // take one item per non-empty ring; none anywhere -> idle
  kAnnounce,  // word = 1                            (store, buffered)
  kCFence,    // atomic_thread_fence(seq_cst)
  kRecheck,   // any ring non-empty?  yes -> kCancel, no -> kSleep
  kCancel,    // exchange(word, 0); next pass
  kSleep,     // futex_wait(word, 1) / cli; check; sti;hlt
  kAsleep,    // blocked until a producer's kWake or an interrupt
  kClear,     // word = 0                            (store, buffered)
  kCDone,     // every message received (only without interrupts)
  // With interrupts only:
  kPassStart,       // pending = 0 (buffered), then kDrain
  kArm,             // ArmDeadline (the timer is one of the interrupts)
  kRecheckPending,  // after the rings: pending?  yes -> kCancel
  kConsumerPcs,
};

// Only uint8_t members: no padding, so states compare and hash as bytes.
struct State {
  std::uint8_t memory[kVars];
  std::uint8_t producer_pc[kMaxProducers];
  std::uint8_t sent[kMaxProducers];
  ProducerBuffer producer_buffer[kMaxProducers];
  std::uint8_t consumer_pc;
  std::uint8_t scan;   // ring the consumer looks at next
  std::uint8_t found;  // this pass found an item
  std::uint8_t head[kMaxProducers];
  std::uint8_t interrupts;  // interrupts taken so far
  std::uint8_t unseen;      // ghost: an interrupt no pass started after
  std::uint8_t iret_drain;  // consumer waits for an empty buffer (IRET)
  ConsumerBuffer consumer_buffer;
};
static_assert(std::has_unique_object_representations_v<State>);

std::string Key(const State& s) {
  return std::string(reinterpret_cast<const char*>(&s), sizeof s);
}

template <int N>
void Store(StoreBuffer<N>& buffer, std::uint8_t var, std::uint8_t value) {
  if (buffer.count == N) {
    std::fprintf(stderr, "handshake_model: store buffer overflow\n");
    std::abort();
  }
  buffer.var[buffer.count] = var;
  buffer.value[buffer.count] = value;
  ++buffer.count;
}

// A load sees the thread's newest buffered store to `var`, else memory.
template <int N>
std::uint8_t Load(const State& s, const StoreBuffer<N>& buffer,
                  std::uint8_t var) {
  for (int i = buffer.count - 1; i >= 0; --i) {
    if (buffer.var[i] == var) return buffer.value[i];
  }
  return s.memory[var];
}

template <int N>
void Flush(State& s, StoreBuffer<N>& buffer) {
  s.memory[buffer.var[0]] = buffer.value[0];
  for (int i = 1; i < buffer.count; ++i) {
    buffer.var[i - 1] = buffer.var[i];
    buffer.value[i - 1] = buffer.value[i];
  }
  --buffer.count;
  buffer.var[buffer.count] = 0;
  buffer.value[buffer.count] = 0;
}

class Checker {
 public:
  explicit Checker(const Config& config) : c_(config) {}

  // Actors: producers 0..P-1, consumer P, then store buffers of producers
  // P+1..2P and of the consumer's core 2P+1, then (if any) the interrupts
  // on the consumer's core 2P+2.
  int Actors() const { return 2 * c_.producers + 2 + (c_.interrupts > 0); }
  int InterruptActor() const { return 2 * c_.producers + 2; }

  State Initial() const {
    State s{};
    s.consumer_pc = PassStart();
    return s;
  }

  // Applies actor `a`'s next step to *s; false if it has none enabled.
  bool Step(int a, State* s, bool* stray) const {
    const int n = c_.producers;
    if (a < n) return ProducerStep(a, s, stray);
    if (a == n) return ConsumerStep(s);
    if (a == InterruptActor()) return InterruptStep(s);
    if (a == 2 * n + 1) {
      if (s->consumer_buffer.count == 0) return false;
      Flush(*s, s->consumer_buffer);
      if (s->consumer_buffer.count == 0) s->iret_drain = 0;
      return true;
    }
    ProducerBuffer& buffer = s->producer_buffer[a - n - 1];
    if (buffer.count == 0) return false;
    Flush(*s, buffer);
    return true;
  }

  // A quiescent state the consumer must not be left in.
  bool Lost(const State& s) const {
    if (c_.interrupts == 0) return s.consumer_pc != kCDone;
    return !AllDelivered(s) || s.unseen;
  }

  std::string Describe(int a, const State& s) const;

 private:
  bool Is(Variant v) const { return c_.variant == v; }
  bool HasPendingFlag() const {
    return c_.interrupts > 0 && !Is(Variant::kOldInterruptOrder);
  }
  std::uint8_t PassStart() const {
    return c_.interrupts > 0 ? kPassStart : kDrain;
  }

  std::uint8_t NextMessage(const State& s, int p) const {
    return s.sent[p] == c_.messages_per_producer ? kPDone : kPublish;
  }

  bool ProducerStep(int p, State* s, bool* stray) const {
    ProducerBuffer& buffer = s->producer_buffer[p];
    std::uint8_t& pc = s->producer_pc[p];
    switch (pc) {
      case kPublish:
        Store(buffer, TailVar(p), ++s->sent[p]);
        pc = Is(Variant::kNoProducerFence) ? kCheck : kPFence;
        return true;
      case kPFence:
        if (buffer.count != 0) return false;
        pc = kCheck;
        return true;
      case kCheck:
        if (Load(*s, buffer, kWordVar) == 1) {
          pc = Is(Variant::kWakeWithoutClaim) ? kWake : kClaim;
        } else {
          pc = NextMessage(*s, p);
        }
        return true;
      case kClaim: {
        if (buffer.count != 0) return false;
        const std::uint8_t old = s->memory[kWordVar];
        s->memory[kWordVar] = 0;
        pc = old == 1 ? kWake : NextMessage(*s, p);
        return true;
      }
      case kWake:
        // The wake IPI's handler also sets word and pending, but on a
        // halted core the woken consumer's own clear and pass start follow
        // at once. A stray IPI, taken later, is one of the interrupts.
        if (buffer.count != 0) return false;
        if (s->consumer_pc == kAsleep) {
          s->consumer_pc = kClear;
        } else {
          *stray = true;
        }
        pc = NextMessage(*s, p);
        return true;
      default:
        return false;
    }
  }

  // The handler runs on the consumer's core between two of its steps (so as
  // one step: its stores are in the same buffer and nothing else of that
  // core runs meanwhile; their order does not matter, as only this core
  // reads `pending`). Taken while halted, it ends the halt.
  bool InterruptStep(State* s) const {
    if (s->interrupts == c_.interrupts) return false;
    ++s->interrupts;
    s->unseen = 1;
    if (HasPendingFlag()) Store(s->consumer_buffer, kPendingVar, 1);
    Store(s->consumer_buffer, kWordVar, 0);  // InterruptWake
    if (s->consumer_pc == kAsleep) s->consumer_pc = kClear;
    if (c_.interrupt_return == InterruptReturn::kDrainsBuffer) {
      s->iret_drain = 1;
    }
    return true;
  }

  bool AllDelivered(const State& s) const {
    for (int p = 0; p < c_.producers; ++p) {
      if (s.head[p] != c_.messages_per_producer) return false;
    }
    return true;
  }

  // Looks at ring `scan`; returns true when the pass over all rings ends.
  bool ScanRing(State* s) const {
    const int q = s->scan;
    if (Load(*s, s->consumer_buffer, TailVar(q)) > s->head[q]) s->found = 1;
    s->scan = static_cast<std::uint8_t>((q + 1) % c_.producers);
    return s->scan == 0;
  }

  bool ConsumerStep(State* s) const {
    ConsumerBuffer& buffer = s->consumer_buffer;
    if (s->iret_drain && buffer.count != 0) return false;
    std::uint8_t& pc = s->consumer_pc;
    switch (pc) {
      case kPassStart:
        if (HasPendingFlag()) Store(buffer, kPendingVar, 0);
        s->unseen = 0;
        pc = kDrain;
        return true;
      case kDrain: {
        const int q = s->scan;
        const bool item = Load(*s, buffer, TailVar(q)) > s->head[q];
        if (item) ++s->head[q];
        s->found |= item;
        s->scan = static_cast<std::uint8_t>((q + 1) % c_.producers);
        if (s->scan == 0) {
          if (c_.interrupts == 0 && AllDelivered(*s)) {
            pc = kCDone;
          } else if (!s->found) {
            pc = c_.interrupts > 0 ? kArm : kAnnounce;
          } else {
            pc = PassStart();
          }
          s->found = 0;
        }
        return true;
      }
      case kArm:
        pc = kAnnounce;
        return true;
      case kAnnounce:
        Store(buffer, kWordVar, 1);
        pc = Is(Variant::kNoConsumerFence) ? kRecheck : kCFence;
        return true;
      case kCFence:
        if (buffer.count != 0) return false;
        pc = Is(Variant::kNoRecheck) ? kSleep : kRecheck;
        return true;
      case kRecheck:
        if (ScanRing(s)) {
          if (s->found) {
            pc = kCancel;
          } else {
            pc = HasPendingFlag() ? kRecheckPending : kSleep;
          }
          s->found = 0;
        }
        return true;
      case kRecheckPending:
        pc = Load(*s, buffer, kPendingVar) == 1 ? kCancel : kSleep;
        return true;
      case kCancel:
        if (buffer.count != 0) return false;
        s->memory[kWordVar] = 0;
        pc = PassStart();
        return true;
      case kSleep:
        if (buffer.count != 0) return false;
        pc = s->memory[kWordVar] == 1 ? kAsleep : kClear;
        return true;
      case kClear:
        Store(buffer, kWordVar, 0);
        pc = PassStart();
        return true;
      default:
        return false;
    }
  }

  Config c_;
};

const char* ConsumerStepName(std::uint8_t pc) {
  switch (pc) {
    case kDrain: return "drain";
    case kAnnounce: return "announce";
    case kCFence: return "fence";
    case kRecheck: return "recheck";
    case kCancel: return "cancel";
    case kSleep: return "sleep";
    case kAsleep: return "asleep";
    case kClear: return "clear";
    case kCDone: return "done";
    case kPassStart: return "pass_start";
    case kArm: return "arm";
    case kRecheckPending: return "recheck_pending";
  }
  return "?";
}

std::string Checker::Describe(int a, const State& s) const {
  const int n = c_.producers;
  const auto num = [](int v) { return std::to_string(v); };
  if (a == InterruptActor()) {
    return std::string("IRQ on C's core before C's ") +
           ConsumerStepName(s.consumer_pc) + ": " +
           (HasPendingFlag() ? "pending = 1, " : "") + "word = 0 (buffered)" +
           (s.consumer_pc == kAsleep ? ", ends the halt" : "");
  }
  if (a > n) {
    const bool consumer = a == 2 * n + 1;
    const std::uint8_t var =
        consumer ? s.consumer_buffer.var[0]
                 : s.producer_buffer[a - n - 1].var[0];
    const std::uint8_t value =
        consumer ? s.consumer_buffer.value[0]
                 : s.producer_buffer[a - n - 1].value[0];
    const std::string name = var == kWordVar      ? "word"
                             : var == kPendingVar ? "pending"
                                                  : "tail" + num(var - 1);
    return (consumer ? std::string("C") : "P" + num(a - n - 1)) +
           " store buffer -> memory: " + name + " = " + num(value);
  }
  if (a < n) {
    const std::string who = "P" + num(a) + ": ";
    switch (s.producer_pc[a]) {
      case kPublish:
        return who + "publish tail" + num(a) + " = " + num(s.sent[a] + 1) +
               " (buffered)";
      case kPFence: return who + "fence";
      case kCheck: return who + "read word = " + num(s.memory[kWordVar]);
      case kClaim:
        return who + "exchange(word, 0) -> " + num(s.memory[kWordVar]);
      case kWake:
        return who + "wake (consumer " +
               (s.consumer_pc == kAsleep ? "asleep)" : "not asleep)");
    }
  }
  const int q = s.scan;
  const auto pending = [&] {
    return num(Load(s, s.consumer_buffer, kPendingVar));
  };
  switch (s.consumer_pc) {
    case kPassStart:
      return HasPendingFlag() ? "C: pass starts, pending = 0 (buffered)"
                              : "C: pass starts";
    case kDrain:
      return "C: drain tail" + num(q) + " = " + num(s.memory[TailVar(q)]) +
             " (consumed " + num(s.head[q]) + ")";
    case kArm: return "C: ArmDeadline (already armed: returns)";
    case kAnnounce: return "C: announce word = 1 (buffered)";
    case kCFence: return "C: fence";
    case kRecheck:
      return "C: re-check tail" + num(q) + " = " + num(s.memory[TailVar(q)]);
    case kRecheckPending: return "C: re-check pending = " + pending();
    case kCancel: return "C: cancel, exchange(word, 0)";
    case kSleep:
      return "C: sleep if word == 1 (word = " + num(s.memory[kWordVar]) + ")";
    case kClear: return "C: woken, word = 0 (buffered)";
  }
  return "?";
}

}  // namespace

const char* VariantName(Variant variant) {
  switch (variant) {
    case Variant::kCorrect: return "correct";
    case Variant::kNoProducerFence: return "no_producer_fence";
    case Variant::kNoConsumerFence: return "no_consumer_fence";
    case Variant::kNoRecheck: return "no_recheck";
    case Variant::kWakeWithoutClaim: return "wake_without_claim";
    case Variant::kOldInterruptOrder: return "old_interrupt_order";
  }
  return "?";
}

Result Explore(const Config& config) {
  Checker checker(config);
  Result result;
  std::vector<State> states;
  std::vector<std::uint32_t> parent;
  std::vector<std::uint8_t> actor;
  std::unordered_map<std::string, std::uint32_t> index;
  bool interrupted_before[kConsumerPcs] = {};

  const State initial = checker.Initial();
  states.push_back(initial);
  parent.push_back(0);
  actor.push_back(0);
  index.emplace(Key(initial), 0);

  std::int64_t first_lost = -1;
  for (std::size_t i = 0; i < states.size(); ++i) {
    bool quiescent = true;  // no step but the optional next interrupt
    for (int a = 0; a < checker.Actors(); ++a) {
      State next = states[i];
      bool stray = false;
      if (!checker.Step(a, &next, &stray)) continue;
      if (a == checker.InterruptActor()) {
        interrupted_before[states[i].consumer_pc] = true;
      } else {
        quiescent = false;
      }
      ++result.transitions;
      if (stray) ++result.stray_wakeups;
      auto [it, inserted] =
          index.emplace(Key(next), static_cast<std::uint32_t>(states.size()));
      if (inserted) {
        states.push_back(next);
        parent.push_back(static_cast<std::uint32_t>(i));
        actor.push_back(static_cast<std::uint8_t>(a));
      }
    }
    if (!quiescent) continue;
    ++result.final_states;
    if (checker.Lost(states[i])) {
      ++result.lost_wakeups;
      if (states[i].unseen) ++result.unseen_interrupts;
      if (first_lost < 0) first_lost = static_cast<std::int64_t>(i);
    }
  }
  result.states = states.size();
  for (int pc = 0; pc < kConsumerPcs; ++pc) {
    if (interrupted_before[pc]) {
      result.interrupted_before.push_back(ConsumerStepName(pc));
    }
  }

  if (first_lost >= 0) {
    std::vector<std::string> steps;
    for (std::size_t i = static_cast<std::size_t>(first_lost); i != 0;
         i = parent[i]) {
      steps.push_back(checker.Describe(actor[i], states[parent[i]]));
    }
    result.counterexample.assign(steps.rbegin(), steps.rend());
  }
  return result;
}

}  // namespace uk::ipc::model
