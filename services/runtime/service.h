#pragma once
// Services: threads bound to a core that serve messages from an inbox.
//
// A service has an address (core, service id) and an Inbox with one SPSC
// ring per producer core, so no two cores ever write the same ring word.
// Its thread waits on the inbox (the scheduler polls Ready(), i.e. "is any
// ring non-empty"), drains it in bounded batches and calls Handle() for
// each message. When a drain hits its budget with messages still waiting,
// the service tells its core's scheduler it is congested, which keeps the
// core polling instead of halting; it never says it is idle.
//
// Messages travel only by Send/TrySend/Call below. A send from core P to a
// service S on core C:
//   1. P's thread copies the 64-byte message into ring (P -> S) and
//      publishes it (release store of the tail);
//   2. P runs the producer half of the wake handshake on C's WakeWord: an
//      IPI only if C announced a halt (ipc/wake.h);
//   3. C's scheduler loop (or its halt re-check) sees the ring non-empty and
//      makes S's thread runnable; S drains and handles.
// A reply is a new message to the caller's core, into that core's reply
// rings, which its scheduler loop drains itself: the loop hands each reply
// to the parked caller by request id and makes it runnable (call.h), with
// no service thread in between.
//
// Batching: messages a service sends while handling its inbox are staged and
// published once per ring at the end of its turn (TryPushInto below), so a
// turn that answers 10 requests from one core makes one store to that ring's
// tail and at most one wake IPI.
//
// Rings are not shared between threads of one core in time: threads are
// cooperative and a send never yields halfway. Interrupt handlers must not
// send.
//
// Portable: runs in the kernel and in host tests (real threads as cores).

#include <cstddef>
#include <cstdint>

#include "ipc/mailbox.h"
#include "ipc/message.h"
#include "kernel/sched/scheduler.h"
#include "services/runtime/registry.h"

namespace uk::svc {

inline constexpr uint32_t kInboxSlots = 64;

struct Address {
  uint16_t core = 0;
  uint16_t service = 0;

  uint32_t Pack() const { return uint32_t{core} << 16 | service; }
  static Address Unpack(uint32_t packed) {
    return {static_cast<uint16_t>(packed >> 16), static_cast<uint16_t>(packed)};
  }
};

using Inbox = ipc::Mailbox<ipc::Message, kInboxSlots>;

class Service : public sched::WaitSource {
 public:
  // Messages handled per turn before the thread yields to others.
  static constexpr uint32_t kDrainBudget = 64;

  Service(const char* name, uint16_t id);
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;
  virtual ~Service() = default;  // never destroyed while started

  // On the core it will run on: registers the address and spawns the
  // thread. Producers can send as soon as Start returns.
  void Start();

  Address address() const { return address_; }
  const char* name() const { return name_; }
  Inbox& inbox() { return inbox_; }
  uint64_t handled() const { return handled_.Get(); }

  // What the thread waits for: a message. A service that also owns a device
  // widens it (and does the device's work in Poll()).
  bool Ready() override { return !inbox_.AllEmpty(); }

  // A line of the service's own figures for the console's `s` key and the
  // web server's status page ("net: ..."), no newline, into `out`; returns
  // its length, 0 for none (the default). Called from any core while the
  // service runs, so it may read only what is safe to read from there
  // (relaxed counters such as ipc::StatCounter).
  virtual size_t FormatStats(char* /*out*/, size_t /*size*/) const { return 0; }

 protected:
  // A graceful shutdown (StopServices below) asks each service to stop with
  // a StopBody message, which the runtime handles itself, in inbox order:
  // it runs after every message the asking core sent before it. The service
  // finishes or ends what it holds, flushes what it buffers and, from then
  // on, refuses requests that would change state it can no longer save
  // (the fs service: every write-side request). It may block. Returns 0 or
  // the service's own error code (logged by the caller). The default has
  // nothing to stop.
  virtual int32_t Stop() { return 0; }

  // Runs after every turn of draining the inbox (including an empty one when
  // Ready() was true for another reason): device and timer work.
  virtual void Poll() {}

  // One message from core `producer`. Runs on the service's thread and may
  // block (Send, Call, Sleep); other services of the core run meanwhile.
  virtual void Handle(uint32_t producer, const ipc::Message& message) = 0;

 private:
  static void Main(void* self);

  const char* const name_;
  Address address_;
  Inbox inbox_;
  ipc::StatCounter handled_;
};

// The runtime's stop message (Service::Stop) and its answer: the kinds
// at the top of the sched service's range, beside RejectedBody
// (request_service.h), because every service understands them.
struct StopBody {
  static constexpr ipc::MessageKind kKind = Kind(Registered("sched"), 0x1d);
  uint32_t unused = 0;
};
struct StoppedBody {
  static constexpr ipc::MessageKind kKind = Kind(Registered("sched"), 0x1e);
  int32_t error = 0;  // what Stop() returned
};

// A graceful shutdown's message to every started service but the sched
// services (the cores' own, needed until the end): from a thread that may
// block (the kernel's shutdown thread, kernel/top/shutdown.h). Services are
// asked one at a time, the highest id first, so an image's own services
// stop before the net service and the net service before the fs service,
// which thus sees the last writes; cores in order for each id. Each is
// waited for until `deadline_ns` (the scheduler clock); `done(arg, name,
// error)` is then called for each that answered (error: Stop()'s result),
// and the count of those that did not is returned.
using StoppedSink = void (*)(void* arg, const char* name, int32_t error);
uint32_t StopServices(uint64_t deadline_ns, StoppedSink done, void* arg);

// The service at `address`, or nullptr if none was started there.
Service* Lookup(Address address);
// Services started on `core` (their threads never exit).
uint32_t ServiceCount(uint32_t core);

enum class SendStatus : uint8_t {
  kOk,
  kWouldBlock,  // TrySend: the ring is full
  kNoService,   // nothing at that address
  kTimedOut,    // Call: no reply before the deadline
  kRejected,    // CallService: the service does not serve that request
};
const char* SendStatusName(SendStatus status);

// Non-blocking: kWouldBlock when the ring to `to` is full.
SendStatus TrySend(Address to, const ipc::Message& message);
// Blocks while the ring is full: the thread sleeps with a growing backoff
// (1 us to 1 ms) and retries, so a stuck consumer costs no CPU.
SendStatus Send(Address to, const ipc::Message& message);

// ---- The runtime's own plumbing (call.cc, the loop) ----

// Puts `message` into this core's ring of `inbox`, which core `core`
// consumes, and counts it. During a service's turn the message is only
// staged: written, not yet visible. PublishStaged makes every staged ring
// visible with one store each and wakes each consumer core at most once; it
// runs at the end of the turn and whenever the thread returns to the
// scheduler loop (so a handler that blocks publishes first). Outside a
// service's turn the message is published at once. kWouldBlock if full.
SendStatus TryPushInto(Inbox& inbox, uint32_t core, const ipc::Message& message);
void PublishStaged();
}  // namespace uk::svc
