#pragma once
// The application an image links in. The kernel calls AppMain once on every
// core, after all cores are up, with interrupts on; when it returns, the
// core halts until an interrupt arrives (forever, for now).

#include <cstdint>

namespace uk {

void AppMain(uint32_t cpu, uint32_t cpu_count);

}  // namespace uk
