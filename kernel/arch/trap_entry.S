/*
 * Interrupt and exception entry stubs. Stub N is at trap_stubs + 16 * N (the
 * IDT is built from that formula). Each stub makes the stack look the same
 * for every vector -- an error code (the CPU's, or 0) and the vector number --
 * then trap_common saves the general registers in the order of
 * uk::arch::TrapFrame and calls uk::arch::HandleTrap(TrapFrame*).
 * Everything runs in ring 0, so no swapgs and no stack switch except the
 * IST stacks for double fault, NMI and page fault.
 */

  .altmacro
  .macro TRAP_STUB vector
    .balign 16
    /* Vectors 8, 10-14, 17, 21, 29 and 30 push an error code. */
    .if (\vector == 8) || ((\vector >= 10) && (\vector <= 14)) || (\vector == 17) || (\vector == 21) || (\vector == 29) || (\vector == 30)
    .else
    pushq $0
    .endif
    pushq $\vector
    jmp trap_common
  .endm

  .text
  .balign 16
  .global trap_stubs
trap_stubs:
  .set vector, 0
  .rept 256
    TRAP_STUB %vector
    .set vector, vector + 1
  .endr

trap_common:
  pushq %rax
  pushq %rbx
  pushq %rcx
  pushq %rdx
  pushq %rsi
  pushq %rdi
  pushq %rbp
  pushq %r8
  pushq %r9
  pushq %r10
  pushq %r11
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  movq %rsp, %rdi
  cld
  call _ZN2uk4arch10HandleTrapEPNS0_9TrapFrameE  /* uk::arch::HandleTrap(TrapFrame*) */
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %r11
  popq %r10
  popq %r9
  popq %r8
  popq %rbp
  popq %rdi
  popq %rsi
  popq %rdx
  popq %rcx
  popq %rbx
  popq %rax
  addq $16, %rsp                    /* vector and error code */
  iretq

  .section .note.GNU-stack, "", @progbits
