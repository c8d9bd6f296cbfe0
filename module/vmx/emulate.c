// SPDX-License-Identifier: GPL-2.0
/*
 * hvx VT-x backend: completing MMIO accesses.
 *
 * A guest access outside every memory slot exits on an EPT violation that
 * gives the guest-physical address but not the access size, direction or
 * data.  The instruction is fetched from guest memory (through the guest's
 * page tables) and decoded; only the forms compilers emit for MMIO are
 * supported: MOV between a register or an immediate and memory, MOVZX and
 * MOVSX from memory.  Anything else is reported as an emulation failure,
 * never guessed.  Writes complete at once; reads complete on the next
 * KVM_RUN with the data userspace put in kvm_run->mmio.data.
 */
#include <linux/kvm.h>
#include <linux/mm.h>

#include "vmcs.h"
#include "vmx.h"

/* The guest state that fetching and decoding need. */
struct vmx_fetch_state {
	unsigned long rip, cs_base, cr0, cr3, cr4;
	u64 efer, pdptr[4];
	bool long_mode;		/* 64-bit code segment */
	bool def32;		/* 32-bit default operand and address size */
};

static void vmx_read_fetch_state(struct vmx_fetch_state *st)
{
	u32 cs_ar = vmcs_read32(GUEST_CS_AR_BYTES);

	st->rip = vmcs_readl(GUEST_RIP);
	st->cs_base = vmcs_readl(GUEST_CS_BASE);
	st->cr0 = vmcs_readl(CR0_READ_SHADOW);
	st->cr3 = vmcs_readl(GUEST_CR3);
	st->cr4 = vmcs_readl(CR4_READ_SHADOW);
	st->efer = vmcs_read64(GUEST_IA32_EFER);
	st->pdptr[0] = vmcs_read64(GUEST_PDPTR0);
	st->pdptr[1] = vmcs_read64(GUEST_PDPTR1);
	st->pdptr[2] = vmcs_read64(GUEST_PDPTR2);
	st->pdptr[3] = vmcs_read64(GUEST_PDPTR3);
	st->long_mode = (st->efer & EFER_LMA) && (cs_ar & BIT(13));
	st->def32 = (st->cr0 & X86_CR0_PE) && (cs_ar & BIT(14));
}

#define PTE_PRESENT	BIT_ULL(0)
#define PTE_LARGE	BIT_ULL(7)
#define PTE_ADDR	GENMASK_ULL(51, 12)

static int vmx_read_pte(struct hvx_vm *vm, u64 gpa, u64 *pte, size_t size)
{
	*pte = 0;
	return hvx_read_guest(vm, gpa, pte, size);
}

/*
 * Translates a guest-linear address through the guest's page tables
 * (Intel SDM Vol. 3A, 4.3 to 4.5), for reading.
 */
static int vmx_linear_to_gpa(struct hvx_vm *vm,
			     const struct vmx_fetch_state *st, u64 la, u64 *gpa)
{
	u64 pte, table;
	int level;

	if (!(st->cr0 & X86_CR0_PG)) {
		*gpa = st->long_mode ? la : (u32)la;
		return 0;
	}

	if (!(st->cr4 & X86_CR4_PAE)) {
		/* 32-bit paging: 4-byte entries, 4 MiB pages with PSE. */
		la = (u32)la;
		if (vmx_read_pte(vm, (st->cr3 & 0xfffff000) + (la >> 22) * 4,
				 &pte, 4) || !(pte & PTE_PRESENT))
			return -EFAULT;
		if ((pte & PTE_LARGE) && (st->cr4 & X86_CR4_PSE)) {
			*gpa = (pte & 0xffc00000) | (la & 0x3fffff);
			return 0;
		}
		if (vmx_read_pte(vm, (pte & 0xfffff000) + ((la >> 12) & 1023) * 4,
				 &pte, 4) || !(pte & PTE_PRESENT))
			return -EFAULT;
		*gpa = (pte & 0xfffff000) | (la & 0xfff);
		return 0;
	}

	if (st->efer & EFER_LMA) {
		table = st->cr3 & PTE_ADDR;
		level = 4;
	} else {
		/* PAE: the PDPTEs were loaded into the VMCS. */
		la = (u32)la;
		pte = st->pdptr[(la >> 30) & 3];
		if (!(pte & PTE_PRESENT))
			return -EFAULT;
		table = pte & PTE_ADDR;
		level = 2;
	}
	for (; level >= 1; level--) {
		unsigned int shift = 12 + 9 * (level - 1);

		if (vmx_read_pte(vm, table + ((la >> shift) & 511) * 8, &pte, 8) ||
		    !(pte & PTE_PRESENT))
			return -EFAULT;
		if (level == 1 || (level <= 3 && (pte & PTE_LARGE))) {
			*gpa = (pte & PTE_ADDR & ~((1ULL << shift) - 1)) |
			       (la & ((1ULL << shift) - 1));
			return 0;
		}
		table = pte & PTE_ADDR;
	}
	return -EFAULT;
}

