#!/usr/bin/env python3
"""Builds the tiny hand-made ELF files used as RB-SYS-002 rule examples (Rules/system.yaml), so that
the examples stay small and reproducible. Each is a valid ELF header with program headers (and, for
the dynamic ones, a dynamic section, DT_HASH, dynamic symbols and strings reached through PT_LOAD,
with no section headers, as after sstrip). Prints name: base64 lines.

    scripts/elf-examples.py
"""
import base64, struct, sys

def elf64(etype, *, interp=None, stack_flags=None, relro=False, needed=(), imports=(), bind_now=False, pie_flag=False):
    phdrs, blobs = [], b""
    base = 64  # after the ELF header
    nph = 1 + (interp is not None) + (stack_flags is not None) + relro + (1 if needed or imports else 0)
    data_off = base + 56 * nph
    layout = {}
    def put(name, data, align=8):
        nonlocal blobs
        pad = (-(data_off + len(blobs))) % align
        blobs += b"\0" * pad
        layout[name] = data_off + len(blobs)
        blobs += data
    if interp:
        put("interp", interp.encode() + b"\0", 1)
    dynamic = bool(needed or imports)
    if dynamic:
        strings = b"\0"
        offsets = {}
        for s in list(needed) + list(imports):
            offsets[s] = len(strings); strings += s.encode() + b"\0"
        symbols = b"\0" * 24 + b"".join(struct.pack("<IBBHQQ", offsets[s], 0x12, 0, 0, 0, 0) for s in imports)
        n = 1 + len(imports)
        put("hash", struct.pack("<II", 1, n) + struct.pack("<I", 0) + struct.pack("<" + "I" * n, *([0] * n)), 8)
        put("symtab", symbols)
        put("strtab", strings, 1)
        entries = [(1, offsets[s]) for s in needed]
        entries += [(4, layout["hash"]), (5, layout["strtab"]), (6, layout["symtab"]), (10, len(strings)), (11, 24)]
        if bind_now: entries.append((30, 0x8))
        flags1 = (0x1 if bind_now else 0) | (0x08000000 if pie_flag else 0)
        if flags1: entries.append((0x6ffffffb, flags1))
        entries.append((0, 0))
        put("dynamic", b"".join(struct.pack("<qQ", t, v) for t, v in entries))
    total = data_off + len(blobs)
    phdrs.append(struct.pack("<IIQQQQQQ", 1, 5, 0, 0, 0, total, total, 0x1000))          # PT_LOAD of everything
    if interp:
        phdrs.append(struct.pack("<IIQQQQQQ", 3, 4, layout["interp"], layout["interp"], 0, len(interp) + 1, len(interp) + 1, 1))
    if dynamic:
        size = total - layout["dynamic"]
        phdrs.append(struct.pack("<IIQQQQQQ", 2, 6, layout["dynamic"], layout["dynamic"], 0, size, size, 8))
    if stack_flags is not None:
        phdrs.append(struct.pack("<IIQQQQQQ", 0x6474e551, stack_flags, 0, 0, 0, 0, 0, 16))
    if relro:
        phdrs.append(struct.pack("<IIQQQQQQ", 0x6474e552, 4, 0, 0, 0, 0, 0, 1))
    header = b"\x7fELF" + bytes([2, 1, 1, 0]) + b"\0" * 8
    header += struct.pack("<HHIQQQIHHHHHH", etype, 62, 1, 0, 64, 0, 0, 64, 56, len(phdrs), 64, 0, 0)
    return header + b"".join(phdrs) + blobs

examples = {
    # ET_EXEC, executable stack, nothing else, static: NX/PIE/RELRO missing, canary unknown.
    "legacy-static": elf64(2, stack_flags=7),
    # PIE with full RELRO, non-executable stack, canary and FORTIFY imports: fully hardened.
    "hardened": elf64(3, interp="/lib64/ld-linux-x86-64.so.2", stack_flags=6, relro=True, needed=["libc.so.6"],
                      imports=["__stack_chk_fail", "__memcpy_chk", "memcpy"], bind_now=True, pie_flag=True),
    # PIE, NX, partial RELRO (no BIND_NOW), no canary, memcpy without __memcpy_chk: low findings.
    "partial": elf64(3, interp="/lib64/ld-linux-x86-64.so.2", stack_flags=6, relro=True, needed=["libc.so.6"],
                     imports=["memcpy", "puts"], pie_flag=True),
}
for name, data in examples.items():
    sys.stdout.write(f"{name}: {base64.b64encode(data).decode()}\n")
