// void uk_sched_switch(uintptr_t* save_rsp /* rdi */, uintptr_t next_rsp /* rsi */)
// See context.h. The pop order must match PrepareContext's frame.
        .text
        .globl uk_sched_switch
        .type uk_sched_switch, @function
uk_sched_switch:
        pushq %rbp
        pushq %rbx
        pushq %r12
        pushq %r13
        pushq %r14
        pushq %r15
        movq %rsp, (%rdi)
        movq %rsi, %rsp
        popq %r15
        popq %r14
        popq %r13
        popq %r12
        popq %rbx
        popq %rbp
        ret
        .size uk_sched_switch, . - uk_sched_switch

// A new thread's first `ret` lands here: r12 = entry, r13 = arg.
// The CFI says this is a thread's outermost frame (no return address), so
// gdb's backtrace ends here instead of reading past the stack's top. It
// goes to .debug_frame: only NAME_debug.elf carries it (.eh_frame is
// discarded by boot/linker.ld).
        .cfi_sections .debug_frame
        .globl uk_sched_thread_start
        .type uk_sched_thread_start, @function
uk_sched_thread_start:
        .cfi_startproc
        .cfi_undefined rip
        movq %r13, %rdi
        callq *%r12
        ud2                     // entry never returns
        .cfi_endproc
        .size uk_sched_thread_start, . - uk_sched_thread_start

        .section .note.GNU-stack, "", @progbits
