// A test image that crashes on purpose, to prove that a kernel fault gives a
// panic report and a non-zero exit status instead of a hang. The kernel
// command line picks the fault: fault=page (default), check, opcode.
// (Stack overflow is not here: kernel stacks have no guard pages yet, so an
// overflow corrupts memory below the stack instead of faulting.)

#include <cstdint>

#include "kernel/core/app.h"
#include "kernel/core/boot_info.h"
#include "kernel/core/log.h"
#include "kernel/core/panic.h"

namespace uk {
namespace {

// Below 4 GiB everything is identity-mapped; this lower-half address is not.
constexpr uintptr_t kUnmapped = 0x0000100000000000;

[[gnu::noinline]] void TouchUnmappedMemory() {
  *reinterpret_cast<volatile uint64_t*>(kUnmapped) = 42;
}

[[gnu::noinline]] void FailCheck(int value) { CHECK(value == 0); }

[[gnu::noinline]] void ExecuteInvalidOpcode() { asm volatile("ud2"); }

}  // namespace

int AppMain() {
  std::string_view fault = KernelCommandLine().Get("fault", "page");
  Print("fault test: causing a '%.*s' fault\n", static_cast<int>(fault.size()), fault.data());
  if (fault == "page") TouchUnmappedMemory();
  if (fault == "check") FailCheck(1);
  if (fault == "opcode") ExecuteInvalidOpcode();
  Print("fault test: unknown fault kind\n");
  return 1;
}

}  // namespace uk