/* Reads up to @len instruction bytes at CS:RIP, page by page. */
static int vmx_fetch(struct hvx_vm *vm, const struct vmx_fetch_state *st,
		     u8 *buf, unsigned int len)
{
	u64 la = st->cs_base + st->rip;
	unsigned int done = 0;

	if (!st->long_mode)
		la = (u32)la;
	while (done < len) {
		unsigned int chunk = min_t(unsigned int, len - done,
					   PAGE_SIZE - offset_in_page(la + done));
		u64 gpa;

		if (vmx_linear_to_gpa(vm, st, la + done, &gpa) ||
		    hvx_read_guest(vm, gpa, buf + done, chunk))
			return done ? done : -EFAULT;
		done += chunk;
	}
	return done;
}

/* Length of a ModRM operand: ModRM, SIB and displacement bytes. */
static int vmx_modrm_len(const u8 *p, unsigned int avail, unsigned int asize)
{
	unsigned int mod, rm, len = 1;

	if (!avail)
		return -1;
	mod = p[0] >> 6;
	rm = p[0] & 7;
	if (mod == 3)
		return 1;
	if (asize == 2) {
		if (mod == 0 && rm == 6)
			return 3;
		return 1 + (mod == 1 ? 1 : mod == 2 ? 2 : 0);
	}
	if (rm == 4) {
		if (avail < 2)
			return -1;
		len++;
		if (mod == 0 && (p[1] & 7) == 5)
			len += 4;
	} else if (mod == 0 && rm == 5) {
		len += 4;
	}
	if (mod == 1)
		len += 1;
	else if (mod == 2)
		len += 4;
	return len;
}

/**
 * struct vmx_mmio_insn - a decoded MMIO instruction
 * @len:	instruction length.
 * @size:	bytes accessed in memory.
 * @write:	a store to memory.
 * @reg:	the register operand (HVX_REG_*), or -1 for an immediate.
 * @high8:	@reg is AH, CH, DH or BH.
 * @dst_size:	for a load, the size of the destination register.
 * @sign:	for a load, sign-extend (MOVSX); otherwise zero-extend.
 * @imm:	the immediate stored.
 */
struct vmx_mmio_insn {
	unsigned int len, size, dst_size;
	int reg;
	bool write, high8, sign;
	u64 imm;
};

static int vmx_decode_mmio(const u8 *p, unsigned int avail,
			   const struct vmx_fetch_state *st,
			   struct vmx_mmio_insn *in)
{
	unsigned int osize = st->long_mode || st->def32 ? 4 : 2;
	unsigned int asize = st->long_mode ? 8 : st->def32 ? 4 : 2;
	unsigned int i = 0, op, rex = 0, reg;
	int mlen;

	memset(in, 0, sizeof(*in));
	/* Legacy prefixes. */
	for (; i < avail; i++) {
		if (p[i] == 0x66)
			osize = osize == 2 ? 4 : 2;
		else if (p[i] == 0x67)
			asize = st->long_mode ? 4 : asize == 2 ? 4 : 2;
		else if (p[i] == 0x2e || p[i] == 0x36 || p[i] == 0x3e ||
			 p[i] == 0x26 || p[i] == 0x64 || p[i] == 0x65)
			continue;
		else
			break;
	}
	if (st->long_mode && i < avail && (p[i] & 0xf0) == 0x40)
		rex = p[i++];
	if (rex & 8)
		osize = 8;
	if (i >= avail)
		return -EINVAL;

	op = p[i++];
	if (op == 0x0f) {
		if (i >= avail)
			return -EINVAL;
		op = 0x100 | p[i++];
	}

