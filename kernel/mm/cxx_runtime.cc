// The little C and C++ runtime a freestanding kernel needs: the memory
// functions GCC may call on its own, operator new/delete on the kernel heap,
// and the hooks the C++ ABI expects. Nothing here throws.

#include <cstddef>
#include <cstdint>
#include <new>

#include "kernel/lib/panic.h"
#include "kernel/mm/heap.h"

extern "C" {

// memcpy and memset go eight bytes a step, then byte by byte for the rest.
// On hardware `rep movsb` alone is as fast (fast strings), but an emulator
// (QEMU's TCG) runs a `rep` instruction one element at a time: a page takes
// 512 steps instead of 4,096.
void* memcpy(void* dst, const void* src, size_t n) {
  void* start = dst;  // rep movs advances %rdi; callers rely on the original
  size_t words = n / 8, rest = n % 8;
  asm volatile("rep movsq" : "+D"(dst), "+S"(src), "+c"(words)::"memory");
  asm volatile("rep movsb" : "+D"(dst), "+S"(src), "+c"(rest)::"memory");
  return start;
}

void* memmove(void* dst, const void* src, size_t n) {
  auto* d = static_cast<uint8_t*>(dst);
  auto* s = static_cast<const uint8_t*>(src);
  if (d <= s || d >= s + n) {
    for (size_t i = 0; i < n; ++i) d[i] = s[i];
  } else {
    for (size_t i = n; i > 0; --i) d[i - 1] = s[i - 1];
  }
  return dst;
}

void* memset(void* dst, int value, size_t n) {
  void* start = dst;
  const uint64_t pattern = 0x0101010101010101ull * static_cast<uint8_t>(value);
  size_t words = n / 8, rest = n % 8;
  asm volatile("rep stosq" : "+D"(dst), "+c"(words) : "a"(pattern) : "memory");
  asm volatile("rep stosb" : "+D"(dst), "+c"(rest) : "a"(pattern) : "memory");
  return start;
}

int memcmp(const void* a, const void* b, size_t n) {
  auto* x = static_cast<const uint8_t*>(a);
  auto* y = static_cast<const uint8_t*>(b);
  for (size_t i = 0; i < n; ++i) {
    if (x[i] != y[i]) return x[i] < y[i] ? -1 : 1;
  }
  return 0;
}

void* memchr(const void* s, int c, size_t n) {
  auto* p = static_cast<const uint8_t*>(s);
  for (size_t i = 0; i < n; ++i) {
    if (p[i] == static_cast<uint8_t>(c)) return const_cast<uint8_t*>(p + i);
  }
  return nullptr;
}

size_t strlen(const char* s) {
  size_t n = 0;
  while (s[n] != '\0') ++n;
  return n;
}

void __cxa_pure_virtual() { uk::Panic("pure virtual function called"); }

// The kernel never exits, so static destructors never run.
int atexit(void (*)()) { return 0; }

}  // extern "C"

// libstdc++'s header-only parts (string_view, array) report misuse through
// these; without exceptions, misuse is a kernel bug.
namespace std {
[[noreturn]] void __throw_out_of_range_fmt(const char* format, ...) {
  uk::Panic("std: out of range: %s", format);
}
[[noreturn]] void __throw_out_of_range(const char* what) { uk::Panic("std: %s", what); }
[[noreturn]] void __throw_length_error(const char* what) { uk::Panic("std: %s", what); }
[[noreturn]] void __throw_bad_alloc() { uk::Panic("std: bad_alloc"); }
// The tag of `new (std::nothrow) T`, which answers nullptr when the heap is
// out of memory instead of panicking.
const nothrow_t nothrow{};
}  // namespace std

namespace {

void* AllocateOrPanic(size_t size) {
  void* block = uk::Allocate(size);
  if (block == nullptr) uk::Panic("out of memory allocating %zu bytes", size);
  return block;
}

}  // namespace

void* operator new(size_t size) { return AllocateOrPanic(size); }
void* operator new[](size_t size) { return AllocateOrPanic(size); }
void* operator new(size_t size, std::align_val_t align) {
  // Small blocks of size class S sit at multiples of S, large blocks at 128
  // bytes past a page: asking for at least `align` bytes is enough up to 128
  // bytes for large blocks and up to kMaxSmallSize for small ones.
  size_t a = static_cast<size_t>(align);
  if (a > 128 && size > uk::kMaxSmallSize) uk::Panic("alignment %zu not supported", a);
  return AllocateOrPanic(size < a ? a : size);
}
void* operator new[](size_t size, std::align_val_t align) { return operator new(size, align); }
void* operator new(size_t size, const std::nothrow_t&) noexcept { return uk::Allocate(size); }
void* operator new[](size_t size, const std::nothrow_t&) noexcept { return uk::Allocate(size); }
void* operator new(size_t size, std::align_val_t align, const std::nothrow_t&) noexcept {
  const size_t a = static_cast<size_t>(align);  // as the panicking variant above
  if (a > 128 && size > uk::kMaxSmallSize) return nullptr;
  return uk::Allocate(size < a ? a : size);
}
void* operator new[](size_t size, std::align_val_t align, const std::nothrow_t& tag) noexcept {
  return operator new(size, align, tag);
}
void operator delete(void* p) noexcept { uk::Free(p); }
void operator delete[](void* p) noexcept { uk::Free(p); }
void operator delete(void* p, size_t) noexcept { uk::Free(p); }
void operator delete[](void* p, size_t) noexcept { uk::Free(p); }
void operator delete(void* p, std::align_val_t) noexcept { uk::Free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { uk::Free(p); }
void operator delete(void* p, size_t, std::align_val_t) noexcept { uk::Free(p); }
void operator delete[](void* p, size_t, std::align_val_t) noexcept { uk::Free(p); }
