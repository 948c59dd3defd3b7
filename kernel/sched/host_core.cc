#include "kernel/sched/host_core.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>

#include "kernel/sched/scheduler.h"

namespace uk::sched {
namespace {
thread_local uint32_t current_core = 0;

size_t PageSize() { return static_cast<size_t>(sysconf(_SC_PAGESIZE)); }

// The mapping: the guard page, then `size` rounded up to pages, with the
// stack at its top (as in the kernel, so its top is page-aligned).
size_t MappingSize(size_t size) {
  const size_t page = PageSize();
  return page + (size + page - 1) / page * page;
}
}  // namespace

uint32_t CurrentCore() { return current_core; }
void SetCurrentCoreForTest(uint32_t core) { current_core = core; }

void* MapGuardedStack(size_t size) {
  const size_t length = MappingSize(size);
  void* mapping = mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mapping == MAP_FAILED) return nullptr;
  if (mprotect(mapping, PageSize(), PROT_NONE) != 0) {
    munmap(mapping, length);
    return nullptr;
  }
  return static_cast<std::byte*>(mapping) + length - size;
}

void UnmapGuardedStack(void* stack, size_t size) {
  const size_t length = MappingSize(size);
  munmap(static_cast<std::byte*>(stack) + size - length, length);
}

}  // namespace uk::sched