	switch (op) {
	case 0x88: case 0x89: case 0x8a: case 0x8b:
	case 0xc6: case 0xc7:
	case 0x1b6: case 0x1b7: case 0x1be: case 0x1bf:
		break;
	case 0xa0: case 0xa1: case 0xa2: case 0xa3:
		/* MOV between AL/rAX and a moffs of the address size. */
		in->reg = HVX_REG_RAX;
		in->size = op & 1 ? osize : 1;
		in->dst_size = in->size;
		in->write = op >= 0xa2;
		in->len = i + asize;
		return in->len <= avail ? 0 : -EINVAL;
	default:
		return -EINVAL;
	}

	mlen = vmx_modrm_len(p + i, avail - i, asize);
	if (mlen < 0 || (p[i] >> 6) == 3)
		return -EINVAL;
	reg = ((p[i] >> 3) & 7) | (rex & 4 ? 8 : 0);
	i += mlen;

	switch (op) {
	case 0x88:	/* MOV r/m8, r8 */
	case 0x8a:	/* MOV r8, r/m8 */
		in->size = 1;
		in->dst_size = 1;
		in->write = op == 0x88;
		in->reg = reg;
		/* Without REX, registers 4-7 are AH, CH, DH, BH. */
		if (!rex && reg >= 4) {
			in->reg = reg - 4;
			in->high8 = true;
		}
		break;
	case 0x89:	/* MOV r/m, r */
	case 0x8b:	/* MOV r, r/m */
		in->size = osize;
		in->dst_size = osize;
		in->write = op == 0x89;
		in->reg = reg;
		break;
	case 0xc6:	/* MOV r/m8, imm8 */
	case 0xc7:	/* MOV r/m, imm16/32 (sign-extended to 64) */
		if (reg & 7)
			return -EINVAL;
		in->size = op == 0xc6 ? 1 : osize;
		in->write = true;
		in->reg = -1;
		if (in->size == 1) {
			if (i + 1 > avail)
				return -EINVAL;
			in->imm = p[i];
			i += 1;
		} else if (in->size == 2) {
			if (i + 2 > avail)
				return -EINVAL;
			in->imm = p[i] | p[i + 1] << 8;
			i += 2;
		} else {
			if (i + 4 > avail)
				return -EINVAL;
			in->imm = (s64)(s32)(p[i] | p[i + 1] << 8 |
					     p[i + 2] << 16 | (u32)p[i + 3] << 24);
			i += 4;
		}
		break;
	default:	/* MOVZX, MOVSX r, r/m8 or r/m16 */
		in->size = op & 1 ? 2 : 1;
		in->dst_size = osize;
		in->sign = op >= 0x1be;
		in->reg = reg;
		break;
	}
	in->len = i;
	return 0;
}

/* Writes @val to a register as an instruction of operand size @size does. */
static void vmx_reg_store(struct vmx_vcpu *vcpu, int reg, bool high8,
			  unsigned int size, u64 val)
{
	unsigned long old = vmx_reg_read(vcpu, reg);

	switch (size) {
	case 1:
		if (high8)
			val = (old & ~0xff00UL) | (val & 0xff) << 8;
		else
			val = (old & ~0xffUL) | (val & 0xff);
		break;
	case 2:
		val = (old & ~0xffffUL) | (val & 0xffff);
		break;
	case 4:
		val = (u32)val;		/* clears bits 63:32 */
		break;
	}
	vmx_reg_write(vcpu, reg, val);
}

/**
 * vmx_emulate_mmio() - decode the instruction that accessed MMIO at @gpa
 * @hv: the vCPU; called from KVM_RUN with preemption enabled.
 * @gpa: the guest-physical address, outside every memory slot.
 *
 * Fills kvm_run->mmio (KVM_EXIT_MMIO) or, for an instruction hvx cannot
 * emulate, kvm_run->internal (KVM_INTERNAL_ERROR_EMULATION) with the
 * instruction bytes; the guest state is then unchanged.
 *
 * Return: 0 (exit to userspace).
 */
