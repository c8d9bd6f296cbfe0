#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Fill or check the instruction bytes of selftests/host/decode_table.txt.

Each table line is "bits | bytes | expected decode | asm".  This assembles
the asm column with the host assembler (as --16/--32/--64) and writes the
bytes column (default), or with --check only reports lines whose committed
bytes differ from what the assembler emits.  The expected-decode column is
written by hand from the Intel SDM; the unit test checks the decoder
against it.
"""
import os
import subprocess
import sys
import tempfile

TABLE = os.path.join(os.path.dirname(__file__), "..", "selftests", "host",
                     "decode_table.txt")


def assemble(bits, text, tmp):
    src = os.path.join(tmp, "i.s")
    obj = os.path.join(tmp, "i.o")
    binf = os.path.join(tmp, "i.bin")
    with open(src, "w") as f:
        f.write(".code%s\n%s\n" % (bits, text))
    if subprocess.run(["as", "--64", "-o", obj, src]).returncode:
        sys.exit("as failed on: %s" % text)
    subprocess.run(["objcopy", "-O", "binary", "-j", ".text", obj, binf],
                   check=True)
    with open(binf, "rb") as f:
        return " ".join("%02x" % b for b in f.read())


def main():
    check = "--check" in sys.argv[1:]
    out, bad = [], 0
    with open(TABLE) as f, tempfile.TemporaryDirectory() as tmp:
        for line in f:
            s = line.rstrip("\n")
            if not s.strip() or s.lstrip().startswith("#"):
                out.append(s)
                continue
            bits, old, expect, asm = [c.strip() for c in s.split("|", 3)]
            new = assemble(bits, asm.replace(";", "\n"), tmp)
            if check and new != old:
                print("differs: %s: %s, as gives %s" % (asm, old, new))
                bad += 1
            out.append("%-2s | %-35s | %-38s | %s" % (bits, new, expect, asm))
    if check:
        sys.exit(1 if bad else 0)
    with open(TABLE, "w") as f:
        f.write("\n".join(out) + "\n")


main()
