/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hvx EPT: extended page tables for guest memory.
 */
#ifndef HVX_EPT_H
#define HVX_EPT_H

#include <linux/types.h>

int ept_check_caps(u32 ept_cap);

#endif /* HVX_EPT_H */
