#include "kernel/arch/power.h"

#include "kernel/arch/cpu.h"

namespace uk::arch {

void PowerOff(int status) {
  constexpr uint16_t kDebugExitPort = 0xf4;
  if (status < 0 || status > 126) status = 126;
  OutLong(kDebugExitPort, static_cast<uint32_t>(status + 1));
  // Without the device (a VM started by hand), there is nothing more to do.
  HaltForever();
}

}  // namespace uk::arch
