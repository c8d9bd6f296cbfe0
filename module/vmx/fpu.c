// SPDX-License-Identifier: GPL-2.0
/*
 * hvx VT-x backend: the guest's FPU, XSAVE state and XCR0.
 *
 * The guest's x87/SSE/AVX state lives in a guest fpstate (fpu_guest) that
 * becomes the task's for the whole of KVM_RUN (run.c); outside KVM_RUN it
 * is in memory, which KVM_GET/SET_FPU and _XSAVE read and write.  XCR0 is
 * switched around each entry (run.c) when the guest has CR4.OSXSAVE.
 */
#include <linux/kvm.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <asm/cpufeature.h>
#include <asm/fpu/api.h>
#include <asm/fpu/types.h>
#include <asm/fpu/xcr.h>
#include <asm/fpu/xstate.h>

#include "cpuid.h"
#include "vmx.h"

u64 vmx_host_xcr0 __ro_after_init;

/*
 * The MXCSR bits this processor implements (Intel SDM Vol. 1, 11.6.6): a
 * value with any other bit set makes FXRSTOR/XRSTOR fault when the guest
 * state is loaded, so userspace's MXCSR is checked against it.
 */
static u32 vmx_mxcsr_mask __ro_after_init;

/**
 * vmx_has_xsave() - guests get XSAVE state and XCR0 (the host has XSAVE)
 *
 * Return: true if so.
 */
bool vmx_has_xsave(void)
{
	return vmx_host_xcr0;
}

/**
 * vmx_fpu_setup() - note the host's XCR0 and MXCSR mask, once at load
 *
 * MXCSR_MASK is what FXSAVE stores; 0 means the processor predates the
 * field and implements the default 0xffbf (Intel SDM Vol. 1, 11.6.6).
 *
 * Return: 0 or -ENOMEM.
 */
int vmx_fpu_setup(void)
{
	struct fxregs_state *fx;

	vmx_host_xcr0 = boot_cpu_has(X86_FEATURE_XSAVE) ?
		xgetbv(XCR_XFEATURE_ENABLED_MASK) : 0;

	/* FXSAVE needs a 16-byte aligned area: kmalloc() aligns 512. */
	fx = kzalloc(sizeof(*fx), GFP_KERNEL);
	if (!fx)
		return -ENOMEM;
	kernel_fpu_begin();
	asm volatile("fxsaveq %0" : "=m" (*fx));
	kernel_fpu_end();
	vmx_mxcsr_mask = fx->mxcsr_mask ? fx->mxcsr_mask : 0xffbf;
	kfree(fx);
	return 0;
}

/*
 * KVM_GET/SET_FPU work on the legacy FXSAVE image at the start of the
 * guest's XSAVE buffer (Intel SDM Vol. 1, 10.5.1), as KVM's do.  Outside
 * KVM_RUN the guest state is in memory, not in the registers.
 */
void vmx_get_fpu(struct hvx_vcpu *hv, struct kvm_fpu *fpu)
{
	struct fxregs_state *fx = &to_vmx(hv)->fpu.fpstate->regs.fxsave;

	memcpy(fpu->fpr, fx->st_space, sizeof(fpu->fpr));
	fpu->fcw = fx->cwd;
	fpu->fsw = fx->swd;
	fpu->ftwx = fx->twd;
	fpu->last_opcode = fx->fop;
	fpu->last_ip = fx->rip;
	fpu->last_dp = fx->rdp;
	memcpy(fpu->xmm, fx->xmm_space, sizeof(fpu->xmm));
	fpu->mxcsr = fx->mxcsr;
}

int vmx_set_fpu(struct hvx_vcpu *hv, const struct kvm_fpu *fpu)
{
	struct fpstate *fps = to_vmx(hv)->fpu.fpstate;
	struct fxregs_state *fx = &fps->regs.fxsave;

	/*
	 * Reserved MXCSR bits would make the restore fault.  The mask is the
	 * host's: the image's own MXCSR_MASK is whatever KVM_SET_XSAVE put
	 * there (the restore ignores it), and 0 on a new vCPU.
	 */
	if (fpu->mxcsr & ~vmx_mxcsr_mask)
		return -EINVAL;
	memcpy(fx->st_space, fpu->fpr, sizeof(fpu->fpr));
	fx->cwd = fpu->fcw;
	fx->swd = fpu->fsw;
	fx->twd = fpu->ftwx;
	fx->fop = fpu->last_opcode;
	fx->rip = fpu->last_ip;
	fx->rdp = fpu->last_dp;
	memcpy(fx->xmm_space, fpu->xmm, sizeof(fpu->xmm));
	fx->mxcsr = fpu->mxcsr;
	/* Make XRSTOR load the x87 and SSE state rather than reset it. */
	if (boot_cpu_has(X86_FEATURE_XSAVE))
		fps->regs.xsave.header.xfeatures |= XFEATURE_MASK_FPSSE;
	return 0;
}

