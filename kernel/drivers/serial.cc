#include "kernel/drivers/serial.h"

#include "kernel/arch/cpu.h"

namespace uk::serial {
namespace {

constexpr uint16_t kCom1 = 0x3f8;
constexpr uint16_t kData = 0, kInterruptEnable = 1, kFifoControl = 2,
                   kLineControl = 3, kModemControl = 4, kLineStatus = 5;
constexpr uint8_t kTransmitEmpty = 0x20;
// A real 16550 drains a byte in ~87 us at 115200 baud; QEMU's is instant.
// Bounding the wait keeps a missing or wedged UART from hanging the kernel.
constexpr int kMaxSpins = 100000;

void PutByte(uint8_t c) {
  for (int i = 0; i < kMaxSpins; ++i) {
    if (arch::InByte(kCom1 + kLineStatus) & kTransmitEmpty) break;
    arch::Pause();
  }
  arch::OutByte(kCom1 + kData, c);
}

}  // namespace

void Init() {
  arch::OutByte(kCom1 + kInterruptEnable, 0x00);  // polled: no interrupts
  arch::OutByte(kCom1 + kLineControl, 0x80);      // DLAB on
  arch::OutByte(kCom1 + kData, 0x01);             // divisor 1: 115200 baud
  arch::OutByte(kCom1 + kInterruptEnable, 0x00);
  arch::OutByte(kCom1 + kLineControl, 0x03);      // 8N1, DLAB off
  arch::OutByte(kCom1 + kFifoControl, 0xc7);      // FIFO on, cleared
  arch::OutByte(kCom1 + kModemControl, 0x03);     // DTR, RTS
}

void Write(std::string_view text) {
  for (char c : text) {
    if (c == '\n') PutByte('\r');
    PutByte(static_cast<uint8_t>(c));
  }
}

}  // namespace uk::serial
