#pragma once
// 16550 UART on COM1. Output is polled; the log serializes writers
// (kernel/top/log.cc), so this driver keeps no state. Input raises ISA
// IRQ 4 once EnableReceiveInterrupt() ran (kernel/top/console.cc).

#include <cstdint>
#include <string_view>

namespace uk::serial {

inline constexpr uint8_t kIsaIrq = 4;

void Init();
void Write(std::string_view text);  // Translates "\n" into "\r\n".

void EnableReceiveInterrupt();
// One received byte, if any. Reading it acknowledges the interrupt.
bool ReadByte(uint8_t* byte);

}  // namespace uk::serial
