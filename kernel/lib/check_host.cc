// CHECK's host backend (check.h): report and abort.

#include <cstdio>
#include <cstdlib>

#include "kernel/lib/check.h"

namespace uk {

void CheckFailed(const char* file, int line, const char* condition) {
  std::fprintf(stderr, "%s:%d: CHECK failed: %s\n", file, line, condition);
  std::abort();
}

}  // namespace uk
