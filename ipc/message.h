#pragma once

// Message: the typed, fixed-layout unit carried by message rings, one
// 64-byte cache line per ring slot.
//
//   byte  0..1   kind         MessageKind; selects the payload layout
//   byte  2..3   flags        kFlagReply / kFlagWantsReply
//   byte  4..7   source       sender's endpoint id (core or service), where a
//                             reply or a returned buffer must go
//   byte  8..15  request_id   chosen by the requester, copied into the reply
//   byte 16..63  payload      the body of `kind`, zero-padded
//
// Who writes which word:
//   - The producer writes all 64 bytes of a slot it owns (see spsc_ring.h),
//     normally in place via TryClaim() + Encode() + Commit(), then publishes.
//     Encode() writes every byte, so no stale data from an earlier lap leaks.
//   - The consumer only reads a slot, and only between its acquire of the
//     ring's tail and its release of the ring's head. It never writes a slot.
//     A reply is a new message on the reverse ring, never an edit in place.
//   - The header is not atomic and carries no "valid" bit: the ring's tail is
//     the only publication word.
//
// Bulk data (BufferRef) and who frees it:
//   - A BufferRef names bytes in a buffer owned by the core/pool `owner`.
//     Sending kBufferTransfer hands the bytes to the receiver: from the
//     publish on, the sender must not read or write them.
//   - The receiver never frees a buffer into its own allocator (allocators
//     are per core and cores share no mutable state). When done it sends
//     kBufferReturn with the same BufferRef to `owner`; the owner frees it.
//   - A message that fails to decode still owns its buffer: the receiver
//     returns it (with a non-zero status) so it cannot leak.
//
// New kinds: services define bodies with `static constexpr MessageKind kKind`
// at or above kFirstServiceKind; the MessageBody concept checks the rest.
//
// Portable: freestanding-safe headers only, no #ifdef.

#include <array>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "ipc/cache_line.h"

namespace uk::ipc {

enum class MessageKind : std::uint16_t {
  kNone = 0,            // never sent; a zeroed slot decodes as nothing
  kPing = 1,            // PingBody; answered with kPong
  kPong = 2,            // PingBody, echoed
  kBufferTransfer = 3,  // BufferTransferBody: ownership of bytes moves over
  kBufferReturn = 4,    // BufferReturnBody: bytes go home to be freed
  kFirstServiceKind = 0x100,
};

inline constexpr std::uint16_t kFlagReply = 1 << 0;      // answers request_id
inline constexpr std::uint16_t kFlagWantsReply = 1 << 1;  // sender awaits one

struct MessageHeader {
  MessageKind kind;
  std::uint16_t flags;
  std::uint32_t source;
  std::uint64_t request_id;
};
static_assert(sizeof(MessageHeader) == 16);
static_assert(std::is_trivially_copyable_v<MessageHeader>);

inline constexpr std::size_t kPayloadBytes =
    kCacheLineSize - sizeof(MessageHeader);

struct alignas(kCacheLineSize) Message {
  MessageHeader header;
  alignas(8) std::array<std::byte, kPayloadBytes> payload;
};
static_assert(sizeof(Message) == kCacheLineSize, "one slot = one cache line");
static_assert(alignof(Message) == kCacheLineSize);
static_assert(std::is_trivially_copyable_v<Message>);
static_assert(offsetof(Message, payload) == 16);

// A reference to bulk data in a shared buffer (see ownership rules above).
struct BufferRef {
  std::uint64_t address;  // kernel virtual address (one address space)
  std::uint32_t length;   // bytes valid from `address`
  std::uint32_t owner;    // endpoint whose allocator frees the buffer
};
static_assert(sizeof(BufferRef) == 16);

struct PingBody {
  static constexpr MessageKind kKind = MessageKind::kPing;
  std::uint64_t sequence;
  std::uint64_t timestamp;  // sender's clock (TSC in the kernel)
};

struct PongBody {
  static constexpr MessageKind kKind = MessageKind::kPong;
  std::uint64_t sequence;
  std::uint64_t timestamp;  // copied from the ping
};

struct BufferTransferBody {
  static constexpr MessageKind kKind = MessageKind::kBufferTransfer;
  BufferRef buffer;
  std::uint32_t opcode;  // what the receiver should do with the bytes
  std::uint32_t reserved;
};

struct BufferReturnBody {
  static constexpr MessageKind kKind = MessageKind::kBufferReturn;
  BufferRef buffer;
  std::int32_t status;  // 0 = processed; non-zero = rejected/undecodable
  std::uint32_t reserved;
};

template <typename B>
concept MessageBody = std::is_trivially_copyable_v<B> &&
                      sizeof(B) <= kPayloadBytes &&
                      alignof(B) <= 8 && requires {
                        { B::kKind } -> std::convertible_to<MessageKind>;
                      };

static_assert(MessageBody<PingBody>);
static_assert(MessageBody<PongBody>);
static_assert(MessageBody<BufferTransferBody>);
static_assert(MessageBody<BufferReturnBody>);

// Writes every byte of *slot: header, body, zero padding.
template <MessageBody B>
void Encode(Message* slot, const B& body, std::uint32_t source,
            std::uint64_t request_id, std::uint16_t flags = 0) {
  slot->header = MessageHeader{B::kKind, flags, source, request_id};
  slot->payload = {};
  // __builtin_memcpy: <cstring> is not freestanding; the size is a small
  // constant, so the compiler emits plain moves.
  __builtin_memcpy(slot->payload.data(), &body, sizeof(B));
}

template <MessageBody B>
Message MakeMessage(const B& body, std::uint32_t source,
                    std::uint64_t request_id, std::uint16_t flags = 0) {
  Message m;
  Encode(&m, body, source, request_id, flags);
  return m;
}

// Encodes a reply to `request` into *slot: same request_id, kFlagReply set.
template <MessageBody B>
void EncodeReply(Message* slot, const Message& request, const B& body,
                 std::uint32_t source) {
  Encode(slot, body, source, request.header.request_id, kFlagReply);
}

// Copies the body out if `message` is of B's kind; false otherwise (the
// caller then handles it as an unknown kind, returning any buffer it owns).
template <MessageBody B>
bool Decode(const Message& message, B* out) {
  if (message.header.kind != B::kKind) return false;
  __builtin_memcpy(out, message.payload.data(), sizeof(B));
  return true;
}

inline bool IsReply(const Message& message) {
  return (message.header.flags & kFlagReply) != 0;
}

}  // namespace uk::ipc
