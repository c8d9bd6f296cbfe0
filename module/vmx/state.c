// SPDX-License-Identifier: GPL-2.0
/*
 * hvx VT-x backend: the guest's architectural state in the VMCS and the
 * vCPU: control registers and EFER.LMA, segments, KVM_GET/SET_(S)REGS,
 * RIP past an instruction, and the state after RESET.
 *
 * Guest CR0 and CR4 bits other than VMX_CR0_GUEST_OWNED are owned by hvx:
 * writes exit and are checked here; CR0.PG with EFER.LME switches the
 * "IA-32e mode guest" entry control (Intel SDM Vol. 3C, 26.3.1.1).
 */
#include <linux/bits.h>
#include <linux/build_bug.h>
#include <linux/kvm.h>
#include <linux/string.h>
#include <asm/cpufeature.h>
#include <asm/processor.h>
#include <asm/processor-flags.h>

#include "capabilities.h"
#include "cpuid.h"
#include "msr.h"
#include "vmcs.h"
#include "vmx.h"

static void vmx_load_pdptrs(struct vmx_vcpu *vcpu, unsigned long cr3)
{
	u64 pdpte[4] = {};

	/* A missing or unreadable PDPT reads as not-present entries. */
	hvx_read_guest(vcpu->vcpu.vm, cr3 & ~0x1fUL & 0xffffffffUL, pdpte,
		       sizeof(pdpte));
	vmcs_write64(GUEST_PDPTR0, pdpte[0]);
	vmcs_write64(GUEST_PDPTR1, pdpte[1]);
	vmcs_write64(GUEST_PDPTR2, pdpte[2]);
	vmcs_write64(GUEST_PDPTR3, pdpte[3]);
}

static bool vmx_pae_paging(unsigned long cr0, unsigned long cr4, u64 efer)
{
	return (cr0 & X86_CR0_PG) && (cr4 & X86_CR4_PAE) && !(efer & EFER_LMA);
}

static void vmx_set_ia32e_mode(bool on)
{
	u32 entry = vmcs_read32(VM_ENTRY_CONTROLS);

	if (on)
		entry |= VM_ENTRY_IA32E_MODE;
	else
		entry &= ~VM_ENTRY_IA32E_MODE;
	vmcs_write32(VM_ENTRY_CONTROLS, entry);
}

/*
 * The checks a real CPU makes on a MOV to CR0 or CR4 (#GP) and those of
 * KVM_SET_SREGS, in one place each (Intel SDM Vol. 3A, 2.5; Vol. 3C, 24.8).
 * With unrestricted guest, PE and PG may be 0 whatever IA32_VMX_CR0_FIXED0
 * says.
 */
static bool vmx_cr0_valid(unsigned long cr0)
{
	if (cr0 >> 32)
		return false;
	if ((cr0 & X86_CR0_NW) && !(cr0 & X86_CR0_CD))
		return false;
	if ((cr0 & X86_CR0_PG) && !(cr0 & X86_CR0_PE))
		return false;
	return !((cr0 | vmx_cr0_fixed0()) & ~vmx_config.cr0_fixed1);
}

static bool vmx_cr4_valid(unsigned long cr4)
{
	return !(cr4 & ~VMX_CR4_GUEST_ALLOWED) &&
	       !((cr4 | vmx_config.cr4_fixed0) & ~vmx_config.cr4_fixed1);
}

/* The guest CR0 and CR4 fields and their read shadows. */
static void vmx_write_cr0(unsigned long cr0)
{
	vmcs_writel(CR0_READ_SHADOW, cr0);
	vmcs_writel(GUEST_CR0, cr0 | vmx_cr0_fixed0());
}

static void vmx_write_cr4(struct vmx_vcpu *vcpu, unsigned long cr4)
{
	vmcs_writel(CR4_READ_SHADOW, cr4);
	vmcs_writel(GUEST_CR4, cr4 | vmx_config.cr4_fixed0);
	/* A bit hvx owns: its value is known without a VMREAD. */
	vcpu->guest_osxsave = cr4 & X86_CR4_OSXSAVE;
}

