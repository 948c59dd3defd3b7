#include "kernel/lib/symbols.h"

#include <cstddef>

namespace uk {
namespace {

struct SymbolEntry {
  uint64_t address;
  const char* name;
};

}  // namespace
}  // namespace uk

extern "C" const uk::SymbolEntry __ksymtab_start[];
extern "C" const uk::SymbolEntry __ksymtab_end[];
extern "C" const char __kernel_start[];
extern "C" const char __kernel_end[];

namespace uk {

SymbolMatch LookupSymbol(uint64_t address) {
  auto begin = reinterpret_cast<uint64_t>(__kernel_start);
  auto end = reinterpret_cast<uint64_t>(__kernel_end);
  const SymbolEntry* table = __ksymtab_start;
  size_t count = static_cast<size_t>(__ksymtab_end - __ksymtab_start);
  if (count == 0 || address < begin || address >= end || address < table[0].address) {
    return {nullptr, 0};
  }
  // Last entry whose address is <= address.
  size_t lo = 0, hi = count;
  while (hi - lo > 1) {
    size_t mid = lo + (hi - lo) / 2;
    if (table[mid].address <= address) lo = mid;
    else hi = mid;
  }
  return {table[lo].name, address - table[lo].address};
}

}  // namespace uk
