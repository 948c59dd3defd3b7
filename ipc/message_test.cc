#include "ipc/message.h"

#include <cstddef>
#include <cstdint>

#include "gtest/gtest.h"

namespace uk::ipc {
namespace {

struct TooBig {
  static constexpr MessageKind kKind = MessageKind::kFirstServiceKind;
  std::uint8_t bytes[kPayloadBytes + 1];
};
struct NoKind {
  std::uint64_t x;
};
static_assert(!MessageBody<TooBig>, "a body must fit in the slot");
static_assert(!MessageBody<NoKind>, "a body must name its kind");

TEST(MessageTest, EncodeWritesHeaderBodyAndZeroPadding) {
  Message m;
  // Dirty the slot as an earlier lap of the ring would have.
  for (std::byte& b : m.payload) b = std::byte{0xAB};
  Encode(&m, PingBody{11, 22}, 5, 99, kFlagWantsReply);
  EXPECT_EQ(m.header.kind, MessageKind::kPing);
  EXPECT_EQ(m.header.source, 5u);
  EXPECT_EQ(m.header.request_id, 99u);
  EXPECT_EQ(m.header.flags, kFlagWantsReply);
  for (std::size_t i = sizeof(PingBody); i < kPayloadBytes; ++i) {
    EXPECT_EQ(m.payload[i], std::byte{0}) << "stale byte at " << i;
  }
  PingBody ping{};
  ASSERT_TRUE(Decode(m, &ping));
  EXPECT_EQ(ping.sequence, 11u);
  EXPECT_EQ(ping.timestamp, 22u);
}

TEST(MessageTest, DecodeRefusesOtherKinds) {
  const Message m = MakeMessage(PingBody{1, 2}, 0, 0);
  BufferTransferBody transfer{};
  EXPECT_FALSE(Decode(m, &transfer));
  Message zeroed{};
  PingBody ping{};
  EXPECT_EQ(zeroed.header.kind, MessageKind::kNone);
  EXPECT_FALSE(Decode(zeroed, &ping));
}

TEST(MessageTest, ReplyCarriesRequestIdAndFlag) {
  const Message request = MakeMessage(PingBody{3, 4}, 1, 0xDEADBEEF12345678ull,
                                      kFlagWantsReply);
  EXPECT_FALSE(IsReply(request));
  Message reply;
  EncodeReply(&reply, request, PongBody{3, 4}, 2);
  EXPECT_TRUE(IsReply(reply));
  EXPECT_EQ(reply.header.request_id, request.header.request_id);
  EXPECT_EQ(reply.header.source, 2u);
  PongBody pong{};
  ASSERT_TRUE(Decode(reply, &pong));
  EXPECT_EQ(pong.sequence, 3u);
}

TEST(MessageTest, BufferRefRoundTrips) {
  const BufferRef ref{0xFFFF800000123000ull, 1500, 3};
  const Message m = MakeMessage(BufferTransferBody{ref, 7, 0}, 3, 10);
  BufferTransferBody got{};
  ASSERT_TRUE(Decode(m, &got));
  EXPECT_EQ(got.buffer.address, ref.address);
  EXPECT_EQ(got.buffer.length, ref.length);
  EXPECT_EQ(got.buffer.owner, ref.owner);
  EXPECT_EQ(got.opcode, 7u);
  // The receiver sends the same reference home to be freed.
  const Message back = MakeMessage(BufferReturnBody{got.buffer, 0, 0}, 4, 10);
  BufferReturnBody ret{};
  ASSERT_TRUE(Decode(back, &ret));
  EXPECT_EQ(ret.buffer.owner, 3u);
  EXPECT_EQ(ret.status, 0);
}

}  // namespace
}  // namespace uk::ipc