/**
 * vmx_set_cr0() - the guest or the VMM sets CR0
 * @vcpu: the vCPU, its VMCS current.
 * @cr0: the new value as the guest sees it.
 *
 * Enables or disables long mode when paging changes with EFER.LME set.
 *
 * Return: 0, or -EINVAL when a real CPU would raise #GP.
 */
int vmx_set_cr0(struct vmx_vcpu *vcpu, unsigned long cr0)
{
	unsigned long old = vmx_guest_cr0();
	unsigned long cr4 = vmx_guest_cr4();
	u64 efer = vmcs_read64(GUEST_IA32_EFER);

	if (!vmx_cr0_valid(cr0))
		return -EINVAL;

	if (!(old & X86_CR0_PG) && (cr0 & X86_CR0_PG) && (efer & EFER_LME)) {
		if (!(cr4 & X86_CR4_PAE))
			return -EINVAL;
		efer |= EFER_LMA;
		vmx_set_ia32e_mode(true);
	} else if ((old & X86_CR0_PG) && !(cr0 & X86_CR0_PG) &&
		   (efer & EFER_LMA)) {
		efer &= ~EFER_LMA;
		vmx_set_ia32e_mode(false);
	}
	vmcs_write64(GUEST_IA32_EFER, efer);
	vmx_write_cr0(cr0);
	if (vmx_pae_paging(cr0, cr4, efer) && !vmx_pae_paging(old, cr4, efer))
		vmx_load_pdptrs(vcpu, vmcs_readl(GUEST_CR3));
	return 0;
}

/**
 * vmx_set_cr4() - the guest or the VMM sets CR4
 * @vcpu: the vCPU, its VMCS current.
 * @cr4: the new value as the guest sees it.
 *
 * Return: 0, or -EINVAL for bits hvx does not give guests (VMXE among them:
 * VMX instructions are not available in the guest) or when a real CPU
 * would raise #GP.
 */
int vmx_set_cr4(struct vmx_vcpu *vcpu, unsigned long cr4)
{
	unsigned long old = vmx_guest_cr4();
	unsigned long cr0 = vmx_guest_cr0();
	u64 efer = vmcs_read64(GUEST_IA32_EFER);

	if (!vmx_cr4_valid(cr4))
		return -EINVAL;
	if ((efer & EFER_LMA) && !(cr4 & X86_CR4_PAE))
		return -EINVAL;

	vmx_write_cr4(vcpu, cr4);
	if (vmx_pae_paging(cr0, cr4, efer) && !vmx_pae_paging(cr0, old, efer))
		vmx_load_pdptrs(vcpu, vmcs_readl(GUEST_CR3));
	return 0;
}

/* Segment registers: VMCS field encodings, in KVM_SET_SREGS order. */
struct vmx_seg_fields {
	u32 selector, base, limit, ar;
};

#define VMX_SEG(name) { GUEST_##name##_SELECTOR, GUEST_##name##_BASE,	\
			GUEST_##name##_LIMIT, GUEST_##name##_AR_BYTES }
enum vmx_seg {
	VMX_SEG_CS, VMX_SEG_DS, VMX_SEG_ES, VMX_SEG_FS, VMX_SEG_GS,
	VMX_SEG_SS, VMX_SEG_TR, VMX_SEG_LDTR, VMX_NR_SEGS
};

static const struct vmx_seg_fields vmx_segs[VMX_NR_SEGS] = {
	[VMX_SEG_CS] = VMX_SEG(CS), [VMX_SEG_DS] = VMX_SEG(DS),
	[VMX_SEG_ES] = VMX_SEG(ES), [VMX_SEG_FS] = VMX_SEG(FS),
	[VMX_SEG_GS] = VMX_SEG(GS), [VMX_SEG_SS] = VMX_SEG(SS),
	[VMX_SEG_TR] = VMX_SEG(TR), [VMX_SEG_LDTR] = VMX_SEG(LDTR),
};

/* KVM_GET/SET_SREGS walk struct kvm_sregs's segments in vmx_segs[] order. */
static_assert(offsetof(struct kvm_sregs, ds) - offsetof(struct kvm_sregs, cs) ==
	      VMX_SEG_DS * sizeof(struct kvm_segment));
