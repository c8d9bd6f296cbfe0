// SPDX-License-Identifier: GPL-2.0
/*
 * Guest image loaders and the initial vCPU state for each:
 *
 *  - Linux bzImage, 64-bit boot protocol (Documentation/arch/x86/boot.rst,
 *    "64-bit Boot Protocol"; zero-page.rst): the protected-mode kernel at
 *    1 MiB, boot_params with the setup header, e820 map, command line and
 *    initrd, then entry at load address + 0x200 in long mode with identity
 *    page tables for the low 4 GiB, a GDT holding __BOOT_CS (0x10) and
 *    __BOOT_DS (0x18), interrupts off and RSI pointing at boot_params.
 *  - Multiboot v1 (the Multiboot Specification 0.6.96): an ELF32 kernel, or
 *    any image using the header's address fields (flag 16); 32-bit flat
 *    protected mode, EAX = 0x2BADB002, EBX = the multiboot information
 *    (memory sizes, e820-style memory map, command line, loader name, and
 *    --initrd as a module).
 *  - A flat binary (--flat ADDR) at ADDR, entered in real mode with CS:IP =
 *    ADDR >> 4 : ADDR & 0xf, all data segments equal to CS, SP = 0.
 *
 * Low memory used by the loader (all below 640 KiB):
 *   0x500  GDT        0x580  TSS        0x7000 boot_params / multiboot info
 *   0x9000 PML4       0xa000 PDPT       0xb000-0xefff page directories
 *   0x20000 command line (up to 64 KiB)
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hvx-run.h"

#define GDT_ADDR	0x500
#define TSS_ADDR	0x580
#define ZERO_PAGE	0x7000
#define PML4_ADDR	0x9000
#define PDPT_ADDR	0xa000
#define PD_ADDR		0xb000
#define CMDLINE_ADDR	0x20000
#define CMDLINE_MAX	0x10000
#define KERNEL_ADDR	0x100000
#define EBDA_START	0x9fc00
#define BIOS_START	0xf0000

#define SEL_CODE32	0x08
#define SEL_CODE64	0x10	/* __BOOT_CS */
#define SEL_DATA	0x18	/* __BOOT_DS */
#define SEL_TSS		0x20

#define X86_CR0_PE	BIT_ULL(0)
#define X86_CR0_ET	BIT_ULL(4)
#define X86_CR0_NE	BIT_ULL(5)
#define X86_CR0_PG	BIT_ULL(31)
#define X86_CR4_PAE	BIT_ULL(5)
#define EFER_LME	BIT_ULL(8)
#define EFER_LMA	BIT_ULL(10)

/* boot_params and setup header offsets (zero-page.rst, boot.rst). */
#define BP_E820_ENTRIES		0x1e8
#define BP_HDR			0x1f1
#define BP_SETUP_SECTS		0x1f1
#define BP_BOOT_FLAG		0x1fe
#define BP_JUMP			0x200
#define BP_HEADER		0x202
#define BP_VERSION		0x206
#define BP_TYPE_OF_LOADER	0x210
#define BP_LOADFLAGS		0x211
#define BP_RAMDISK_IMAGE	0x218
#define BP_RAMDISK_SIZE		0x21c
#define BP_CMD_LINE_PTR		0x228
#define BP_INITRD_ADDR_MAX	0x22c
#define BP_KERNEL_ALIGNMENT	0x230
#define BP_XLOADFLAGS		0x236
#define BP_CMDLINE_SIZE		0x238
#define BP_INIT_SIZE		0x260
#define BP_E820_TABLE		0x2d0
#define E820_MAX		128
#define LOADED_HIGH		0x01
#define XLF_KERNEL_64		0x01
/* Where a relocatable x86-64 kernel decompresses at the lowest. */
#define LINUX_MIN_RUN_ADDR	(16 * MIB)

#define MB_MAGIC		0x1badb002
#define MB_BOOT_MAGIC		0x2badb002
#define MB_SEARCH		8192
#define MB_FLAG_ALIGN		BIT(0)
#define MB_FLAG_MEMINFO		BIT(1)
#define MB_FLAG_VIDEO		BIT(2)
#define MB_FLAG_AOUT		BIT(16)
#define MB_INFO_MEM		BIT(0)
#define MB_INFO_CMDLINE		BIT(2)
#define MB_INFO_MODS		BIT(3)
#define MB_INFO_MMAP		BIT(6)
#define MB_INFO_LOADER		BIT(9)