/* The checks of XSETBV (Intel SDM Vol. 2C), for the state hvx gives. */
static int vmx_check_xcr0(struct vmx_vcpu *vcpu, u64 xcr0)
{
	u64 allowed = vmx_host_xcr0 & vcpu->fpu.fpstate->xfeatures &
		      vmx_cpuid_xcr0(vcpu);

	if ((xcr0 & ~allowed) || !(xcr0 & XFEATURE_MASK_FP) ||
	    ((xcr0 & XFEATURE_MASK_YMM) && !(xcr0 & XFEATURE_MASK_SSE)))
		return -EINVAL;
	if ((xcr0 & XFEATURE_MASK_AVX512) &&
	    ((xcr0 & XFEATURE_MASK_AVX512) != XFEATURE_MASK_AVX512 ||
	     !(xcr0 & XFEATURE_MASK_YMM)))
		return -EINVAL;
	return 0;
}

/**
 * vmx_set_xcr0() - XSETBV or KVM_SET_XCRS of XCR0
 * @vcpu: the vCPU.
 * @xcr0: the new value.
 *
 * Return: 0, or -EINVAL for a value XSETBV would refuse with #GP: a
 * feature the guest state cannot hold or its CPUID does not offer, x87
 * off, AVX without SSE, or a partial AVX-512 set.
 */
int vmx_set_xcr0(struct vmx_vcpu *vcpu, u64 xcr0)
{
	int r = vmx_check_xcr0(vcpu, xcr0);

	if (!r)
		vcpu->xcr0 = xcr0;
	return r;
}

void vmx_get_xcrs(struct hvx_vcpu *hv, struct kvm_xcrs *xcrs)
{
	if (!vmx_host_xcr0)
		return;
	xcrs->nr_xcrs = 1;
	xcrs->xcrs[0].xcr = XCR_XFEATURE_ENABLED_MASK;
	xcrs->xcrs[0].value = to_vmx(hv)->xcr0;
}

/*
 * As KVM (kvm_vcpu_ioctl_x86_set_xcrs): the first XCR0 entry is set, as
 * XSETBV would set it; entries for other XCRs, which do not exist, are
 * ignored.  A refused value changes nothing.
 */
int vmx_set_xcrs(struct hvx_vcpu *hv, const struct kvm_xcrs *xcrs)
{
	unsigned int i;

	if (!vmx_host_xcr0 || xcrs->nr_xcrs > KVM_MAX_XCRS || xcrs->flags)
		return -EINVAL;
	for (i = 0; i < xcrs->nr_xcrs; i++)
		if (xcrs->xcrs[i].xcr == XCR_XFEATURE_ENABLED_MASK)
			return vmx_set_xcr0(to_vmx(hv), xcrs->xcrs[i].value) ?
			       -EINVAL : 0;
	return 0;
}

/*
 * KVM_GET/SET_XSAVE: the guest's XSAVE state in the standard (not
 * compacted) format of a 4 KiB struct kvm_xsave, limited to the components
 * a guest may enable (vmx_cpuid_supported_xcr0()), as KVM limits it to its
 * supported XCR0.  The host may save more (PKRU, say): hvx does not give
 * those to guests, so they are neither reported nor accepted.
 */
static u64 vmx_xsave_features(void)
{
	return vmx_cpuid_supported_xcr0() ?: XFEATURE_MASK_FPSSE;
}

void vmx_get_xsave(struct hvx_vcpu *hv, struct kvm_xsave *xsave)
{
	struct fpu_guest *fpu = &to_vmx(hv)->fpu;

	fpu_copy_guest_fpstate_to_uabi(fpu, xsave->region,
				       sizeof(xsave->region),
				       vmx_xsave_features(), 0);
}

/*
 * The kernel's copy (the one KVM uses) validates what reaches XRSTOR: it
 * refuses with -EINVAL, changing nothing, XSTATE_BV bits outside the mask
 * given or the fpstate's user features, a non-zero XCOMP_BV (userspace has
 * the standard format only), non-zero reserved header bytes, and MXCSR
 * bits the host does not implement.
 */
int vmx_set_xsave(struct hvx_vcpu *hv, const struct kvm_xsave *xsave)
{
	struct fpu_guest *fpu = &to_vmx(hv)->fpu;
	u32 pkru = 0;

	return fpu_copy_uabi_to_guest_fpstate(fpu, xsave->region,
					      vmx_xsave_features(), &pkru);
}