static_assert(offsetof(struct kvm_sregs, ldt) - offsetof(struct kvm_sregs, cs) ==
	      VMX_SEG_LDTR * sizeof(struct kvm_segment));

#define VMX_AR_UNUSABLE		BIT(16)

static void vmx_set_segment(const struct vmx_seg_fields *f,
			    const struct kvm_segment *s)
{
	u32 ar;

	if (s->unusable || !s->present)
		ar = VMX_AR_UNUSABLE;
	else
		ar = (s->type & 15) | (s->s & 1) << 4 | (s->dpl & 3) << 5 |
		     1 << 7 | (s->avl & 1) << 12 | (s->l & 1) << 13 |
		     (s->db & 1) << 14 | (s->g & 1) << 15;
	__vmcs_write(f->selector, s->selector);
	__vmcs_write(f->base, s->base);
	__vmcs_write(f->limit, s->limit);
	__vmcs_write(f->ar, ar);
}

static void vmx_get_segment(const struct vmx_seg_fields *f,
			    struct kvm_segment *s)
{
	u32 ar = __vmcs_read(f->ar);

	s->selector = __vmcs_read(f->selector);
	s->base = __vmcs_read(f->base);
	s->limit = __vmcs_read(f->limit);
	s->unusable = !!(ar & VMX_AR_UNUSABLE);
	s->present = !s->unusable;
	s->type = ar & 15;
	s->s = (ar >> 4) & 1;
	s->dpl = (ar >> 5) & 3;
	s->avl = (ar >> 12) & 1;
	s->l = (ar >> 13) & 1;
	s->db = (ar >> 14) & 1;
	s->g = (ar >> 15) & 1;
}

static bool vmx_guest_64bit(void)
{
	return (vmcs_read64(GUEST_IA32_EFER) & EFER_LMA) &&
	       (vmcs_read32(GUEST_CS_AR_BYTES) & BIT(13));
}

/**
 * vmx_skip_instruction() - move RIP past the instruction that exited
 * @vcpu: the vCPU.
 *
 * Also ends an STI or MOV SS interrupt shadow, as executing the
 * instruction would have.
 */
void vmx_skip_instruction(struct vmx_vcpu *vcpu)
{
	unsigned long rip = vmcs_readl(GUEST_RIP) +
			    vmcs_read32(VM_EXIT_INSTRUCTION_LEN);
	u32 intr = vmcs_read32(GUEST_INTERRUPTIBILITY_INFO);

	/* Outside 64-bit code RIP wraps at 4 GiB. */
	if (unlikely(rip > U32_MAX) && !vmx_guest_64bit())
		rip = (u32)rip;
	vmcs_writel(GUEST_RIP, rip);
	if (intr & VMX_INTR_SHADOW)
		vmcs_write32(GUEST_INTERRUPTIBILITY_INFO,
			     intr & ~VMX_INTR_SHADOW);
}

/**
 * vmx_state_reset() - the registers after RESET (Intel SDM Vol. 3A, 10.1.1),
 * as KVM sets them
 * @vcpu: the vCPU, its VMCS current.
 */
