// SPDX-License-Identifier: GPL-2.0
/*
 * hvx VT-x backend: completing MMIO accesses and string port I/O.
 *
 * A guest access outside every memory slot exits on an EPT violation that
 * gives the guest-physical address but not the access size, direction or
 * data.  The instruction is fetched from guest memory (through the guest's
 * page tables) and decoded by decode.c, which accepts only the forms
 * compilers emit for MMIO: MOV (registers, immediates, moffs), MOVZX,
 * MOVSX, MOVSXD, STOS and MOVS.  Anything else is reported as an emulation
 * failure, never guessed.  Writes complete at once; reads complete on the
 * next KVM_RUN with the data userspace put in kvm_run->mmio.data.
 */
#include <linux/kvm.h>
#include <linux/mm.h>

#include "bus.h"
#include "decode.h"
#include "vmcs.h"
#include "vmx.h"

/**
 * vmx_read_fetch_state() - the guest state that fetching and decoding need
 * @st: filled from the VMCS, which must be current.
 */
void vmx_read_fetch_state(struct vmx_fetch_state *st)
{
	u32 cs_ar = vmcs_read32(GUEST_CS_AR_BYTES);

	st->rip = vmcs_readl(GUEST_RIP);
	st->cs_base = vmcs_readl(GUEST_CS_BASE);
	st->cr0 = vmx_guest_cr0();
	st->cr3 = vmcs_readl(GUEST_CR3);
	st->cr4 = vmx_guest_cr4();
	st->efer = vmcs_read64(GUEST_IA32_EFER);
	st->pdptr[0] = vmcs_read64(GUEST_PDPTR0);
	st->pdptr[1] = vmcs_read64(GUEST_PDPTR1);
	st->pdptr[2] = vmcs_read64(GUEST_PDPTR2);
	st->pdptr[3] = vmcs_read64(GUEST_PDPTR3);
	st->long_mode = (st->efer & EFER_LMA) && (cs_ar & BIT(13));
	st->def32 = (st->cr0 & X86_CR0_PE) && (cs_ar & BIT(14));
}

/**
 * vmx_get_fetch_state() - vmx_read_fetch_state(), the VMCS made current
 * for it
 * @vcpu: the vCPU.
 * @st: filled.
 *
 * Return: 0, or -EIO if the VMCS could not be used.
 */
