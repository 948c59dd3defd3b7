#pragma once
// The kernel's own symbol table, for backtraces. images/kernel_image.bzl
// links every image twice and puts the first link's function symbols,
// sorted by address, into the .ksymtab section of the second (see
// images/gen_symtab.sh for the layout).

#include <cstdint>

namespace uk {

struct SymbolMatch {
  const char* name;  // nullptr when the address is outside every function
  uint64_t offset;   // address - symbol start
};

SymbolMatch LookupSymbol(uint64_t address);

}  // namespace uk
