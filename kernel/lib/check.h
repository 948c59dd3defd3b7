#pragma once
// CHECK(condition): an invariant that, broken, stops the program with the
// file, line and condition. Always on, in every build. FATAL("what") for a
// state that cannot go on. Portable: the same code checks in the kernel and
// in host tests; what "stop" means is the backend's, linked in beside it:
//   kernel: kernel/top/panic.cc, a panic (every core stops, a report and a
//           backtrace on the console, exit status 70);
//   host:   check_host.cc, a line on stderr and abort(), which gtest and
//           the sanitizers report with a stack.
// Use CHECK for the program's own mistakes only. Bad input (a packet, a
// request, a disk) gets an error code, never a CHECK.

namespace uk {

[[noreturn]] void CheckFailed(const char* file, int line, const char* condition);

}  // namespace uk

#define CHECK(condition) \
  ((condition) ? static_cast<void>(0) : ::uk::CheckFailed(__FILE__, __LINE__, #condition))
#define FATAL(what) ::uk::CheckFailed(__FILE__, __LINE__, what)
