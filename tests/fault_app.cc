// A test image that crashes on purpose, to prove that a kernel fault gives a
// panic report and a non-zero exit status instead of a hang. The kernel
// command line picks the fault: fault=page (default), check, opcode, stack.

#include <cstdint>

#include "kernel/lib/log.h"
#include "kernel/lib/panic.h"
#include "kernel/sched/scheduler.h"
#include "kernel/top/app.h"

namespace uk {
namespace {

// Below 4 GiB everything is identity-mapped; this lower-half address is not.
constexpr uintptr_t kUnmapped = 0x0000100000000000;

[[gnu::noinline]] void TouchUnmappedMemory() {
  *reinterpret_cast<volatile uint64_t*>(kUnmapped) = 42;
}

[[gnu::noinline]] void FailCheck(int value) { CHECK(value == 0); }

[[gnu::noinline]] void ExecuteInvalidOpcode() { asm volatile("ud2"); }

// Never reached; keeps the compiler from calling the recursion infinite.
volatile uint64_t recursion_limit = UINT64_MAX;

// 512 bytes a frame until the thread runs off its stack into the guard page.
[[gnu::noinline]] uint64_t Recurse(uint64_t depth) {
  volatile uint8_t frame[512];
  frame[0] = static_cast<uint8_t>(depth);
  if (depth == recursion_limit) return frame[0];
  return Recurse(depth + 1) + frame[0];
}

void OverflowTheStack(void*) { Recurse(0); }

// On a thread of its own with a name the report must show.
void OverflowAThreadStack() {
  sched::Scheduler& scheduler = sched::Scheduler::Current();
  scheduler.Join(scheduler.Spawn(&OverflowTheStack, nullptr, "stack-hog"));
}

}  // namespace

int AppMain() {
  std::string_view fault = KernelCommandLine().Get("fault", "page");
  Print("fault test: causing a '%.*s' fault\n", static_cast<int>(fault.size()), fault.data());
  if (fault == "page") TouchUnmappedMemory();
  if (fault == "check") FailCheck(1);
  if (fault == "opcode") ExecuteInvalidOpcode();
  if (fault == "stack") OverflowAThreadStack();
  Print("fault test: unknown fault kind\n");
  return 1;
}

}  // namespace uk
