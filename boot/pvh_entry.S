/*
 * PVH entry: QEMU's -kernel (and the microvm machine) loads this ELF at its
 * physical addresses and jumps to the address in the XEN_ELFNOTE_PHYS32_ENTRY
 * note in 32-bit protected mode, paging off, %ebx = physical address of the
 * hvm_start_info structure. From here we:
 *   0. note the TSC (the start of the boot the kernel reports),
 *   1. zero .bss (it holds the page tables and the boot stack),
 *   2. build the boot page tables (see below),
 *   3. enter long mode and jump to the higher half,
 *   4. call uk::BootMain(start_info_phys) on the boot stack.
 *
 * Boot page tables, 2 MiB pages, all built from one set of page directories
 * that map physical 0..4 GiB:
 *   0x0000000000000000 +4 GiB  identity (the AP trampoline and this file need it)
 *   0xffff800000000000 +4 GiB  direct map of physical memory (kernel/arch/paging.h)
 *   0xffffffff80000000 +1 GiB  the kernel image (-mcmodel=kernel)
 * The top 1 GiB below 4 GiB (MMIO: LAPIC, IOAPIC, PCI holes) is mapped
 * uncached (PCD|PWT).
 */

#define KERNEL_VMA 0xffffffff80000000
#define PHYS(x) ((x) - KERNEL_VMA)

#define PTE_PRESENT 0x1
#define PTE_WRITE 0x2
#define PTE_PWT 0x8
#define PTE_PCD 0x10
#define PTE_HUGE 0x80

  .section .note.Xen, "a"
  .balign 4
  .long 4                      /* name size: "Xen\0" */
  .long 4                      /* descriptor size */
  .long 18                     /* XEN_ELFNOTE_PHYS32_ENTRY */
  .asciz "Xen"
  .balign 4
  .long PHYS(pvh_start32)
  .balign 4

  .section .text.boot, "ax"
  .code32
  .global pvh_start32
pvh_start32:
  cli
  cld
  /* The kernel's first instruction: its boot time counts from this TSC
     (uk_entry_tsc, in .data so step 1 does not clear it; kernel/arch/tsc.cc). */
  rdtsc
  movl %eax, PHYS(uk_entry_tsc)
  movl %edx, PHYS(uk_entry_tsc) + 4
  movl %ebx, %edi                        /* keep start_info across the setup */

  /* 1. Zero .bss (page-aligned at both ends, boot/linker.ld), four bytes a
     step: the web server's is 10 MiB, and an emulator (TCG) runs a
     `rep stos` one element at a time. */
  movl $PHYS(__bss_start), %edx
  movl $PHYS(__bss_end), %ecx
  subl %edx, %ecx
  shrl $2, %ecx
  movl %edx, %esi
  xorl %eax, %eax
  pushl %edi
  movl %esi, %edi
  rep stosl
  popl %edi

  movl $PHYS(boot_stack_top), %esp

  /* 2. Page directories: 2048 entries of 2 MiB each = 4 GiB. */
  movl $PHYS(boot_pd), %ebx
  xorl %ecx, %ecx
1:
  movl %ecx, %eax
  shll $21, %eax
  orl $(PTE_PRESENT | PTE_WRITE | PTE_HUGE), %eax
  cmpl $1536, %ecx                       /* >= 3 GiB: MMIO, uncached */
  jb 2f
  orl $(PTE_PCD | PTE_PWT), %eax
2:
  movl %eax, (%ebx, %ecx, 8)
  movl $0, 4(%ebx, %ecx, 8)
  incl %ecx
  cmpl $2048, %ecx
  jne 1b

  /* Low PDPT: four page directories, used by the identity and direct maps. */
  movl $PHYS(boot_pdpt_low), %ebx
  xorl %ecx, %ecx
3:
  movl %ecx, %eax
  shll $12, %eax
  addl $(PHYS(boot_pd) + PTE_PRESENT + PTE_WRITE), %eax
  movl %eax, (%ebx, %ecx, 8)
  incl %ecx
  cmpl $4, %ecx
  jne 3b

  /* High PDPT: entries 510 and 511 map the image's top 2 GiB to 0..2 GiB. */
  movl $PHYS(boot_pdpt_high), %ebx
  movl $(PHYS(boot_pd) + PTE_PRESENT + PTE_WRITE), 510*8(%ebx)
  movl $(PHYS(boot_pd) + 4096 + PTE_PRESENT + PTE_WRITE), 511*8(%ebx)

  /* PML4: 0 -> identity, 256 -> direct map, 511 -> kernel image. */
  movl $PHYS(boot_pml4), %ebx
  movl $(PHYS(boot_pdpt_low) + PTE_PRESENT + PTE_WRITE), 0*8(%ebx)
  movl $(PHYS(boot_pdpt_low) + PTE_PRESENT + PTE_WRITE), 256*8(%ebx)
  movl $(PHYS(boot_pdpt_high) + PTE_PRESENT + PTE_WRITE), 511*8(%ebx)

  /* 3. Long mode: PAE, CR3, EFER.LME, then paging. */
  movl %cr4, %eax
  orl $(1 << 5), %eax                    /* PAE */
  movl %eax, %cr4
  movl $PHYS(boot_pml4), %eax
  movl %eax, %cr3
  movl $0xc0000080, %ecx                 /* IA32_EFER */
  rdmsr
  orl $(1 << 8), %eax                    /* LME */
  wrmsr
  movl %cr0, %eax
  andl $~((1 << 30) | (1 << 29)), %eax   /* CD, NW: caches on, whatever the loader left */
  orl $((1 << 31) | (1 << 16) | 1), %eax /* PG, WP, PE */
  movl %eax, %cr0

  lgdt PHYS(boot_gdt_pointer)
  ljmp $0x08, $PHYS(long_mode_low)

  .code64
long_mode_low:
  movabsq $long_mode_high, %rax
  jmp *%rax

long_mode_high:
  movw $0x10, %ax
  movw %ax, %ds
  movw %ax, %es
  movw %ax, %ss
  xorw %ax, %ax
  movw %ax, %fs
  movw %ax, %gs
  movabsq $boot_stack_top, %rsp
  xorl %ebp, %ebp                        /* terminates backtraces */
  /* %rdi still holds the start_info physical address (zero-extended). */
  movl %edi, %edi
  call _ZN2uk8BootMainEm                 /* uk::BootMain(unsigned long) */
4:
  cli
  hlt
  jmp 4b

  .section .rodata
  .balign 16
boot_gdt:
  .quad 0                                /* null */
  .quad 0x00af9a000000ffff               /* 0x08: 64-bit code */
  .quad 0x00cf92000000ffff               /* 0x10: data */
boot_gdt_end:
  .balign 16
boot_gdt_pointer:
  .word boot_gdt_end - boot_gdt - 1
  .quad PHYS(boot_gdt)

  .section .bss
  .balign 4096
  .global boot_pml4
boot_pml4:
  .skip 4096
boot_pdpt_low:
  .skip 4096
boot_pdpt_high:
  .skip 4096
boot_pd:
  .skip 4 * 4096
  .balign 16
boot_stack:
  .skip 32768
boot_stack_top:
  .global boot_stack_top

  .section .note.GNU-stack, "", @progbits