void vmx_state_reset(struct vmx_vcpu *vcpu)
{
	struct kvm_segment seg = {
		.limit = 0xffff, .type = 3, .s = 1, .present = 1,
	};
	unsigned int i;

	memset(vcpu->regs, 0, sizeof(vcpu->regs));
	vcpu->regs[HVX_REG_RDX] = 0x600;
	vmcs_writel(GUEST_RSP, 0);
	vmcs_writel(GUEST_RIP, 0xfff0);
	vmcs_writel(GUEST_RFLAGS, X86_EFLAGS_FIXED);

	for (i = VMX_SEG_DS; i <= VMX_SEG_SS; i++)
		vmx_set_segment(&vmx_segs[i], &seg);
	seg.selector = 0xf000;
	seg.base = 0xffff0000;
	seg.type = 11;
	vmx_set_segment(&vmx_segs[VMX_SEG_CS], &seg);
	seg = (struct kvm_segment){ .limit = 0xffff, .type = 11, .present = 1 };
	vmx_set_segment(&vmx_segs[VMX_SEG_TR], &seg);
	seg = (struct kvm_segment){ .limit = 0xffff, .type = 2, .present = 1 };
	vmx_set_segment(&vmx_segs[VMX_SEG_LDTR], &seg);
	vmcs_writel(GUEST_GDTR_BASE, 0);
	vmcs_write32(GUEST_GDTR_LIMIT, 0xffff);
	vmcs_writel(GUEST_IDTR_BASE, 0);
	vmcs_write32(GUEST_IDTR_LIMIT, 0xffff);

	vmcs_write64(GUEST_IA32_EFER, 0);
	vmx_write_cr4(vcpu, 0);
	vmx_write_cr0(X86_CR0_ET | X86_CR0_CD | X86_CR0_NW);
	vmcs_writel(GUEST_CR3, 0);
	vmx_set_ia32e_mode(false);
	vcpu->cr2 = 0;
	memset(vcpu->dr, 0, sizeof(vcpu->dr));
	vcpu->dr[6] = VMX_DR6_INIT;
	vcpu->dr[7] = VMX_DR7_INIT;
	vmcs_writel(GUEST_DR7, VMX_DR7_INIT);

	vmcs_write64(GUEST_IA32_DEBUGCTL, 0);
	vmcs_write32(GUEST_ACTIVITY_STATE, GUEST_ACTIVITY_ACTIVE);
	vmcs_write32(GUEST_INTERRUPTIBILITY_INFO, 0);
	vmcs_writel(GUEST_PENDING_DBG_EXCEPTIONS, 0);
	vmcs_write32(VM_ENTRY_INTR_INFO_FIELD, 0);
}

/**
 * vmx_state_sipi() - start at a startup IPI's vector, in real mode
 * @vector: the SIPI's vector: CS is @vector << 8, its base @vector << 12.
 *
 * The VMCS must be current.
 */
void vmx_state_sipi(u8 vector)
{
	struct kvm_segment cs = {
		.selector = vector << 8, .base = (u64)vector << 12,
		.limit = 0xffff, .type = 11, .s = 1, .present = 1,
	};

	vmx_set_segment(&vmx_segs[VMX_SEG_CS], &cs);
	vmcs_writel(GUEST_RIP, 0);
}

/*
 * KVM_GET/SET_DEBUGREGS: DR0-3, DR6 and DR7 as the guest has them (hvx
 * keeps them, it does not load them: handle_dr()).  As KVM, DR6 and DR7
 * must have bits 63:32 clear, flags must be 0, and the VMM's values are
 * taken as they are.
 */
void vmx_get_debugregs(struct hvx_vcpu *hv, struct kvm_debugregs *d)
{
	struct vmx_vcpu *vcpu = to_vmx(hv);

	memcpy(d->db, vcpu->dr, sizeof(d->db));
	d->dr6 = vcpu->dr[6];
	d->dr7 = vcpu->dr[7];
	d->flags = 0;
}

int vmx_set_debugregs(struct hvx_vcpu *hv, const struct kvm_debugregs *d)
{
	struct vmx_vcpu *vcpu = to_vmx(hv);

	if (d->flags || (d->dr6 >> 32) || (d->dr7 >> 32))
		return -EINVAL;
	memcpy(vcpu->dr, d->db, sizeof(d->db));
	vcpu->dr[6] = d->dr6;
	vcpu->dr[7] = d->dr7;
	return 0;
}

/*
 * KVM_GET/SET_REGS and KVM_GET/SET_SREGS.  The VMCS is made current on
 * this CPU for the duration.
 */
