#pragma once
// Typed request/reply services: one message body per operation, a table
// from kind to handler, and the reply sent for the handler.
//
// A request body names its reply body (`using Reply = ...`), and both carry
// their kind (svc::Kind, registry.h). A service derives from
// RequestService<Self> and lists its handlers once, in Self::Routes():
//
//   std::span<const svc::Route<FsService>> FsService::Routes() {
//     static constexpr svc::Route<FsService> kRoutes[] = {
//         svc::On<&FsService::Open>(),  // HandleReply Open(const OpenRequest&)
//         svc::On<&FsService::Read>(),  // CountReply Read(const ReadRequest&)
//     };
//     return kRoutes;
//   }
//
// A handler either answers at once (returns the reply), or decides per
// request (`bool H(const Req&, const ipc::Message& request, Reply* reply)`:
// true sends *reply now; false means the service kept `request` and will
// answer later with svc::Reply, as the net service does for a blocking
// recv). The base decodes, dispatches, replies when the sender asked for a
// reply, and answers a kind it does not know with RejectedBody, counted.
// A service may also define `int32_t Refusal()`: non-zero answers every
// request with that error (its reply's `error` field) without a handler;
// and `void BeforeRequest()`, run before every handler (the net service
// brings lwIP's TCP clock up to date there). Both must be public: a private
// one would be silently skipped.
//
// The caller's side is CallService (call.h's Call with typed bodies).

#include <cstdint>
#include <span>
#include <type_traits>

#include "ipc/message.h"
#include "ipc/stat_counter.h"
#include "services/runtime/call.h"
#include "services/runtime/registry.h"
#include "services/runtime/service.h"

namespace uk::svc {

template <typename R>
concept RequestBody = ipc::MessageBody<R> && ipc::MessageBody<typename R::Reply>;

// The runtime's answer to a request of a kind the service does not serve.
struct RejectedBody {
  static constexpr ipc::MessageKind kKind = Kind(Registered("sched"), 0x1f);
  uint16_t kind;  // the request's kind
};

template <typename Service>
struct Route {
  ipc::MessageKind kind;
  void (*run)(Service& service, const ipc::Message& message);
};

namespace internal {

template <typename F>
struct Handler;
// Answers at once.
template <typename S, typename Req, typename Rep>
struct Handler<Rep (S::*)(const Req&)> {
  using Service = S;
  using Request = Req;
  static constexpr bool kMayDefer = false;
};
// Answers now (true) or later (false).
template <typename S, typename Req>
struct Handler<bool (S::*)(const Req&, const ipc::Message&, typename Req::Reply*)> {
  using Service = S;
  using Request = Req;
  static constexpr bool kMayDefer = true;
};

template <auto H>
void Run(typename Handler<decltype(H)>::Service& service, const ipc::Message& message) {
  using Req = typename Handler<decltype(H)>::Request;
  static_assert(RequestBody<Req>, "a request body needs kKind and a Reply body");
  Req request;
  ipc::Decode(message, &request);  // the route matched its kind
  typename Req::Reply reply{};
  // A service that cannot serve anything now (the fs service over a disk
  // that did not mount) says why in Refusal(); every request gets it.
  if constexpr (requires { service.Refusal(); }) {
    if (const auto refusal = service.Refusal(); refusal != 0) {
      reply.error = refusal;
      if (message.header.flags & ipc::kFlagWantsReply) {
        Reply(message, ipc::MakeMessage(reply, 0, 0));
      }
      return;
    }
  }
  if constexpr (requires { service.BeforeRequest(); }) service.BeforeRequest();
  if constexpr (Handler<decltype(H)>::kMayDefer) {
    if (!(service.*H)(request, message, &reply)) return;
  } else {
    reply = (service.*H)(request);
  }
  if (message.header.flags & ipc::kFlagWantsReply) Reply(message, ipc::MakeMessage(reply, 0, 0));
}

}  // namespace internal

template <auto H>
constexpr Route<typename internal::Handler<decltype(H)>::Service> On() {
  return {internal::Handler<decltype(H)>::Request::kKind, &internal::Run<H>};
}

template <typename Self>
class RequestService : public Service {
 public:
  uint64_t rejected() const { return rejected_.Get(); }

 protected:
  RequestService(const char* name, uint16_t id) : Service(name, id) {}

 private:
  void Handle(uint32_t, const ipc::Message& message) final {
    for (const Route<Self>& route : Self::Routes()) {
      if (route.kind == message.header.kind) {
        route.run(static_cast<Self&>(*this), message);
        return;
      }
    }
    rejected_.Add(1);
    if (message.header.flags & ipc::kFlagWantsReply) {
      Reply(message, ipc::MakeMessage(
                         RejectedBody{static_cast<uint16_t>(message.header.kind)}, 0, 0));
    }
  }

  ipc::StatCounter rejected_;
};

// Sends `request` to `to` and waits for its typed reply. kOk with *reply
// filled in; kRejected if the service does not serve that kind (or answered
// with another body); otherwise Call's status.
template <RequestBody Req>
SendStatus CallService(Address to, const Req& request, typename Req::Reply* reply,
                       uint64_t timeout_ns = kNoTimeout) {
  ipc::Message message = ipc::MakeMessage(request, 0, 0);
  const SendStatus status = Call(to, message, timeout_ns);
  if (status != SendStatus::kOk) return status;
  return ipc::Decode(message, reply) ? SendStatus::kOk : SendStatus::kRejected;
}

}  // namespace uk::svc
