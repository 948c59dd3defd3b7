#include "kernel/drivers/serial.h"

#include "kernel/arch/cpu.h"

namespace uk::serial {
namespace {

constexpr uint16_t kCom1 = 0x3f8;
constexpr uint16_t kData = 0, kInterruptEnable = 1, kFifoControl = 2,
                   kLineControl = 3, kModemControl = 4, kLineStatus = 5;
constexpr uint8_t kDataReady = 0x01, kTransmitEmpty = 0x20;
constexpr uint8_t kReceiveInterrupt = 0x01;
constexpr uint8_t kDtrRts = 0x03, kOut2 = 0x08;  // OUT2 gates the IRQ line on PCs
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
  arch::OutByte(kCom1 + kModemControl, kDtrRts);
}

void EnableReceiveInterrupt() {
  arch::OutByte(kCom1 + kModemControl, kDtrRts | kOut2);
  arch::OutByte(kCom1 + kInterruptEnable, kReceiveInterrupt);
}

bool ReadByte(uint8_t* byte) {
  if ((arch::InByte(kCom1 + kLineStatus) & kDataReady) == 0) return false;
  *byte = arch::InByte(kCom1 + kData);
  return true;
}

void Write(std::string_view text) {
  for (char c : text) {
    if (c == '\n') PutByte('\r');
    PutByte(static_cast<uint8_t>(c));
  }
}

}  // namespace uk::serial