int vmx_emulate_mmio(struct hvx_vcpu *hv, u64 gpa)
{
	struct vmx_vcpu *vcpu = to_vmx(hv);
	struct kvm_run *run = hv->run;
	struct vmx_fetch_state st;
	struct vmx_mmio_insn in;
	u8 bytes[15];
	int n;

	preempt_disable();
	vmx_vcpu_load(vcpu);
	vmx_read_fetch_state(&st);
	preempt_enable();

	n = vmx_fetch(hv->vm, &st, bytes, sizeof(bytes));
	if (n <= 0 || vmx_decode_mmio(bytes, n, &st, &in)) {
		run->exit_reason = KVM_EXIT_INTERNAL_ERROR;
		run->internal.suberror = KVM_INTERNAL_ERROR_EMULATION;
		run->internal.ndata = 3;
		run->internal.data[0] = gpa;
		run->internal.data[1] = st.rip;
		memcpy(&run->internal.data[2], bytes, 8);
		return 0;
	}

	run->exit_reason = KVM_EXIT_MMIO;
	run->mmio.phys_addr = gpa;
	run->mmio.len = in.size;
	run->mmio.is_write = in.write;
	memset(run->mmio.data, 0, sizeof(run->mmio.data));

	preempt_disable();
	vmx_vcpu_load(vcpu);
	if (in.write) {
		u64 val = in.reg < 0 ? in.imm : vmx_reg_read(vcpu, in.reg);

		if (in.high8)
			val >>= 8;
		memcpy(run->mmio.data, &val, in.size);
		vmcs_writel(GUEST_RIP, st.rip + in.len);
	} else {
		vcpu->mmio_len = in.len;
		vcpu->mmio_size = in.size;
		vcpu->mmio_dst_size = in.dst_size;
		vcpu->mmio_reg = in.reg;
		vcpu->mmio_high8 = in.high8;
		vcpu->mmio_sign = in.sign;
		vcpu->mmio_rip = st.rip;
	}
	preempt_enable();
	return 0;
}

/**
 * vmx_complete_mmio_read() - finish a load once userspace supplied the data
 * @vcpu: the vCPU, its VMCS current.
 *
 * As on KVM, nothing completes if userspace moved RIP meanwhile.
 */
void vmx_complete_mmio_read(struct vmx_vcpu *vcpu)
{
	const struct kvm_run *run = vcpu->vcpu.run;
	u64 val = 0;

	if (vmcs_readl(GUEST_RIP) == vcpu->mmio_rip) {
		memcpy(&val, run->mmio.data, vcpu->mmio_size);
		if (vcpu->mmio_sign)
			val = vcpu->mmio_size == 1 ? (u64)(s8)val :
						     (u64)(s16)val;
		vmx_reg_store(vcpu, vcpu->mmio_reg, vcpu->mmio_high8,
			      vcpu->mmio_dst_size, val);
		vmcs_writel(GUEST_RIP, vcpu->mmio_rip + vcpu->mmio_len);
	}
	vcpu->mmio_len = 0;
}

/*
 * String port I/O (INS, OUTS, with or without REP), reported to userspace
 * as KVM reports it: an OUTS element per exit (count 1); an INS exit asks
 * for as many elements as fit in the rest of the destination page, at most
 * 1024 bytes and RCX (count).  The instruction completes, element by
 * element, on the next KVM_RUN; a REP form with elements left runs again.
 */

static unsigned long vmx_addr_mask(unsigned int asize)
{
	return asize == 8 ? ~0UL : (1UL << (asize * 8)) - 1;
}

/* Writes an address-size register as the instruction would. */
static void vmx_reg_store_addr(struct vmx_vcpu *vcpu, int reg,
			       unsigned int asize, unsigned long val)
{
	vmx_reg_store(vcpu, reg, false, asize, val);
}

/* Reads or writes @len bytes at guest-linear @la, page by page. */
static int vmx_access_linear(struct hvx_vm *vm,
			     const struct vmx_fetch_state *st, u64 la,
			     void *buf, unsigned int len, bool write)
{
	while (len) {
		unsigned int chunk = min_t(unsigned int, len,
					   PAGE_SIZE - offset_in_page(la));
		u64 gpa;
		int r;

		r = vmx_linear_to_gpa(vm, st, la, &gpa);
		if (!r)
			r = write ? hvx_write_guest(vm, gpa, buf, chunk) :
				    hvx_read_guest(vm, gpa, buf, chunk);
		if (r)
			return r;
		la += chunk;
		buf += chunk;
		len -= chunk;
	}
	return 0;
}