int vmx_get_fetch_state(struct vmx_vcpu *vcpu, struct vmx_fetch_state *st)
{
	int r = vmx_vmcs_enter(vcpu);

	if (r)
		return r;
	vmx_read_fetch_state(st);
	return vmx_vmcs_leave(vcpu);
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
 * vmx_reg_store_addr() - write an address-size register as an instruction
 * would
 * @vcpu: the vCPU, its VMCS current.
 * @reg: the register (HVX_REG_*).
 * @asize: the address size in bytes.
 * @val: the value.
 */
void vmx_reg_store_addr(struct vmx_vcpu *vcpu, int reg, unsigned int asize,
			unsigned long val)
{
	vmx_reg_store(vcpu, reg, false, asize, val);
}

/**
 * vmx_access_linear() - read or write guest-linear memory, page by page
 * @vm: the VM.
 * @st: the guest state (paging mode, CR3) from vmx_read_fetch_state().
 * @la: the guest-linear address.
 * @buf: the data.
 * @len: its length in bytes.
 * @write: write @buf to the guest, else read into it.
 *
 * Return: 0, or -errno when a page is not mapped or not in a slot.
 */
int vmx_access_linear(struct hvx_vm *vm, const struct vmx_fetch_state *st,
		      u64 la, void *buf, unsigned int len, bool write)
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

/* EPT-violation exit qualification bits (Intel SDM Vol. 3C, 28.2.1). */
#define VMX_EPT_QUAL_WRITE	BIT(1)
#define VMX_EPT_QUAL_FETCH	BIT(2)
#define VMX_EPT_QUAL_LA_VALID	BIT(7)
#define VMX_EPT_QUAL_TRANSLATED	BIT(8)

static unsigned int vmx_code_size(const struct vmx_fetch_state *st)
{
	return st->long_mode ? 8 : st->def32 ? 4 : 2;
}

/*
 * The decoder numbers segments as the x86 encoding does (ES, CS, SS, DS,
 * FS, GS), the order of the VMCS guest segment fields (Intel SDM Vol. 3D,
 * B.1.2 and B.4.3): a segment's field is the ES field plus 2 * segment.
 */
#define vmx_seg_base_field(seg)	(GUEST_ES_BASE + 2 * (seg))
static_assert(vmx_seg_base_field(HVX_SEG_CS) == GUEST_CS_BASE);
static_assert(vmx_seg_base_field(HVX_SEG_SS) == GUEST_SS_BASE);
static_assert(vmx_seg_base_field(HVX_SEG_DS) == GUEST_DS_BASE);
static_assert(vmx_seg_base_field(HVX_SEG_FS) == GUEST_FS_BASE);
static_assert(vmx_seg_base_field(HVX_SEG_GS) == GUEST_GS_BASE);

/*
 * The guest-linear address of a string operand: seg base + rSI or rDI
 * (neither is RSP, so the VMCS need not be current).
 */
static u64 vmx_string_la(struct vmx_vcpu *vcpu,
			 const struct vmx_fetch_state *st,
			 const struct hvx_insn *in, unsigned int seg, int reg)
{
	u64 la = vcpu->regs[reg] & vmx_addr_mask(in->asize);

	/* 64-bit code ignores the ES, CS, SS and DS bases (SDM 3.4.4). */
	if (!st->long_mode || seg == HVX_SEG_FS || seg == HVX_SEG_GS)
		la += st->seg_base[seg];
	return st->long_mode ? la : (u32)la;
}

/*
 * Reports an instruction hvx cannot emulate as KVM does: the emulation
 * sub-error with the instruction bytes (flags, insn_size, insn_bytes), then
 * debug data that is not ABI: the exit reason, the exit qualification and
 * the guest-physical address.  The guest state is left as it was.
 */
static int vmx_mmio_failure(struct vmx_vcpu *vcpu, const u8 *bytes, int n,
			    unsigned long qual, u64 gpa)
{
	struct kvm_run *run = vcpu->vcpu.run;
	unsigned int nd = 1;

	run->exit_reason = KVM_EXIT_INTERNAL_ERROR;
	run->emulation_failure.suberror = KVM_INTERNAL_ERROR_EMULATION;
	run->emulation_failure.flags = 0;
	if (n > 0) {
		n = min_t(int, n, sizeof(run->emulation_failure.insn_bytes));
		run->emulation_failure.flags =
			KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES;
		run->emulation_failure.insn_size = n;
		memset(run->emulation_failure.insn_bytes, 0x90,
		       sizeof(run->emulation_failure.insn_bytes));
		memcpy(run->emulation_failure.insn_bytes, bytes, n);
		nd = 3;
	}
	run->internal.data[nd++] = (u16)vcpu->exit_reason;
	run->internal.data[nd++] = qual;
	run->internal.data[nd++] = gpa;
	run->emulation_failure.ndata = nd;
	return 0;
}

/*
 * The access that faulted must be the one the instruction makes: a data
 * access (not a fetch, not a guest paging-structure access) in the
 * direction the decoder found.  Anything else, e.g. an instruction that
 * another vCPU rewrote since the exit, is not emulated.
 */
static bool vmx_mmio_qual_ok(unsigned long qual, const struct hvx_insn *in)
{
	bool write = qual & VMX_EPT_QUAL_WRITE;

	if ((qual & VMX_EPT_QUAL_FETCH) ||
	    !(qual & VMX_EPT_QUAL_LA_VALID) || !(qual & VMX_EPT_QUAL_TRANSLATED))
		return false;
	switch (in->op) {
	case HVX_INSN_LOAD:
		return !write;
	case HVX_INSN_STORE:
	case HVX_INSN_STOS:
		return write;
	default:	/* MOVS: a read of the source or a write of the destination */
		return true;
	}
}

/* Ends an emulated instruction: RIP past it, RFLAGS.RF cleared (SDM 18.3.1.1). */
static void vmx_mmio_done(unsigned long rip, const struct hvx_insn *in)
{
	vmcs_writel(GUEST_RIP, rip + in->len);
	vmcs_writel(GUEST_RFLAGS, vmcs_readl(GUEST_RFLAGS) & ~X86_EFLAGS_RF);
}

/*
 * Steps rSI/rDI (and rCX for REP) past one string element.  A REP form
 * stays at its RIP with RFLAGS.RF set, as after an interrupted REP
 * iteration, and runs again: the next element faults and exits (one exit
 * per element, as on KVM); once rCX is 0 the guest executes it as a no-op.
 * KVM leaves RF alone after a load that is not the last one (it goes on
 * emulating the next element at once), so @set_rf says whether to set it.
 */
static void vmx_string_step(struct vmx_vcpu *vcpu, const struct hvx_insn *in,
			    unsigned long rip, bool set_rf)
{
	unsigned long mask = vmx_addr_mask(in->asize);
	unsigned long rflags = vmcs_readl(GUEST_RFLAGS);
	long step = rflags & X86_EFLAGS_DF ? -(long)in->size : in->size;

	if (in->op == HVX_INSN_MOVS)
		vmx_reg_store_addr(vcpu, HVX_REG_RSI, in->asize,
				   vmx_reg_read(vcpu, HVX_REG_RSI) + step);
	vmx_reg_store_addr(vcpu, HVX_REG_RDI, in->asize,
			   vmx_reg_read(vcpu, HVX_REG_RDI) + step);
	if (!in->rep) {
		vmx_mmio_done(rip, in);
		return;
	}
	vmx_reg_store_addr(vcpu, HVX_REG_RCX, in->asize,
			   (vmx_reg_read(vcpu, HVX_REG_RCX) - 1) & mask);
	if (set_rf)
		vmcs_writel(GUEST_RFLAGS, rflags | X86_EFLAGS_RF);
}

/*
 * A MOV to or from an in-kernel device's MMIO (the local APIC, the
 * IOAPIC, an ioeventfd): done here, with no exit.  The VMCS is current.
 * False when no device takes the access.
 */
static bool vmx_mmio_in_kernel(struct vmx_vcpu *vcpu, const struct hvx_insn *in,
			       unsigned long rip, u64 gpa, bool write)
{
	u64 val = 0;

	if (write) {
		val = in->reg < 0 ? in->imm : vmx_reg_read(vcpu, in->reg);
		if (in->high8)
			val >>= 8;
		if (hvx_mmio(&vcpu->vcpu, gpa, in->size, &val, true))
			return false;
	} else {
		if (hvx_mmio(&vcpu->vcpu, gpa, in->size, &val, false))
			return false;
		if (in->sign)
			val = in->size == 1 ? (u64)(s8)val :
			      in->size == 2 ? (u64)(s16)val : (u64)(s32)val;
		vmx_reg_store(vcpu, in->reg, in->high8, in->dst_size, val);
	}
	vmx_mmio_done(rip, in);
	return true;
}

/**
 * vmx_emulate_mmio() - decode the instruction that accessed MMIO at @gpa
 * @hv: the vCPU; called from KVM_RUN with preemption enabled, right after
 *	the EPT violation (the VMCS exit fields still describe it).
 * @gpa: the guest-physical address, outside every memory slot.
 *
 * Fills kvm_run->mmio (KVM_EXIT_MMIO) or, for an instruction hvx does not
 * emulate, kvm_run->emulation_failure (KVM_INTERNAL_ERROR_EMULATION), the
 * guest state then unchanged.  A store completes at once (registers and
 * RIP advance before the exit, as on KVM); a load completes on the next
 * KVM_RUN (vmx_complete_mmio()).
 *
 * Return: HVX_RUN_USER (exit to userspace), HVX_RUN_AGAIN when an
 * in-kernel device handled the access, or -EIO.
 */
int vmx_emulate_mmio(struct hvx_vcpu *hv, u64 gpa)
{
	struct vmx_vcpu *vcpu = to_vmx(hv);
	struct kvm_run *run = hv->run;
	struct vmx_fetch_state st;
	unsigned long qual;
	struct hvx_insn in;
	u64 val = 0, la = 0, fault_la;
	unsigned int seg;
	u8 bytes[15];
	int n;

	/*
	 * Everything this needs from the VMCS, read at once: the decoding
	 * below reads guest memory, which may sleep.
	 */
	if (vmx_vmcs_enter(vcpu))
		return -EIO;
	vmx_read_fetch_state(&st);
	qual = vmcs_readl(EXIT_QUALIFICATION);
	fault_la = vmcs_readl(GUEST_LINEAR_ADDRESS);
	for (seg = 0; seg < ARRAY_SIZE(st.seg_base); seg++)
		st.seg_base[seg] = __vmcs_read(vmx_seg_base_field(seg));
	if (vmx_vmcs_leave(vcpu))
		return -EIO;

	n = vmx_fetch(hv->vm, &st, bytes, sizeof(bytes));
	if (n <= 0)
		return vmx_mmio_failure(vcpu, NULL, 0, qual, gpa);
	if (hvx_decode_insn(bytes, n, vmx_code_size(&st), &in) ||
	    !vmx_mmio_qual_ok(qual, &in) ||
	    offset_in_page(gpa) + in.size > PAGE_SIZE)
		return vmx_mmio_failure(vcpu, bytes, n, qual, gpa);

	if (in.op == HVX_INSN_STOS || in.op == HVX_INSN_MOVS) {
		bool write = qual & VMX_EPT_QUAL_WRITE;
		bool bad;

		/*
		 * The fault must be on the current element, all of it in the
		 * MMIO page; la is the other operand of MOVS.
		 */
		bad = in.rep && !(vcpu->regs[HVX_REG_RCX] &
				  vmx_addr_mask(in.asize));
		la = write ? vmx_string_la(vcpu, &st, &in, HVX_SEG_ES, HVX_REG_RDI) :
			     vmx_string_la(vcpu, &st, &in, in.seg, HVX_REG_RSI);
		bad |= la != fault_la;
		if (in.op == HVX_INSN_MOVS)
			la = write ? vmx_string_la(vcpu, &st, &in, in.seg, HVX_REG_RSI) :
				     vmx_string_la(vcpu, &st, &in, HVX_SEG_ES, HVX_REG_RDI);
		if (bad)
			return vmx_mmio_failure(vcpu, bytes, n, qual, gpa);
	}

	/*
	 * MOVS: the other operand is guest memory, read now for a write to
	 * MMIO, checked now and written on completion for a read from MMIO.
	 * MMIO on both sides is not emulated.
	 */
	if (in.op == HVX_INSN_MOVS &&
	    vmx_access_linear(hv->vm, &st, la, &val, in.size, false))
		return vmx_mmio_failure(vcpu, bytes, n, qual, gpa);

	if ((in.op == HVX_INSN_LOAD || in.op == HVX_INSN_STORE) &&
	    (hv->lapic || rcu_access_pointer(hv->vm->buses[HVX_BUS_MMIO]))) {
		bool done;

		if (vmx_vmcs_enter(vcpu))
			return -EIO;
		done = vmx_mmio_in_kernel(vcpu, &in, st.rip, gpa,
					  qual & VMX_EPT_QUAL_WRITE);
		if (vmx_vmcs_leave(vcpu))
			return -EIO;
		if (done)
			return HVX_RUN_AGAIN;
	}

	run->exit_reason = KVM_EXIT_MMIO;
	run->mmio.phys_addr = gpa;
	run->mmio.len = in.size;
	run->mmio.is_write = !!(qual & VMX_EPT_QUAL_WRITE);
	memset(run->mmio.data, 0, sizeof(run->mmio.data));

	if (vmx_vmcs_enter(vcpu))
		return -EIO;
	switch (in.op) {
	case HVX_INSN_STORE:
		val = in.reg < 0 ? in.imm : vmx_reg_read(vcpu, in.reg);
		if (in.high8)
			val >>= 8;
		memcpy(run->mmio.data, &val, in.size);
		vmx_mmio_done(st.rip, &in);
		break;
	case HVX_INSN_STOS:
		val = vmx_reg_read(vcpu, HVX_REG_RAX);
		memcpy(run->mmio.data, &val, in.size);
		vmx_string_step(vcpu, &in, st.rip, true);
		break;
	case HVX_INSN_MOVS:
		if (run->mmio.is_write) {
			memcpy(run->mmio.data, &val, in.size);
			vmx_string_step(vcpu, &in, st.rip, true);
			break;
		}
		fallthrough;
	default:
		vcpu->mmio_insn = in;
		vcpu->mmio_rip = st.rip;
		vcpu->mmio_la = la;
		vcpu->mmio_pending = true;
		break;
	}
	return vmx_vmcs_leave(vcpu);
}

/**
 * vmx_complete_mmio() - finish an MMIO load once userspace supplied the data
 * @vcpu: the vCPU; preemption enabled (MOVS writes guest memory).
 *
 * As on KVM, nothing completes if userspace moved RIP meanwhile.
 *
 * Return: 0, or -EIO if the VMCS could not be used.
 */
int vmx_complete_mmio(struct vmx_vcpu *vcpu)
{
	const struct hvx_insn *in = &vcpu->mmio_insn;
	const struct kvm_run *run = vcpu->vcpu.run;
	struct vmx_fetch_state st;
	u64 val = 0;

	vcpu->mmio_pending = false;
	if (vmx_get_fetch_state(vcpu, &st))
		return -EIO;
	if (st.rip != vcpu->mmio_rip)
		return 0;

	memcpy(&val, run->mmio.data, in->size);
	if (in->op == HVX_INSN_MOVS &&
	    vmx_access_linear(vcpu->vcpu.vm, &st, vcpu->mmio_la, &val,
			      in->size, true))
		return 0;

	if (vmx_vmcs_enter(vcpu))
		return -EIO;
	if (in->op == HVX_INSN_MOVS) {
		vmx_string_step(vcpu, in, vcpu->mmio_rip,
				!((vmx_reg_read(vcpu, HVX_REG_RCX) - 1) &
				  vmx_addr_mask(in->asize)));
	} else {
		if (in->sign)
			val = in->size == 1 ? (u64)(s8)val :
			      in->size == 2 ? (u64)(s16)val : (u64)(s32)val;
		vmx_reg_store(vcpu, in->reg, in->high8, in->dst_size, val);
		vmx_mmio_done(vcpu->mmio_rip, in);
	}
	return vmx_vmcs_leave(vcpu);
}