/* ELF32 headers (the System V ABI), for multiboot kernels. */
struct elf32_ehdr {
	u8 e_ident[EI_NIDENT];
	u16 e_type, e_machine;
	u32 e_version, e_entry, e_phoff, e_shoff, e_flags;
	u16 e_ehsize, e_phentsize, e_phnum, e_shentsize, e_shnum, e_shstrndx;
};

struct elf32_phdr {
	u32 p_type, p_offset, p_vaddr, p_paddr, p_filesz, p_memsz, p_flags;
	u32 p_align;
};

struct image {
	u8 *data;
	size_t size;
	const char *path;
};

struct e820 {
	u64 addr, size;
	u32 type;
};

static void read_file(const char *what, const char *path, struct image *img)
{
	struct stat st;
	ssize_t n;
	size_t off = 0;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die("cannot open %s '%s': %s", what, path, strerror(errno));
	if (fstat(fd, &st) || !S_ISREG(st.st_mode))
		die("%s '%s' is not a regular file", what, path);
	img->size = st.st_size;
	img->path = path;
	img->data = malloc(img->size ? img->size : 1);
	if (!img->data)
		die("out of memory reading %s '%s'", what, path);
	while (off < img->size) {
		n = read(fd, img->data + off, img->size - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die("cannot read %s '%s': %s", what, path,
			    n ? strerror(errno) : "short read");
		off += n;
	}
	close(fd);
}

static u16 get16(const u8 *p)
{
	return p[0] | p[1] << 8;
}

static u32 get32(const u8 *p)
{
	return get16(p) | (u32)get16(p + 2) << 16;
}

static void put32(u8 *p, u32 v)
{
	memcpy(p, &v, 4);
}

/* Copy into guest memory, failing loudly on a range outside RAM. */
static void guest_copy(struct machine *m, u64 gpa, const void *src,
		       u64 len, const char *what)
{
	void *dst = guest_ptr(m, gpa, len);

	if (!dst)
		die("%s at 0x%llx-0x%llx does not fit in guest RAM (%llu MiB)",
		    what, (unsigned long long)gpa,
		    (unsigned long long)(gpa + len),
		    (unsigned long long)(m->ram_size / MIB));
	memcpy(dst, src, len);
}

static int build_e820(struct machine *m, struct e820 *e)
{
	int n = 0;

	e[n++] = (struct e820){ 0, EBDA_START, 1 };
	e[n++] = (struct e820){ EBDA_START, 0xa0000 - EBDA_START, 2 };
	e[n++] = (struct e820){ BIOS_START, KERNEL_ADDR - BIOS_START, 2 };
	e[n++] = (struct e820){ KERNEL_ADDR, m->low_size - KERNEL_ADDR, 1 };
	if (m->ram_size > m->low_size)
		e[n++] = (struct e820){ HIGH_RAM_BASE,
					m->ram_size - m->low_size, 1 };
	return n;
}

/* GDT: null, 32-bit code, 64-bit code, data, 64-bit TSS (two slots). */
static void setup_gdt(struct machine *m)
{
	u64 gdt[6] = {
		0,
		0x00cf9b000000ffffULL,	/* 0x08: code, 32-bit, 4 GiB */
		0x00af9b000000ffffULL,	/* 0x10: code, 64-bit */
		0x00cf93000000ffffULL,	/* 0x18: data, 4 GiB */
		0x0000890000000067ULL |	/* 0x20: available 64-bit TSS */
			(u64)TSS_ADDR << 16,
		0,
	};

	guest_copy(m, GDT_ADDR, gdt, sizeof(gdt), "GDT");
}

static void seg_flat(struct kvm_segment *s, u16 sel, u8 type,
		     bool code64)
{
	*s = (struct kvm_segment){
		.base = 0, .limit = 0xffffffff, .selector = sel, .type = type,
		.present = 1, .s = 1, .g = 1, .l = code64, .db = !code64,
	};
}

static void set_protected_mode(struct machine *m, bool long_mode,
			       struct kvm_regs *regs)
{
	struct kvm_sregs s;

	if (ioctl(m->vcpu_fd, KVM_GET_SREGS, &s))
		die("KVM_GET_SREGS: %s", strerror(errno));
	setup_gdt(m);
	s.gdt.base = GDT_ADDR;
	s.gdt.limit = 6 * 8 - 1;
	s.idt.base = 0;
	s.idt.limit = 0;
	s.cr0 = X86_CR0_PE | X86_CR0_ET | X86_CR0_NE;
	s.cr3 = 0;
	s.cr4 = 0;
	s.efer = 0;
	if (long_mode) {
		s.cr0 |= X86_CR0_PG;
		s.cr3 = PML4_ADDR;
		s.cr4 = X86_CR4_PAE;
		s.efer = EFER_LME | EFER_LMA;
		seg_flat(&s.cs, SEL_CODE64, 0xb, true);
	} else {
		seg_flat(&s.cs, SEL_CODE32, 0xb, false);
	}
	seg_flat(&s.ds, SEL_DATA, 0x3, false);
	s.es = s.ds;
	s.fs = s.ds;
	s.gs = s.ds;
	s.ss = s.ds;
	s.tr = (struct kvm_segment){
		.base = TSS_ADDR, .limit = 0x67, .selector = SEL_TSS,
		.type = 0xb, .present = 1,
	};
	if (ioctl(m->vcpu_fd, KVM_SET_SREGS, &s))
		die("KVM_SET_SREGS: %s", strerror(errno));
	regs->rflags = 0x2;
	if (ioctl(m->vcpu_fd, KVM_SET_REGS, regs))
		die("KVM_SET_REGS: %s", strerror(errno));
}

/* Identity map of the low 4 GiB with 2 MiB pages. */
static void setup_page_tables(struct machine *m)
{
	u64 *pml4 = guest_ptr(m, PML4_ADDR, 4096);
	u64 *pdpt = guest_ptr(m, PDPT_ADDR, 4096);
	u64 *pd = guest_ptr(m, PD_ADDR, 4 * 4096);
	int i;

	memset(pml4, 0, 4096);
	memset(pdpt, 0, 4096);
	pml4[0] = PDPT_ADDR | 0x3;		/* present, writable */
	for (i = 0; i < 4; i++)
		pdpt[i] = (PD_ADDR + i * 4096) | 0x3;
	for (i = 0; i < 4 * 512; i++)
		pd[i] = (u64)i << 21 | 0x83;	/* 2 MiB page */
}

static bool is_bzimage(const struct image *k)
{
	return k->size >= 0x300 && get16(k->data + BP_BOOT_FLAG) == 0xaa55 &&
	       !memcmp(k->data + BP_HEADER, "HdrS", 4);
}

static u32 load_cmdline(struct machine *m, const char *prefix, u32 max)
{
	const char *append = m->opt->append ? m->opt->append : "";
	size_t len = strlen(append) + (prefix ? strlen(prefix) + 1 : 0);
	char *buf;

	if (len >= max)
		die("command line too long: %zu bytes, the kernel takes %u",
		    len, max - 1);
	buf = guest_ptr(m, CMDLINE_ADDR, len + 1);
	snprintf(buf, len + 1, "%s%s%s", prefix ? prefix : "",
		 prefix && *append ? " " : "", append);
	return CMDLINE_ADDR;
}

static void load_linux(struct machine *m, struct image *k)
{
	u8 *bp = guest_ptr(m, ZERO_PAGE, 4096);
	u16 version = get16(k->data + BP_VERSION);
	unsigned int setup_sects = k->data[BP_SETUP_SECTS];
	size_t setup_size, hdr_end;
	u64 run_addr, run_end, align, init_size;
	struct e820 e[8];
	struct image initrd;
	u32 cmdline_max, initrd_max;
	u64 initrd_addr;
	struct kvm_regs regs;
	int i, n;

	if (version < 0x020c)
		die("'%s': boot protocol %u.%02u is too old (2.12 has the 64-bit entry)",
		    k->path, version >> 8, version & 0xff);
	if (!(k->data[BP_LOADFLAGS] & LOADED_HIGH))
		die("'%s' is a zImage, not a bzImage", k->path);
	if (!(get16(k->data + BP_XLOADFLAGS) & XLF_KERNEL_64))
		die("'%s' has no 64-bit entry point (not an x86-64 kernel?)",
		    k->path);
	if (!setup_sects)
		setup_sects = 4;
	setup_size = (setup_sects + 1) * 512;
	hdr_end = BP_JUMP + 2 + k->data[BP_JUMP + 1];
	if (setup_size >= k->size || hdr_end > setup_size || hdr_end > 4096)
		die("'%s' is truncated or corrupt (setup %zu bytes, file %zu)",
		    k->path, setup_size, k->size);

	/*
	 * The kernel decompresses itself at max(16 MiB, load address rounded
	 * up to kernel_alignment) and needs init_size bytes from there.
	 */
	align = get32(k->data + BP_KERNEL_ALIGNMENT);
	init_size = get32(k->data + BP_INIT_SIZE);
	run_addr = align ? (KERNEL_ADDR + align - 1) / align * align : KERNEL_ADDR;
	if (run_addr < LINUX_MIN_RUN_ADDR)
		run_addr = LINUX_MIN_RUN_ADDR;
	run_end = run_addr + init_size;
	if (run_end < KERNEL_ADDR + k->size - setup_size)
		run_end = KERNEL_ADDR + k->size - setup_size;
	if (run_end + 8 * MIB > m->low_size)
		die("'%s' needs more than %llu MiB of RAM to boot (-m)", k->path,
		    (unsigned long long)(run_end + 8 * MIB) / MIB);
	guest_copy(m, KERNEL_ADDR, k->data + setup_size, k->size - setup_size,
		   "kernel");

	memset(bp, 0, 4096);
	memcpy(bp + BP_HDR, k->data + BP_HDR, hdr_end - BP_HDR);
	bp[BP_TYPE_OF_LOADER] = 0xff;	/* undefined boot loader */
	bp[BP_LOADFLAGS] &= ~0x80;	/* no heap: 16-bit setup not run */

	cmdline_max = get32(k->data + BP_CMDLINE_SIZE) + 1;
	if (cmdline_max > CMDLINE_MAX)
		cmdline_max = CMDLINE_MAX;
	put32(bp + BP_CMD_LINE_PTR, load_cmdline(m, NULL, cmdline_max));

	if (m->opt->initrd) {
		read_file("initrd", m->opt->initrd, &initrd);
		initrd_max = get32(k->data + BP_INITRD_ADDR_MAX);
		initrd_addr = m->low_size;
		if (initrd_addr > (u64)initrd_max + 1)
			initrd_addr = (u64)initrd_max + 1;
		if (initrd.size > initrd_addr)
			initrd_addr = 0;
		else
			initrd_addr = (initrd_addr - initrd.size) & ~0xfffULL;
		if (initrd_addr < run_end)
			die("initrd '%s' (%zu KiB) does not fit above the kernel (-m)",
			    initrd.path, initrd.size / 1024);
		guest_copy(m, initrd_addr, initrd.data, initrd.size, "initrd");
		put32(bp + BP_RAMDISK_IMAGE, initrd_addr);
		put32(bp + BP_RAMDISK_SIZE, initrd.size);
		free(initrd.data);
	}

	n = build_e820(m, e);
	bp[BP_E820_ENTRIES] = n;
	for (i = 0; i < n; i++) {
		memcpy(bp + BP_E820_TABLE + 20 * i, &e[i].addr, 8);
		memcpy(bp + BP_E820_TABLE + 20 * i + 8, &e[i].size, 8);
		put32(bp + BP_E820_TABLE + 20 * i + 16, e[i].type);
	}

	setup_page_tables(m);
	memset(&regs, 0, sizeof(regs));
	regs.rip = KERNEL_ADDR + 0x200;	/* the 64-bit entry */
	regs.rsi = ZERO_PAGE;
	set_protected_mode(m, true, &regs);
}

/* Find a valid multiboot header: offset, or -1. */
static long mb_find_header(const struct image *k)
{
	size_t off, end = k->size < MB_SEARCH ? k->size : MB_SEARCH;
	const u8 *h;

	for (off = 0; off + 12 <= end; off += 4) {
		h = k->data + off;
		if (get32(h) == MB_MAGIC &&
		    get32(h) + get32(h + 4) + get32(h + 8) == 0)
			return off;
	}
	return -1;
}

static void mb_check_range(struct machine *m, const struct image *k,
			   u64 addr, u64 len)
{
	if (addr < KERNEL_ADDR || addr + len > m->low_size || addr + len < addr)
		die("'%s': segment 0x%llx-0x%llx is outside RAM from 1 MiB to %llu MiB",
		    k->path, (unsigned long long)addr,
		    (unsigned long long)(addr + len),
		    (unsigned long long)m->low_size / MIB);
}

/* Load the ELF32 program segments; returns the end of the image. */
static u64 mb_load_elf(struct machine *m, const struct image *k, u32 *entry)
{
	const struct elf32_ehdr *eh = (const void *)k->data;
	const struct elf32_phdr *ph;
	u64 end = 0;
	int i;

	if (k->size < sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG) ||
	    eh->e_ident[EI_CLASS] != ELFCLASS32 || eh->e_machine != EM_386 ||
	    eh->e_type != ET_EXEC || eh->e_phentsize != sizeof(*ph) ||
	    eh->e_phoff + (u64)eh->e_phnum * sizeof(*ph) > k->size)
		die("'%s': multiboot kernel is no 32-bit x86 ELF executable, has no address fields",
		    k->path);
	ph = (const void *)(k->data + eh->e_phoff);
	for (i = 0; i < eh->e_phnum; i++, ph++) {
		if (ph->p_type != PT_LOAD || !ph->p_memsz)
			continue;
		if (ph->p_filesz > ph->p_memsz ||
		    ph->p_offset + (u64)ph->p_filesz > k->size)
			die("'%s': corrupt ELF program header %d", k->path, i);
		mb_check_range(m, k, ph->p_paddr, ph->p_memsz);
		guest_copy(m, ph->p_paddr, k->data + ph->p_offset,
			   ph->p_filesz, "segment");
		memset(guest_ptr(m, ph->p_paddr + ph->p_filesz,
				 ph->p_memsz - ph->p_filesz), 0,
		       ph->p_memsz - ph->p_filesz);
		if (ph->p_paddr + ph->p_memsz > end)
			end = ph->p_paddr + ph->p_memsz;
	}
	if (!end)
		die("'%s': ELF file has nothing to load", k->path);
	*entry = eh->e_entry;
	return end;
}

