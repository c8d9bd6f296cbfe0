// SPDX-License-Identifier: GPL-2.0
/*
 * Host unit test of hvx's MMIO instruction decoder (module/vmx/decode.c,
 * compiled here unchanged): each line of decode_table.txt gives real
 * instruction bytes from the assembler and the decode the Intel SDM
 * prescribes; the decoder must agree on every field, the length included,
 * and must reject what the table rejects.  Each instruction is also
 * decoded from a truncated buffer, which must be rejected.
 *
 * Usage: decode_test TABLE.  Output: TAP, one line per table entry.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"

struct expect {
	bool reject;
	struct hvx_insn in;
};

static const char *const seg_names[] = { "es", "cs", "ss", "ds", "fs", "gs" };

static const char *const op_names[] = {
	[HVX_INSN_LOAD] = "load",
	[HVX_INSN_STORE] = "store",
	[HVX_INSN_STOS] = "stos",
	[HVX_INSN_MOVS] = "movs",
};

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n'))
		*--e = 0;
	return s;
}

/* Parses the expected-decode column; returns 0 or -1. */
static int parse_expect(char *s, unsigned int bits, unsigned int len,
			struct expect *ex)
{
	char *tok, *save;
	unsigned int i;

	memset(ex, 0, sizeof(*ex));
	ex->in.reg = -1;
	ex->in.asize = bits / 8;
	ex->in.seg = HVX_SEG_DS;
	ex->in.len = len;
	for (tok = strtok_r(s, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		char *eq = strchr(tok, '=');
		char *val = eq ? eq + 1 : NULL;

		if (eq)
			*eq = 0;
		if (!strcmp(tok, "reject")) {
			ex->reject = true;
		} else if (!strcmp(tok, "high8")) {
			ex->in.high8 = true;
		} else if (!strcmp(tok, "sign")) {
			ex->in.sign = true;
		} else if (!strcmp(tok, "rep")) {
			ex->in.rep = true;
		} else if (val && !strcmp(tok, "size")) {
			ex->in.size = strtoul(val, NULL, 0);
		} else if (val && !strcmp(tok, "dst")) {
			ex->in.dst_size = strtoul(val, NULL, 0);
		} else if (val && !strcmp(tok, "reg")) {
			ex->in.reg = strtol(val, NULL, 0);
		} else if (val && !strcmp(tok, "asize")) {
			ex->in.asize = strtoul(val, NULL, 0);
		} else if (val && !strcmp(tok, "imm")) {
			ex->in.imm = strtoull(val, NULL, 0);
		} else if (val && !strcmp(tok, "seg")) {
			for (i = 0; i < 6; i++)
				if (!strcmp(val, seg_names[i]))
					break;
			if (i == 6)
				return -1;
			ex->in.seg = i;
		} else {
			for (i = HVX_INSN_LOAD; i <= HVX_INSN_MOVS; i++)
				if (!strcmp(tok, op_names[i]))
					break;
			if (i > HVX_INSN_MOVS || val)
				return -1;
			ex->in.op = i;
		}
	}
	return 0;
}

static void print_insn(const char *what, const struct hvx_insn *in)
{
	printf("#   %s: op=%s len=%u size=%u dst=%u asize=%u seg=%s reg=%d",
	       what, in->op <= HVX_INSN_MOVS && op_names[in->op] ?
	       op_names[in->op] : "?", in->len, in->size, in->dst_size,
	       in->asize, in->seg < 6 ? seg_names[in->seg] : "?", in->reg);
	printf(" high8=%d sign=%d rep=%d imm=%#llx\n", in->high8, in->sign,
	       in->rep, (unsigned long long)in->imm);
}

static bool same(const struct hvx_insn *a, const struct hvx_insn *b)
{
	return a->len == b->len && a->op == b->op && a->size == b->size &&
	       a->dst_size == b->dst_size && a->asize == b->asize &&
	       a->seg == b->seg && a->reg == b->reg &&
	       a->high8 == b->high8 && a->sign == b->sign &&
	       a->rep == b->rep && a->imm == b->imm;
}

int main(int argc, char **argv)
{
	static char lines[1024][256];
	unsigned int n = 0, i, failed = 0;
	FILE *f;

	if (argc != 2) {
		fprintf(stderr, "usage: %s decode_table.txt\n", argv[0]);
		return 2;
	}
	f = fopen(argv[1], "r");
	if (!f) {
		perror(argv[1]);
		return 2;
	}
	while (n < 1024 && fgets(lines[n], sizeof(lines[n]), f)) {
		char *s = trim(lines[n]);

		if (*s && *s != '#')
			n++;
	}
	fclose(f);

	printf("TAP version 13\n1..%u\n", n);
	for (i = 0; i < n; i++) {
		char *cols[4], *p = lines[i], *tok;
		unsigned char bytes[16];
		unsigned int bits, len = 0, c, t;
		struct hvx_insn got;
		struct expect ex;
		bool ok = true;
		int r;

		for (c = 0; c < 4; c++) {
			cols[c] = p;
			p = c < 3 ? strchr(p, '|') : NULL;
			if (c < 3 && !p)
				break;
			if (p)
				*p++ = 0;
		}
		if (c < 4) {
			printf("not ok %u - malformed line: %s\n", i + 1, lines[i]);
			failed++;
			continue;
		}
		bits = strtoul(cols[0], NULL, 10);
		for (tok = strtok(cols[1], " "); tok && len < sizeof(bytes);
		     tok = strtok(NULL, " "))
			if (*trim(tok))
				bytes[len++] = strtoul(tok, NULL, 16);
		if ((bits != 16 && bits != 32 && bits != 64) || !len ||
		    parse_expect(trim(cols[2]), bits, len, &ex)) {
			printf("not ok %u - bad table entry: %s\n", i + 1,
			       trim(cols[3]));
			failed++;
			continue;
		}

		r = hvx_decode_insn(bytes, len, bits / 8, &got);
		if (ex.reject) {
			if (r != -EINVAL) {
				ok = false;
				printf("#   accepted, should be rejected\n");
				print_insn("got", &got);
			}
		} else if (r) {
			ok = false;
			printf("#   rejected (%d)\n", r);
		} else if (!same(&got, &ex.in)) {
			ok = false;
			print_insn("expected", &ex.in);
			print_insn("got     ", &got);
		}
		/* Every proper prefix of an accepted instruction is rejected. */
		for (t = 0; !ex.reject && t < len; t++) {
			if (hvx_decode_insn(bytes, t, bits / 8, &got) != -EINVAL) {
				ok = false;
				printf("#   truncated to %u bytes: accepted\n", t);
				break;
			}
		}
		printf("%sok %u - %u-bit %s: %s\n", ok ? "" : "not ", i + 1, bits,
		       trim(cols[3]), ex.reject ? "rejected" : "decoded");
		failed += !ok;
	}
	printf("# %u of %u failed\n", failed, n);
	return failed ? 1 : 0;
}
