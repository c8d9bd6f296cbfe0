// SPDX-License-Identifier: GPL-2.0
/*
 * hvx EPT: extended page tables for guest memory.
 *
 * Each VM has 4-level EPT tables (Intel SDM Vol. 3C, 29.3 "The Extended
 * Page Table Mechanism").  They start empty and are filled one 4 KiB page
 * at a time as the guest touches memory (ept_map(), called by the core's
 * fault path); ept_unmap() clears entries, and the backend invalidates
 * every CPU's cached translations (INVEPT: vmx_ept_flush() in
 * module/vmx/vmx.c, with the VMX instructions' flush policies) before the
 * core releases the pages.  Nothing here executes a VMX instruction.
 * Intermediate tables live until the VM is destroyed.  Callers serialize
 * changes (the VM's lock); the processor walks the tables concurrently, so
 * every entry is written with a single store.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/gfp.h>
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/printk.h>
#include <asm/vmx.h>

#include "ept.h"

struct ept_feature {
	u32 bits;		/* any one of these is enough */
	const char *name;
};

/* IA32_VMX_EPT_VPID_CAP[31:0] (Intel SDM Vol. 3D, A.10). */
static const struct ept_feature ept_required[] = {
	{ VMX_EPT_PAGE_WALK_4_BIT, "EPT 4-level page walk" },
	{ VMX_EPTP_WB_BIT, "EPT write-back memory type" },
	{ VMX_EPT_INVEPT_BIT, "INVEPT" },
	{ VMX_EPT_EXTENT_CONTEXT_BIT | VMX_EPT_EXTENT_GLOBAL_BIT,
	  "INVEPT single-context or all-context type" },
};

/**
 * ept_check_caps() - check the processor's EPT capabilities
 * @ept_cap: IA32_VMX_EPT_VPID_CAP[31:0].
 *
 * Logs one line for each EPT feature hvx needs and the processor lacks.
 *
 * Return: the number of missing features.
 */
int ept_check_caps(u32 ept_cap)
{
	int i, missing = 0;

	for (i = 0; i < ARRAY_SIZE(ept_required); i++) {
		if (ept_cap & ept_required[i].bits)
			continue;
		pr_err("VT-x lacks %s\n", ept_required[i].name);
		missing++;
	}
	return missing;
}

/* EPT entry bits (Intel SDM Vol. 3C, 29.3.2). */
#define EPT_READ		BIT_ULL(0)
#define EPT_WRITE		BIT_ULL(1)
#define EPT_EXEC		BIT_ULL(2)
#define EPT_RWX			(EPT_READ | EPT_WRITE | EPT_EXEC)
#define EPT_MEMTYPE_WB		(6ULL << 3)
#define EPT_IGNORE_PAT		BIT_ULL(6)
#define EPT_ADDR_MASK		GENMASK_ULL(51, 12)
#define EPT_LEVELS		4
#define EPT_INDEX(gpa, level)	(((gpa) >> (12 + 9 * ((level) - 1))) & 511)

/* EPTP (Intel SDM Vol. 3C, 25.6.11): write-back, 4-level walk. */
#define EPTP_WB			6ULL
#define EPTP_WALK_4		(3ULL << 3)

/**
 * ept_init() - allocate an empty set of EPT tables
 * @ept: filled in.
 *
 * Return: 0 or -ENOMEM.
 */
int ept_init(struct ept *ept)
{
	ept->root = (u64 *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	if (!ept->root)
		return -ENOMEM;
	ept->eptp = __pa(ept->root) | EPTP_WALK_4 | EPTP_WB;
	return 0;
}

static void ept_free_table(u64 *table, int level)
{
	int i;

	if (level > 1) {
		for (i = 0; i < 512; i++)
			if (table[i] & EPT_RWX)
				ept_free_table(__va(table[i] & EPT_ADDR_MASK),
					       level - 1);
	}
	free_page((unsigned long)table);
}

/**
 * ept_destroy() - free the tables (not the guest pages they map)
 * @ept: tables that no CPU uses any more: the caller flushed them.
 */
void ept_destroy(struct ept *ept)
{
	if (ept->root)
		ept_free_table(ept->root, EPT_LEVELS);
	ept->root = NULL;
}

/*
 * Returns the level-1 entry for @gpa, allocating the tables on the way when
 * @alloc; NULL when a table is missing (and !@alloc) or cannot be allocated.
 */
static u64 *ept_walk(struct ept *ept, u64 gpa, bool alloc)
{
	u64 *table = ept->root;
	int level;

	for (level = EPT_LEVELS; level > 1; level--) {
		u64 *entry = &table[EPT_INDEX(gpa, level)];

		if (!(READ_ONCE(*entry) & EPT_RWX)) {
			u64 *next;

			if (!alloc)
				return NULL;
			next = (u64 *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
			if (!next)
				return NULL;
			WRITE_ONCE(*entry, __pa(next) | EPT_RWX);
		}
		table = __va(READ_ONCE(*entry) & EPT_ADDR_MASK);
	}
	return &table[EPT_INDEX(gpa, 1)];
}

/**
 * ept_map() - map one guest page, readable and executable, and writable
 * @ept: the tables.
 * @gpa: guest-physical address of the page.
 * @pfn: host page frame behind it.
 * @writable: also writable.
 *
 * The entry replaces the one there.  Adding a mapping or a permission
 * needs no invalidation (processors do not cache not-present entries,
 * and a permission fault re-walks the tables); taking write access away
 * takes an INVEPT on every CPU before it holds.
 *
 * Return: 0 or -ENOMEM.
 */
int ept_map(struct ept *ept, u64 gpa, u64 pfn, bool writable)
{
	u64 *pte = ept_walk(ept, gpa, true);
	u64 perm = writable ? EPT_RWX : EPT_READ | EPT_EXEC;

	if (!pte)
		return -ENOMEM;
	WRITE_ONCE(*pte, ((u64)pfn << PAGE_SHIFT) | perm |
		   EPT_MEMTYPE_WB | EPT_IGNORE_PAT);
	return 0;
}

/* Bytes of guest-physical space one entry of a level-@level table maps. */
#define EPT_LEVEL_SPAN(level)	(1ULL << (12 + 9 * ((level) - 1)))

/**
 * ept_unmap() - remove the mappings of a guest-physical range
 * @ept: the tables.
 * @gpa: start, page aligned.
 * @size: length in bytes, page aligned.
 *
 * Where a table is missing nothing below it is mapped, so its whole span
 * is skipped: unmapping a huge range the guest barely touched costs what
 * it touched, not the size of the range.
 *
 * The caller must invalidate every CPU's translations (INVEPT) before
 * releasing the pages.
 */
void ept_unmap(struct ept *ept, u64 gpa, u64 size)
{
	u64 end = gpa + size;

	while (gpa < end) {
		u64 *table = ept->root;
		int level;

		for (level = EPT_LEVELS; level > 1; level--) {
			u64 entry = READ_ONCE(table[EPT_INDEX(gpa, level)]);

			if (!(entry & EPT_RWX))
				break;
			table = __va(entry & EPT_ADDR_MASK);
		}
		if (level == 1) {
			WRITE_ONCE(table[EPT_INDEX(gpa, 1)], 0);
			gpa += PAGE_SIZE;
		} else {
			gpa = (gpa | (EPT_LEVEL_SPAN(level) - 1)) + 1;
		}
	}
}