/* Multiboot header address fields (flag 16). */
static u64 mb_load_aout(struct machine *m, const struct image *k, long hoff,
			u32 *entry)
{
	const u8 *h = k->data + hoff;
	u32 header_addr = get32(h + 12), load_addr = get32(h + 16);
	u32 load_end = get32(h + 20), bss_end = get32(h + 24);
	u64 file_off, len;

	if (hoff + 32 > (long)k->size || header_addr < load_addr ||
	    header_addr - load_addr > hoff)
		die("'%s': inconsistent multiboot address fields", k->path);
	file_off = hoff - (header_addr - load_addr);
	len = load_end ? (u64)load_end - load_addr : k->size - file_off;
	if (load_end && load_end < load_addr)
		die("'%s': multiboot load_end_addr below load_addr", k->path);
	if (file_off + len > k->size)
		die("'%s': truncated: multiboot header asks for %llu bytes",
		    k->path, (unsigned long long)len);
	mb_check_range(m, k, load_addr, len);
	guest_copy(m, load_addr, k->data + file_off, len, "kernel");
	if (bss_end > load_addr + len) {
		mb_check_range(m, k, load_addr + len, bss_end - load_addr - len);
		memset(guest_ptr(m, load_addr + len, bss_end - load_addr - len),
		       0, bss_end - load_addr - len);
		len = bss_end - load_addr;
	}
	*entry = get32(h + 28);
	return load_addr + len;
}

