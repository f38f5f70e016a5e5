# Boot sector that proves a hypervisor can run a guest: it walks the path a
# Linux kernel takes (real mode, 32-bit protected mode, 64-bit long mode),
# prints R, P and L on COM1 at each step, then exits QEMU through the
# isa-debug-exit device (iobase 0xf4) with status (0x10 << 1) | 1 = 33.
# Build: as --32 -o p.o kvm-probe.S && ld -m elf_i386 -Ttext 0x7c00 --oformat binary -o kvm-probe.img p.o
        .code16
        .globl _start
_start:
        cli
        xorw    %ax, %ax
        movw    %ax, %ds
        movw    %ax, %es
        movw    %ax, %ss
        movw    $0x7c00, %sp
        movw    $0x3f8, %dx
        movb    $'R', %al
        outb    %al, %dx
        lgdtl   gdtr
        movl    %cr0, %eax
        orl     $1, %eax
        movl    %eax, %cr0
        ljmpl   $0x08, $pm32

        .code32
pm32:
        movw    $0x10, %ax
        movw    %ax, %ds
        movw    %ax, %es
        movw    %ax, %ss
        movw    $0x3f8, %dx
        movb    $'P', %al
        outb    %al, %dx
        # Identity-map the first 2 MiB: PML4 at 0x1000, PDPT at 0x2000, PD at 0x3000.
        movl    $0x1000, %edi
        xorl    %eax, %eax
        movl    $3072, %ecx
        rep stosl
        movl    $0x2003, 0x1000
        movl    $0x3003, 0x2000
        movl    $0x83, 0x3000
        movl    $0x1000, %eax
        movl    %eax, %cr3
        movl    %cr4, %eax
        orl     $0x20, %eax
        movl    %eax, %cr4
        movl    $0xc0000080, %ecx
        rdmsr
        orl     $0x100, %eax
        wrmsr
        movl    %cr0, %eax
        orl     $0x80000000, %eax
        movl    %eax, %cr0
        ljmpl   $0x18, $lm64

        .code64
lm64:
        movw    $0x3f8, %dx
        movb    $'L', %al
        outb    %al, %dx
        movb    $'\n', %al
        outb    %al, %dx
        movw    $0xf4, %dx
        movb    $0x10, %al
        outb    %al, %dx
1:      hlt
        jmp     1b

        .p2align 3
gdt:
        .quad   0
        .quad   0x00cf9a000000ffff
        .quad   0x00cf92000000ffff
        .quad   0x00af9a000000ffff
gdtr:
        .word   gdtr - gdt - 1
        .long   gdt

        .org    510
        .word   0xaa55