int vmx_get_regs(struct hvx_vcpu *hv, struct kvm_regs *regs)
{
	struct vmx_vcpu *vcpu = to_vmx(hv);
	const unsigned long *r = vcpu->regs;

	if (vmx_vmcs_enter(vcpu))
		return -EIO;
	regs->rax = r[HVX_REG_RAX];
	regs->rbx = r[HVX_REG_RBX];
	regs->rcx = r[HVX_REG_RCX];
	regs->rdx = r[HVX_REG_RDX];
	regs->rsi = r[HVX_REG_RSI];
	regs->rdi = r[HVX_REG_RDI];
	regs->rbp = r[HVX_REG_RBP];
	regs->r8 = r[HVX_REG_R8];
	regs->r9 = r[HVX_REG_R9];
	regs->r10 = r[HVX_REG_R10];
	regs->r11 = r[HVX_REG_R11];
	regs->r12 = r[HVX_REG_R12];
	regs->r13 = r[HVX_REG_R13];
	regs->r14 = r[HVX_REG_R14];
	regs->r15 = r[HVX_REG_R15];
	regs->rsp = vmcs_readl(GUEST_RSP);
	regs->rip = vmcs_readl(GUEST_RIP);
	regs->rflags = vmcs_readl(GUEST_RFLAGS);
	return vmx_vmcs_leave(vcpu);
}

int vmx_set_regs(struct hvx_vcpu *hv, const struct kvm_regs *regs)
{
	struct vmx_vcpu *vcpu = to_vmx(hv);
	unsigned long *r = vcpu->regs;

	if (vmx_vmcs_enter(vcpu))
		return -EIO;
	r[HVX_REG_RAX] = regs->rax;
	r[HVX_REG_RBX] = regs->rbx;
	r[HVX_REG_RCX] = regs->rcx;
	r[HVX_REG_RDX] = regs->rdx;
	r[HVX_REG_RSI] = regs->rsi;
	r[HVX_REG_RDI] = regs->rdi;
	r[HVX_REG_RBP] = regs->rbp;
	r[HVX_REG_R8] = regs->r8;
	r[HVX_REG_R9] = regs->r9;
	r[HVX_REG_R10] = regs->r10;
	r[HVX_REG_R11] = regs->r11;
	r[HVX_REG_R12] = regs->r12;
	r[HVX_REG_R13] = regs->r13;
	r[HVX_REG_R14] = regs->r14;
	r[HVX_REG_R15] = regs->r15;
	vmcs_writel(GUEST_RSP, regs->rsp);
	vmcs_writel(GUEST_RIP, regs->rip);
	/* Bit 1 is always 1; reserved bits are 0, as KVM forces them. */
	vmcs_writel(GUEST_RFLAGS, (regs->rflags & 0x3f7fd7UL) | X86_EFLAGS_FIXED);
	return vmx_vmcs_leave(vcpu);
}

int vmx_get_sregs(struct hvx_vcpu *hv, struct kvm_sregs *sregs)
{
	struct vmx_vcpu *vcpu = to_vmx(hv);
	struct kvm_segment *segs[] = {
		&sregs->cs, &sregs->ds, &sregs->es, &sregs->fs, &sregs->gs,
		&sregs->ss, &sregs->tr, &sregs->ldt,
	};
	unsigned int i;

	if (vmx_vmcs_enter(vcpu))
		return -EIO;
	for (i = 0; i < ARRAY_SIZE(vmx_segs); i++)
		vmx_get_segment(&vmx_segs[i], segs[i]);
	sregs->gdt.base = vmcs_readl(GUEST_GDTR_BASE);
	sregs->gdt.limit = vmcs_read32(GUEST_GDTR_LIMIT);
	sregs->idt.base = vmcs_readl(GUEST_IDTR_BASE);
	sregs->idt.limit = vmcs_read32(GUEST_IDTR_LIMIT);
	sregs->cr0 = vmx_guest_cr0();
	sregs->cr2 = vcpu->cr2;
	sregs->cr3 = vmcs_readl(GUEST_CR3);
	sregs->cr4 = vmx_guest_cr4();
	sregs->efer = vmcs_read64(GUEST_IA32_EFER);
	sregs->cr8 = vmx_get_cr8(vcpu);
	sregs->apic_base = vmx_apic_base(vcpu);
	if (vmx_vmcs_leave(vcpu))
		return -EIO;
	/* The external interrupt being delivered, as KVM reports it. */
	if ((vcpu->ev.intr_info & INTR_INFO_INTR_TYPE_MASK) ==
	    INTR_TYPE_EXT_INTR && (vcpu->ev.intr_info & INTR_INFO_VALID_MASK)) {
		unsigned int vec = vcpu->ev.intr_info & INTR_INFO_VECTOR_MASK;

		sregs->interrupt_bitmap[vec / 64] |= BIT_ULL(vec % 64);
	}
	return 0;
}

