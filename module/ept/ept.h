/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hvx EPT: extended page tables for guest memory.
 */
#ifndef HVX_EPT_H
#define HVX_EPT_H

#include <linux/types.h>

/**
 * struct ept - one VM's EPT tables
 * @root:	the PML4 table.
 * @eptp:	the EPT pointer for the VMCS: root address, write-back
 *		paging-structure memory type, 4-level walk.
 */
struct ept {
	u64 *root;
	u64 eptp;
};

int ept_check_caps(u32 ept_cap);
int ept_init(struct ept *ept);
void ept_destroy(struct ept *ept);
int ept_map(struct ept *ept, u64 gpa, u64 pfn, bool writable);
void ept_unmap(struct ept *ept, u64 gpa, u64 size);

#endif /* HVX_EPT_H */