static void load_multiboot(struct machine *m, struct image *k, long hoff)
{
	u32 flags = get32(k->data + hoff + 4), entry;
	u8 *info = guest_ptr(m, ZERO_PAGE, 4096);
	u32 mmap = ZERO_PAGE + 0x100, loader = ZERO_PAGE + 0xf00;
	u32 mods = ZERO_PAGE + 0xe00;
	u32 info_flags;
	struct kvm_regs regs;
	struct e820 e[8];
	struct image initrd;
	u64 end, mod_addr;
	int i, n;

	/* Bits 0-15 are requirements: refuse the ones not understood. */
	if (flags & 0xffff & ~(MB_FLAG_ALIGN | MB_FLAG_MEMINFO | MB_FLAG_VIDEO))
		die("'%s': multiboot header requires unsupported features (flags 0x%x)",
		    k->path, flags);
	if (flags & MB_FLAG_VIDEO)
		warnx("'%s' asks for a video mode: there is no display, ignored",
		      k->path);
	if (flags & MB_FLAG_AOUT)
		end = mb_load_aout(m, k, hoff, &entry);
	else
		end = mb_load_elf(m, k, &entry);

	memset(info, 0, 4096);
	info_flags = MB_INFO_MEM | MB_INFO_CMDLINE | MB_INFO_MMAP | MB_INFO_LOADER;
	put32(info + 4, EBDA_START / 1024);			/* mem_lower */
	put32(info + 8, (m->low_size - KERNEL_ADDR) / 1024);	/* mem_upper */
	put32(info + 16, load_cmdline(m, k->path, CMDLINE_MAX));
	n = build_e820(m, e);
	for (i = 0; i < n; i++) {
		u8 *p = info + (mmap - ZERO_PAGE) + 24 * i;

		put32(p, 20);
		memcpy(p + 4, &e[i].addr, 8);
		memcpy(p + 12, &e[i].size, 8);
		put32(p + 20, e[i].type);
	}
	put32(info + 44, 24 * n);		/* mmap_length */
	put32(info + 48, mmap);
	strcpy((char *)info + (loader - ZERO_PAGE), "hvx-run");
	put32(info + 64, loader);

	if (m->opt->initrd) {
		read_file("module", m->opt->initrd, &initrd);
		mod_addr = (end + 0xfff) & ~0xfffULL;
		if (mod_addr + initrd.size > m->low_size)
			die("module '%s' does not fit in RAM after the kernel",
			    initrd.path);
		guest_copy(m, mod_addr, initrd.data, initrd.size, "module");
		put32(info + (mods - ZERO_PAGE), mod_addr);
		put32(info + (mods - ZERO_PAGE) + 4, mod_addr + initrd.size);
		put32(info + (mods - ZERO_PAGE) + 8, loader);
		put32(info + 20, 1);
		put32(info + 24, mods);
		info_flags |= MB_INFO_MODS;
		free(initrd.data);
	}
	put32(info, info_flags);

	memset(&regs, 0, sizeof(regs));
	regs.rax = MB_BOOT_MAGIC;
	regs.rbx = ZERO_PAGE;
	regs.rip = entry;
	set_protected_mode(m, false, &regs);
}

