/*
 * Application processor trampoline. kernel/top/smp.cc copies the bytes
 * between ap_trampoline_start and ap_trampoline_end to physical
 * kApTrampolinePhys (0x8000), fills in the parameter block at its end and
 * sends INIT-SIPI-SIPI with vector 0x08. The AP starts here in real mode at
 * 0800:0000, switches to protected mode, enables long mode with the BSP's
 * page tables (boot_pml4, below 4 GiB), and jumps to the C++ entry on the
 * stack the BSP gave it. One AP at a time uses the parameter block: the BSP
 * waits for each AP to report in before starting the next.
 */

#define TRAMPOLINE_PHYS 0x8000
#define ABS(x) (TRAMPOLINE_PHYS + (x) - ap_trampoline_start)

  .section .rodata.ap_trampoline, "a"
  .global ap_trampoline_start
  .global ap_trampoline_end
  .global ap_trampoline_params

  .code16
ap_trampoline_start:
  cli
  cld
  xorw %ax, %ax
  movw %ax, %ds
  lgdtl ABS(tramp_gdt_pointer)
  /* An AP leaves INIT with caches disabled (CR0.CD and NW set). TCG
   * ignores that, KVM does not: every access of the core would be
   * uncached. Clear both, then set PE. */
  movl %cr0, %eax
  andl $~((1 << 30) | (1 << 29)), %eax  /* CD, NW */
  orl $1, %eax                          /* PE */
  movl %eax, %cr0
  ljmpl $0x08, $ABS(tramp_protected)

  .code32
tramp_protected:
  movw $0x10, %ax
  movw %ax, %ds
  movw %ax, %es
  movw %ax, %ss
  movl %cr4, %eax
  orl $(1 << 5), %eax                   /* PAE */
  movl %eax, %cr4
  movl ABS(param_cr3), %eax
  movl %eax, %cr3
  movl $0xc0000080, %ecx                /* IA32_EFER */
  rdmsr
  orl $(1 << 8), %eax                   /* LME */
  wrmsr
  movl %cr0, %eax
  orl $((1 << 31) | (1 << 16)), %eax    /* PG, WP */
  movl %eax, %cr0
  ljmp $0x18, $ABS(tramp_long)

  .code64
tramp_long:
  movw $0x10, %ax
  movw %ax, %ds
  movw %ax, %es
  movw %ax, %ss
  movq ABS(param_stack), %rsp
  movq ABS(param_arg), %rdi
  xorl %ebp, %ebp                       /* terminates backtraces */
  movq ABS(param_entry), %rax
  call *%rax
1:
  cli
  hlt
  jmp 1b

  .balign 16
tramp_gdt:
  .quad 0                               /* null */
  .quad 0x00cf9a000000ffff              /* 0x08: 32-bit code */
  .quad 0x00cf92000000ffff              /* 0x10: data */
  .quad 0x00af9a000000ffff              /* 0x18: 64-bit code */
tramp_gdt_end:
tramp_gdt_pointer:
  .word tramp_gdt_end - tramp_gdt - 1
  .long ABS(tramp_gdt)

  /* Parameter block; layout mirrors uk::arch::ApTrampolineParams. */
  .balign 8
ap_trampoline_params:
param_cr3:   .quad 0
param_stack: .quad 0
param_entry: .quad 0
param_arg:   .quad 0
ap_trampoline_end:

  .section .note.GNU-stack, "", @progbits
