// Compiles the mailbox in every build (see spsc_ring.cc), with the message
// slot type the kernel uses.

#include "ipc/mailbox.h"

#include "ipc/message.h"

namespace uk::ipc {

template class Mailbox<Message, 64>;

namespace internal {

std::uint32_t CompileCheckMailbox(Mailbox<Message, 64>& mailbox,
                                  std::uint64_t* kinds) {
  const std::uint32_t n = mailbox.Drain(
      [kinds](std::uint32_t producer, const Message& m) {
        kinds[producer] += static_cast<std::uint16_t>(m.header.kind);
      },
      128);
  return n + (mailbox.AllEmpty() ? 1 : 0) + (mailbox.CheckCongestion() ? 2 : 0);
}

}  // namespace internal
}  // namespace uk::ipc
