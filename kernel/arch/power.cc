#include "kernel/arch/power.h"

#include "kernel/arch/cpu.h"
#include "kernel/arch/paging.h"

namespace uk::arch {
namespace {

PowerControls controls;
bool have_controls = false;

// ACPI S5: SLP_TYP and SLP_EN. Returns only if the platform ignored it.
void EnterS5() {
  if (!have_controls || !controls.s5_known) return;
  constexpr uint16_t kSleepEnable = 1u << 13;      // PM1_CNT.SLP_EN
  constexpr uint8_t kReducedSleepEnable = 1u << 5;  // SLEEP_CONTROL_REG.SLP_EN
  if (controls.hardware_reduced) {
    if (controls.sleep_control == 0 || controls.sleep_control >= kDirectMapLimit) return;
    *PhysToVirt<volatile uint8_t>(controls.sleep_control) =
        static_cast<uint8_t>(((controls.s5_sleep_type & 7) << 2) | kReducedSleepEnable);
  } else if (controls.pm1a_control != 0) {
    const uint16_t value = InWord(controls.pm1a_control) & ~(7u << 10);
    OutWord(controls.pm1a_control,
            static_cast<uint16_t>(value | ((controls.s5_sleep_type & 7) << 10) | kSleepEnable));
  }
}

}  // namespace

const PowerControls& GetPowerControls() { return controls; }

void SetPowerControls(const PowerControls& power) {
  controls = power;
  have_controls = true;
}

void PowerOff(int status) {
  constexpr uint16_t kDebugExitPort = 0xf4;
  if (status < 0 || status > 126) status = 126;
  OutLong(kDebugExitPort, static_cast<uint32_t>(status + 1));
  // No debug-exit device (an engine, not the runner): switch off through ACPI.
  EnterS5();
  HaltForever();
}

}  // namespace uk::arch
