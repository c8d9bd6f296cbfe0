/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hvx VT-x backend: the contract between vmx.c and vmenter.S.
 *
 * Guest general-purpose registers live in an array indexed by their x86
 * encoding.  RSP is there too but the VMCS holds the live value
 * (GUEST_RSP); vmenter.S neither loads nor saves that slot.
 */
#ifndef HVX_VMX_VMENTER_H
#define HVX_VMX_VMENTER_H

#define HVX_REG_RAX	0
#define HVX_REG_RCX	1
#define HVX_REG_RDX	2
#define HVX_REG_RBX	3
#define HVX_REG_RSP	4
#define HVX_REG_RBP	5
#define HVX_REG_RSI	6
#define HVX_REG_RDI	7
#define HVX_REG_R8	8
#define HVX_REG_R9	9
#define HVX_REG_R10	10
#define HVX_REG_R11	11
#define HVX_REG_R12	12
#define HVX_REG_R13	13
#define HVX_REG_R14	14
#define HVX_REG_R15	15
#define HVX_NR_REGS	16

/* The HOST_RSP field encoding (Intel SDM Vol. 3D, B.4.4). */
#define HVX_VMCS_HOST_RSP	0x6c14

#ifndef __ASSEMBLY__
#include <linux/linkage.h>

/**
 * vmx_vmenter() - enter the guest on the current VMCS and come back
 * @regs:	the guest's general-purpose registers (HVX_NR_REGS longs),
 *		loaded before entry and saved after the exit.
 * @resume:	0 for VMLAUNCH (the VMCS is clear), 1 for VMRESUME.
 * @host_rsp:	the value of HOST_RSP in the current VMCS as this function
 *		last wrote it, 0 for a VMCS it never entered; updated.
 *
 * Called with interrupts disabled.  Sets HOST_RSP if it changed, enters
 * the guest and,
 * after the VM exit, saves the guest registers, clears every register the
 * guest could have left a value in, fills the return stack buffer and
 * restores SPEC_CTRL as the host's mitigations require.
 *
 * Return: 0 after a VM exit, 1 if VMLAUNCH/VMRESUME failed (VMfail or
 * fault); the exit reason or VM-instruction error is in the VMCS.
 */
int vmx_vmenter(unsigned long *regs, unsigned int resume,
		unsigned long *host_rsp);

/* Where the processor resumes the host after a VM exit (HOST_RIP). */
extern const char vmx_vmexit[];
#endif

#endif /* HVX_VMX_VMENTER_H */
