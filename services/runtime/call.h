#pragma once
// Request/reply over rings.
//
// Call() sends a request whose `source` names the calling core (its reply
// endpoint) and whose request_id is fresh for that core, then parks the
// calling thread. The callee answers with Reply(), a new message into the
// caller core's reply rings (one per producer core). The caller core's
// scheduler loop drains them itself (sched::LoopWork) and hands each reply
// to DeliverReply(), which finds the parked call by id, copies the reply
// into the caller's message and makes the caller runnable: one thread run
// per reply, the caller's. A reply nobody waits for any more (the call
// timed out) is counted and dropped.
//
// The pending calls of a core live on their callers' stacks, in a list only
// that core touches.
//
// Reply() never blocks. A handler that blocked on a full ring would stop
// draining its own inbox while it waits, and two handlers replying to each
// other's cores through full rings would wait for each other forever. So a
// reply that finds its ring full goes to the core's outbox, in order, and a
// short-lived thread ("outbox") sends the queue as the rings drain, then
// exits. The outbox is bounded by the calls outstanding against this core's
// services: each caller waits for one reply. Requests (Call, Send) may still
// block; no service handler makes one, so waits cannot form a cycle.

#include <cstdint>

#include "ipc/message.h"
#include "services/runtime/service.h"

namespace uk::svc {

inline constexpr uint64_t kNoTimeout = UINT64_MAX;

// Sends `message` and parks until the reply arrives (then `message` holds
// it) or `timeout_ns` passes (kTimedOut; a late reply is dropped).
SendStatus Call(Address to, ipc::Message& message, uint64_t timeout_ns = kNoTimeout);

// From a handler: sends `reply` to whoever sent `request`, with its id.
// Never blocks (see above): kOk once it is sent or queued, kNoService if
// nothing is at the reply address.
SendStatus Reply(const ipc::Message& request, ipc::Message reply);

// Replies queued in this core's outbox since boot (its rings were full).
uint64_t QueuedReplies(uint32_t core);
// Times this core's outbox found no memory for its sender thread; the
// replies stayed queued and the next Reply on the core sent or retried them.
uint64_t OutboxSpawnFailures(uint32_t core);

// On each core, before it serves calls (the kernel's runtime hook, host
// tests' Machine): builds the core's reply rings and gives its loop the
// work of draining them.
void StartCallsOnThisCore();

// From the loop: completes the pending call `reply` answers.
// Returns false for a stale or unknown reply.
bool DeliverReply(const ipc::Message& reply);

// Replies that arrived after their call gave up, on this core.
uint64_t StaleReplies(uint32_t core);

// For the counters: `core`'s reply rings (nullptr before it started), and
// the replies its loop drained from them.
Inbox* ReplyRings(uint32_t core);
uint64_t RepliesDrained(uint32_t core);

}  // namespace uk::svc