static void load_flat(struct machine *m, struct image *k)
{
	u64 addr = m->opt->flat_addr;
	struct kvm_sregs s;
	struct kvm_regs regs;
	struct kvm_segment seg;

	if (addr >= MIB || k->size > MIB - addr)
		die("'%s' (%zu bytes) at 0x%llx does not fit below 1 MiB, the real-mode limit",
		    k->path, k->size, (unsigned long long)addr);
	guest_copy(m, addr, k->data, k->size, "flat binary");

	if (ioctl(m->vcpu_fd, KVM_GET_SREGS, &s))
		die("KVM_GET_SREGS: %s", strerror(errno));
	seg = (struct kvm_segment){
		.selector = addr >> 4, .base = addr & ~0xfULL, .limit = 0xffff,
		.type = 0x3, .present = 1, .s = 1,
	};
	s.ds = seg;
	s.es = seg;
	s.fs = seg;
	s.gs = seg;
	s.ss = seg;
	seg.type = 0xb;
	s.cs = seg;
	s.cr0 = X86_CR0_ET | X86_CR0_NE;
	s.cr3 = 0;
	s.cr4 = 0;
	s.efer = 0;
	s.idt.base = 0;
	s.idt.limit = 0x3ff;
	if (ioctl(m->vcpu_fd, KVM_SET_SREGS, &s))
		die("KVM_SET_SREGS: %s", strerror(errno));
	memset(&regs, 0, sizeof(regs));
	regs.rip = addr & 0xf;
	regs.rflags = 0x2;
	if (ioctl(m->vcpu_fd, KVM_SET_REGS, &regs))
		die("KVM_SET_REGS: %s", strerror(errno));
}

void load_guest(struct machine *m)
{
	struct image k;
	long hoff;

	read_file("kernel", m->opt->kernel, &k);
	if (!k.size)
		die("kernel '%s' is empty", k.path);
	if (m->opt->flat) {
		if (m->opt->initrd)
			die("--initrd does not apply to a flat binary");
		load_flat(m, &k);
	} else if (is_bzimage(&k)) {
		check_caps(m, true);
		load_linux(m, &k);
	} else {
		hoff = mb_find_header(&k);
		if (hoff < 0)
			die("'%s' is neither a bzImage nor a multiboot kernel (raw: --flat)",
			    k.path);
		load_multiboot(m, &k, hoff);
	}
	free(k.data);
}