int vmx_set_sregs(struct hvx_vcpu *hv, const struct kvm_sregs *sregs)
{
	struct vmx_vcpu *vcpu = to_vmx(hv);
	const struct kvm_segment *segs[] = {
		&sregs->cs, &sregs->ds, &sregs->es, &sregs->fs, &sregs->gs,
		&sregs->ss, &sregs->tr, &sregs->ldt,
	};
	unsigned long cr0 = sregs->cr0, cr4 = sregs->cr4;
	u64 efer = sregs->efer;
	unsigned int i;

	/* The checks KVM makes (kvm_is_valid_sregs), and hvx's own. */
	if ((efer & EFER_LME) && (cr0 & X86_CR0_PG)) {
		if (!(cr4 & X86_CR4_PAE) || !(efer & EFER_LMA))
			return -EINVAL;
	} else if ((efer & EFER_LMA) || sregs->cs.l) {
		return -EINVAL;
	}
	if (!vmx_cr0_valid(cr0) || !vmx_cr4_valid(cr4) || !vmx_efer_valid(efer))
		return -EINVAL;
	if (sregs->cr3 >> boot_cpu_data.x86_phys_bits)
		return -EINVAL;
	if (cr4 & vmx_cpuid_cr4_reserved(vcpu))
		return -EINVAL;
	/*
	 * The last check: the in-kernel APIC takes a valid base at once
	 * (as KVM's __set_sregs, which sets it before the rest).
	 */
	if (hv->lapic) {
		if (hvx_lapic_set_msr(hv, MSR_IA32_APICBASE, sregs->apic_base,
				      true))
			return -EINVAL;
	} else if (vmx_check_apic_base(vcpu, sregs->apic_base, true)) {
		return -EINVAL;
	}

	if (vmx_vmcs_enter(vcpu))
		return -EIO;
	for (i = 0; i < ARRAY_SIZE(vmx_segs); i++)
		vmx_set_segment(&vmx_segs[i], segs[i]);
	vmcs_writel(GUEST_GDTR_BASE, sregs->gdt.base);
	vmcs_write32(GUEST_GDTR_LIMIT, sregs->gdt.limit);
	vmcs_writel(GUEST_IDTR_BASE, sregs->idt.base);
	vmcs_write32(GUEST_IDTR_LIMIT, sregs->idt.limit);
	vcpu->cr2 = sregs->cr2;
	/* As KVM (kvm_set_cr8): a value with reserved bits is ignored. */
	if (!(sregs->cr8 & ~15ULL)) {
		if (hv->lapic)
			hvx_lapic_set_cr8(hv, sregs->cr8);
		else
			vcpu->cr8 = sregs->cr8;
	}
	if (!hv->lapic)
		vcpu->msrs.apic_base = sregs->apic_base;
	vmcs_writel(GUEST_CR3, sregs->cr3);
	vmcs_write64(GUEST_IA32_EFER, efer);
	vmx_set_ia32e_mode(efer & EFER_LMA);
	vmx_write_cr4(vcpu, cr4);
	vmx_write_cr0(cr0);
	if (vmx_pae_paging(cr0, cr4, efer))
		vmx_load_pdptrs(vcpu, sregs->cr3);
	/*
	 * As KVM: the lowest vector set in interrupt_bitmap becomes the
	 * interrupt being delivered (see KVM_GET_VCPU_EVENTS).
	 */
	for (i = 0; i < ARRAY_SIZE(sregs->interrupt_bitmap); i++) {
		if (sregs->interrupt_bitmap[i]) {
			vcpu->ev.intr_info = (i * 64 +
					      __ffs(sregs->interrupt_bitmap[i])) |
					     INTR_TYPE_EXT_INTR |
					     INTR_INFO_VALID_MASK;
			break;
		}
	}
	return vmx_vmcs_leave(vcpu);
}
