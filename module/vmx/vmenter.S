/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hvx VT-x backend: the world switch.  This is the only assembly in hvx;
 * its contract is in vmenter.h.
 */
#include <linux/linkage.h>
#include <asm/asm.h>
#include <asm/msr-index.h>
#include <asm/nospec-branch.h>
#include <asm/percpu.h>
#include <asm/unwind_hints.h>

#include "vmenter.h"

#define REG(r)	(HVX_REG_##r * 8)

.section .noinstr.text, "ax"

/**
 * vmx_vmenter - enter the guest and return after the VM exit
 * @regs:	RDI, the guest register array
 * @resume:	ESI, 0 for VMLAUNCH, 1 for VMRESUME
 * @host_rsp:	RDX, the HOST_RSP field of the current VMCS as last written
 *		here (0 when never)
 *
 * Returns 0 in EAX after a VM exit, 1 after VM-fail or a fault.
 */
SYM_FUNC_START(vmx_vmenter)
	push %rbp
	mov  %rsp, %rbp
	push %r15
	push %r14
	push %r13
	push %r12
	push %rbx

	/* @regs is needed again after the exit. */
	push %rdi

	/*
	 * The exit comes back with this stack pointer.  It is the same from
	 * one entry to the next unless another task runs the vCPU: write the
	 * field only when it changed, and note it after the write succeeded.
	 */
	cmp %rsp, (%rdx)
	je .Lhost_rsp_done
	mov $HVX_VMCS_HOST_RSP, %rax
1:	vmwrite %rsp, %rax
	jna .Lvmfail
	_ASM_EXTABLE(1b, .Lvmfail)
	mov %rsp, (%rdx)
.Lhost_rsp_done:

	/* CF = @resume; nothing below changes CF before the jump. */
	bt $0, %esi

	mov %rdi, %rax
	mov REG(RCX)(%rax), %rcx
	mov REG(RDX)(%rax), %rdx
	mov REG(RBX)(%rax), %rbx
	mov REG(RBP)(%rax), %rbp
	mov REG(RSI)(%rax), %rsi
	mov REG(RDI)(%rax), %rdi
	mov REG(R8)(%rax), %r8
	mov REG(R9)(%rax), %r9
	mov REG(R10)(%rax), %r10
	mov REG(R11)(%rax), %r11
	mov REG(R12)(%rax), %r12
	mov REG(R13)(%rax), %r13
	mov REG(R14)(%rax), %r14
	mov REG(R15)(%rax), %r15
	mov REG(RAX)(%rax), %rax

	/* VERW where MDS/MMIO-stale-data mitigations want it; keeps CF. */
	VM_CLEAR_CPU_BUFFERS

	jnc .Lvmlaunch

	/*
	 * A successful VMRESUME/VMLAUNCH does not fall through: the VM exit
	 * resumes at vmx_vmexit with the stack as it is here.
	 */
	UNWIND_HINT_SAVE
.Lvmresume:
	vmresume
	jmp .Lvmfail

.Lvmlaunch:
	vmlaunch
	jmp .Lvmfail

	_ASM_EXTABLE(.Lvmresume, .Lvmfail)
	_ASM_EXTABLE(.Lvmlaunch, .Lvmfail)

SYM_INNER_LABEL(vmx_vmexit, SYM_L_GLOBAL)
	UNWIND_HINT_RESTORE
	ENDBR

	/* Save the guest's registers; RAX goes through the stack. */
	push %rax
	mov 8(%rsp), %rax
	pop REG(RAX)(%rax)
	mov %rcx, REG(RCX)(%rax)
	mov %rdx, REG(RDX)(%rax)
	mov %rbx, REG(RBX)(%rax)
	mov %rbp, REG(RBP)(%rax)
	mov %rsi, REG(RSI)(%rax)
	mov %rdi, REG(RDI)(%rax)
	mov %r8,  REG(R8)(%rax)
	mov %r9,  REG(R9)(%rax)
	mov %r10, REG(R10)(%rax)
	mov %r11, REG(R11)(%rax)
	mov %r12, REG(R12)(%rax)
	mov %r13, REG(R13)(%rax)
	mov %r14, REG(R14)(%rax)
	mov %r15, REG(R15)(%rax)

	xor %ebx, %ebx

.Lout:
	/* Drop @regs. */
	pop %rax

	/*
	 * No guest value may survive in a register, not even speculatively:
	 * clear all but RSP (restored by the exit) and RBX (the result).
	 */
	xor %eax, %eax
	xor %ecx, %ecx
	xor %edx, %edx
	xor %ebp, %ebp
	xor %esi, %esi
	xor %edi, %edi
	xor %r8d, %r8d
	xor %r9d, %r9d
	xor %r10d, %r10d
	xor %r11d, %r11d
	xor %r12d, %r12d
	xor %r13d, %r13d
	xor %r14d, %r14d
	xor %r15d, %r15d

	/*
	 * Before the first unbalanced RET: refill the return stack buffer
	 * where the host's mitigations ask for it, and rewrite SPEC_CTRL when
	 * the kernel relies on IBRS (the guest cannot change SPEC_CTRL: hvx
	 * intercepts the MSR).
	 */
	FILL_RETURN_BUFFER %rcx, RSB_CLEAR_LOOPS, X86_FEATURE_RSB_VMEXIT, \
			   X86_FEATURE_RSB_VMEXIT_LITE

	ALTERNATIVE "jmp .Lspec_ctrl_done", "", X86_FEATURE_KERNEL_IBRS
	mov $MSR_IA32_SPEC_CTRL, %ecx
	mov PER_CPU_VAR(x86_spec_ctrl_current), %eax
	mov PER_CPU_VAR(x86_spec_ctrl_current + 4), %edx
	wrmsr
	xor %eax, %eax
	xor %edx, %edx
.Lspec_ctrl_done:

	CLEAR_BRANCH_HISTORY_VMEXIT

	mov %ebx, %eax
	pop %rbx
	pop %r12
	pop %r13
	pop %r14
	pop %r15
	pop %rbp
	RET

.Lvmfail:
	mov $1, %ebx
	jmp .Lout
SYM_FUNC_END(vmx_vmenter)
