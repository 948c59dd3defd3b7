// Compiles the message layer in every build (see spsc_ring.cc), including a
// message ring, which is what the kernel instantiates.

#include "ipc/message.h"

#include "ipc/spsc_ring.h"

namespace uk::ipc {

template class SpscRing<Message, 256>;

namespace internal {

// Encoding and decoding of every built-in kind, compiled freestanding.
bool CompileCheckMessages(const Message& in, Message* out) {
  PingBody ping;
  BufferTransferBody transfer;
  BufferReturnBody ret;
  if (Decode(in, &ping)) {
    EncodeReply(out, in, PongBody{ping.sequence, ping.timestamp}, 0);
    return true;
  }
  if (Decode(in, &transfer)) {
    Encode(out, BufferReturnBody{transfer.buffer, 0, 0}, 0, 0);
    return true;
  }
  return Decode(in, &ret);
}

}  // namespace internal

}  // namespace uk::ipc
