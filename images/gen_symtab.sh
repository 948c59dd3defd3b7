#!/bin/sh
# Usage: gen_symtab.sh NM KERNEL_ELF > symtab.S
# Turns the function symbols of a first-stage kernel link into the .ksymtab
# section of the second: an array of {uint64 address, const char* name}
# sorted by address (kernel/lib/symbols.cc), names in .ksymtab_str.
set -eu
nm=$1
elf=$2
"$nm" -n -C --defined-only "$elf" | awk '
  $2 ~ /^[TtWw]$/ {
    addr = $1
    name = $0
    sub(/^[0-9a-fA-F]+ [A-Za-z] /, "", name)
    gsub(/\\/, "\\\\", name)
    gsub(/"/, "\\\"", name)
    addrs[n] = addr
    names[n] = name
    n++
  }
  END {
    print "  .section .note.GNU-stack, \"\", @progbits"
    print "  .section .ksymtab, \"a\""
    print "  .balign 8"
    for (i = 0; i < n; i++) {
      print "  .quad 0x" addrs[i] ", .Lsym" i
    }
    print "  .section .ksymtab_str, \"a\""
    for (i = 0; i < n; i++) {
      print ".Lsym" i ": .asciz \"" names[i] "\""
    }
  }'