/**
 * vmx_emulate_string_io() - start a string I/O instruction for userspace
 * @hv: the vCPU; called from KVM_RUN with preemption enabled, after
 *	handle_io() recorded the exit in @hv's sio state.
 *
 * Return: HVX_RUN_USER (KVM_EXIT_IO or an emulation error), HVX_RUN_AGAIN
 * when there was nothing to transfer.
 */
int vmx_emulate_string_io(struct hvx_vcpu *hv)
{
	struct vmx_vcpu *vcpu = to_vmx(hv);
	struct vmx_string_io *sio = &vcpu->sio;
	struct kvm_run *run = hv->run;
	struct vmx_fetch_state st;
	unsigned long count;
	unsigned int n;

	preempt_disable();
	vmx_vcpu_load(vcpu);
	vmx_read_fetch_state(&st);
	count = sio->rep ? vcpu->regs[HVX_REG_RCX] & vmx_addr_mask(sio->asize) : 1;
	if (!count) {
		vmcs_writel(GUEST_RIP, sio->rip + sio->len);
		preempt_enable();
		return HVX_RUN_AGAIN;
	}
	preempt_enable();

	if (sio->in) {
		unsigned int in_page = sio->df ? offset_in_page(sio->la) :
				       PAGE_SIZE - offset_in_page(sio->la);

		n = min3((unsigned long)in_page, 1024UL / sio->size, count);
		if (!n)
			n = 1;
	} else {
		n = 1;
		if (vmx_access_linear(hv->vm, &st, sio->la, hv->pio_data,
				      sio->size, false))
			goto err_emulation;
	}

	run->exit_reason = KVM_EXIT_IO;
	run->io.direction = sio->in ? KVM_EXIT_IO_IN : KVM_EXIT_IO_OUT;
	run->io.size = sio->size;
	run->io.port = sio->port;
	run->io.count = n;
	run->io.data_offset = KVM_PIO_PAGE_OFFSET * PAGE_SIZE;
	sio->count = n;
	return HVX_RUN_USER;

err_emulation:
	sio->count = 0;
	run->exit_reason = KVM_EXIT_INTERNAL_ERROR;
	run->internal.suberror = KVM_INTERNAL_ERROR_EMULATION;
	run->internal.ndata = 2;
	run->internal.data[0] = sio->la;
	run->internal.data[1] = sio->rip;
	return HVX_RUN_USER;
}

/**
 * vmx_complete_string_io() - finish the elements userspace handled
 * @vcpu: the vCPU; preemption enabled (guest memory is written).
 */
void vmx_complete_string_io(struct vmx_vcpu *vcpu)
{
	struct vmx_string_io *sio = &vcpu->sio;
	struct hvx_vcpu *hv = &vcpu->vcpu;
	struct vmx_fetch_state st;
	unsigned long mask = vmx_addr_mask(sio->asize);
	unsigned int i, n = sio->count;
	int reg = sio->in ? HVX_REG_RDI : HVX_REG_RSI;
	long step = sio->df ? -(long)sio->size : sio->size;
	unsigned long rcx;

	sio->count = 0;
	preempt_disable();
	vmx_vcpu_load(vcpu);
	vmx_read_fetch_state(&st);
	preempt_enable();
	if (st.rip != sio->rip)
		return;

	if (sio->in) {
		for (i = 0; i < n; i++)
			if (vmx_access_linear(hv->vm, &st, sio->la + i * step,
					      hv->pio_data + i * sio->size,
					      sio->size, true))
				break;
		n = i;
	}

	preempt_disable();
	vmx_vcpu_load(vcpu);
	vmx_reg_store_addr(vcpu, reg, sio->asize,
			   (vmx_reg_read(vcpu, reg) + n * step) & mask);
	rcx = vcpu->regs[HVX_REG_RCX];
	if (sio->rep) {
		rcx = ((rcx & mask) - n) & mask;
		vmx_reg_store_addr(vcpu, HVX_REG_RCX, sio->asize, rcx);
	}
	/* A REP form with elements left executes again. */
	if (!sio->rep || !rcx)
		vmcs_writel(GUEST_RIP, sio->rip + sio->len);
	preempt_enable();
}
