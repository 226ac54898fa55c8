#!/usr/bin/python3
"""w2c_split.py - splits one wasm2c (wabt 1.0.32) C file into parts that gcc compiles in parallel.

gcc needs minutes and gigabytes for one 60 MB file; in pieces it is fast. Usage:
    w2c_split.py MOD.c OUTDIR PARTS
writes OUTDIR/mod_impl.h (shared helpers, declarations of every wasm function), OUTDIR/mod_0.c (data,
tables, instantiation, exports) and OUTDIR/mod_1.c .. mod_PARTS.c (function bodies, balanced by size).
The wasm functions lose `static` so the parts can call each other; nothing else changes meaning.
A long run of LOAD_DATA lines (one per data segment) becomes a table and a loop, which gcc compiles
in a fraction of the time.

Memory accesses: wasm2c 1.0.32 writes every load and store as i32_load(&instance->w2c_memory, addr),
which reads the memory's base from the instance each time; a store through that char-typed base may
alias the instance, so gcc must read the base again after every store. With guard pages
(WASM_RT_MEMCHECK_SIGNAL_HANDLER) the memory is reserved once and memory.grow never moves it, so each
function here reads the base once into a local (whose address is never taken, so no store aliases it)
and accesses memory through it. Without guard pages the accessors are wasm2c's own, unchanged. The
rewrite checks that the generated code has exactly the shape it expects and stops otherwise.
"""
import re
import sys

FWD_DECL = re.compile(r"^static (.+?)\b(w2c_\w+)\((.*)\);$")
FUNC_DEF = re.compile(r"^static (.+?)\b(w2c_\w+)\((.*)\) \{$")
STATIC_ARRAY = re.compile(r"^static (const \w+) (\w+)\[\] = \{$")
FUNC_TYPES = re.compile(r"^static (u32 func_types\[\d+\]);$")
LOAD_DATA = re.compile(r"^  LOAD_DATA\(([\w>.-]+), (\d+)u, (\w+), (\d+)\);$")
# Below this many segments the plain calls are cheap enough.
LOAD_DATA_TABLE_MIN = 64

# wasm2c's accessors: instantiations of these two macros, whose little-endian bodies must be exactly
# these (our accessors repeat their semantics with a base pointer instead of the memory).
DEFINE_ACCESSOR = re.compile(r"^DEFINE_(LOAD|STORE)\((\w+), (\w+), (\w+)(?:, (\w+))?\)$")
W2C_LOAD_BODY = [
    "#define DEFINE_LOAD(name, t1, t2, t3)                      \\",
    "  static inline t3 name(wasm_rt_memory_t* mem, u64 addr) { \\",
    "    MEMCHECK(mem, addr, t1);                               \\",
    "    t1 result;                                             \\",
    "    wasm_rt_memcpy(&result, &mem->data[addr], sizeof(t1)); \\",
    "    wasm_asm(\"\" ::\"r\"(result));                            \\",
    "    return (t3)(t2)result;                                 \\",
    "  }",
]
W2C_STORE_BODY = [
    "#define DEFINE_STORE(name, t1, t2)                                     \\",
    "  static inline void name(wasm_rt_memory_t* mem, u64 addr, t2 value) { \\",
    "    MEMCHECK(mem, addr, t1);                                           \\",
    "    t1 wrapped = (t1)value;                                            \\",
    "    wasm_rt_memcpy(&mem->data[addr], &wrapped, sizeof(t1));            \\",
    "  }",
]
# In a function body: an access, memory.grow, and what may stay as it is (memory.size and the
# bulk-memory helpers read the memory fresh on each use).
MEM = "&instance->w2c_memory"
ACCESS = re.compile(r"\b((?:i32|i64|f32|f64)_(?:load|store)\w*)\(&instance->w2c_memory, ")
GROW = "wasm_rt_grow_memory(&instance->w2c_memory, "
MEM_ALLOWED = re.compile(r"instance->w2c_memory\.pages\b|"
                         r"\bmemory_fill\(&instance->w2c_memory, |"
                         r"\bmemory_copy\(&instance->w2c_memory, &instance->w2c_memory, ")
# Anything else naming a memory or an accessor after the rewrite means an unexpected shape.
MEM_LEFT = re.compile(r"w2c_memory|_memory\b|(?<!wf_)\b(?:i32|i64|f32|f64)_(?:load|store)\w*\(")


def fail(msg):
    sys.stderr.write("w2c_split: %s\n" % msg)
    sys.exit(1)


def load_data_table(run, serial):
    """Replaces LOAD_DATA calls on one memory by a table and a loop (same order, same checks)."""
    mem = run[0][0]
    name = "wf_data_segments_%d" % serial
    out = ["  static const struct { u32 offset; const u8* data; u32 size; } %s[] = {" % name]
    for _, off, data, size in run:
        out.append("    {%su, %s, %su}," % (off, data, size))
    out.append("  };")
    out.append("  for (size_t wf_i = 0; wf_i < sizeof(%s) / sizeof(%s[0]); wf_i++)" % (name, name))
    out.append("    LOAD_DATA(%s, %s[wf_i].offset, %s[wf_i].data, %s[wf_i].size);" % (mem, name, name, name))
    return out


def accessor_header(header_lines, src):
    """Our accessors taking a base pointer, one per wasm2c accessor, and the guard-page switch."""
    text = "\n".join(header_lines)
    for body in (W2C_LOAD_BODY, W2C_STORE_BODY):
        if "\n".join(body) not in text:
            fail("%s: wasm2c's %s macro is not the one of wabt 1.0.32; the memory accessors cannot be "
                 "rewritten safely" % (src, body[0].split()[1].split("(")[0]))
    accessors = [m.groups() for m in map(DEFINE_ACCESSOR.match, header_lines) if m]
    if len(accessors) != 23:
        fail("%s: expected 23 DEFINE_LOAD/DEFINE_STORE lines, found %d" % (src, len(accessors)))
    out = [
        "",
        "/* Added by w2c_split.py: memory accesses through a base held in a local (see w2c_split.py). */",
        "#include <stdio.h>",
        "#include <stdlib.h>",
        "#if WABT_BIG_ENDIAN",
        "#error \"w2c_split.py's memory accessors are written for little-endian hosts\"",
        "#endif",
        "#if WASM_RT_MEMCHECK_SIGNAL_HANDLER",
        "/* Guard pages: the memory never moves, so its base is read once per function call. */",
        "#define WF_MEM_BASE u8* const wf_mb = instance->w2c_memory.data",
        "/* The asm keeps wasm2c's guarantee that a load whose value is unused still happens (and traps",
        "   out of bounds); floating-point values stay in vector registers for it on x86-64. */",
        "#if defined(__x86_64__)",
        "#define WF_FORCE_READ_f32(v) wasm_asm(\"\" ::\"x\"(v))",
        "#define WF_FORCE_READ_f64(v) wasm_asm(\"\" ::\"x\"(v))",
        "#else",
        "#define WF_FORCE_READ_f32(v) wasm_asm(\"\" ::\"r\"(v))",
        "#define WF_FORCE_READ_f64(v) wasm_asm(\"\" ::\"r\"(v))",
        "#endif",
        "#define WF_FORCE_READ_u8(v) wasm_asm(\"\" ::\"r\"(v))",
        "#define WF_FORCE_READ_s8 WF_FORCE_READ_u8",
        "#define WF_FORCE_READ_u16 WF_FORCE_READ_u8",
        "#define WF_FORCE_READ_s16 WF_FORCE_READ_u8",
        "#define WF_FORCE_READ_u32 WF_FORCE_READ_u8",
        "#define WF_FORCE_READ_s32 WF_FORCE_READ_u8",
        "#define WF_FORCE_READ_u64 WF_FORCE_READ_u8",
        "#define WF_DEFINE_LOAD(name, t1, t2, t3)                 \\",
        "  static inline t3 wf_##name(u8* mb, u64 addr) {        \\",
        "    t1 result;                                          \\",
        "    wasm_rt_memcpy(&result, mb + addr, sizeof(t1));     \\",
        "    WF_FORCE_READ_##t1(result);                         \\",
        "    return (t3)(t2)result;                              \\",
        "  }",
        "#define WF_DEFINE_STORE(name, t1, t2)                          \\",
        "  static inline void wf_##name(u8* mb, u64 addr, t2 value) {  \\",
        "    t1 wrapped = (t1)value;                                   \\",
        "    wasm_rt_memcpy(mb + addr, &wrapped, sizeof(t1));          \\",
        "  }",
    ]
    for kind, name, t1, t2, t3 in accessors:
        if kind == "LOAD":
            out.append("WF_DEFINE_LOAD(%s, %s, %s, %s)" % (name, t1, t2, t3))
        else:
            out.append("WF_DEFINE_STORE(%s, %s, %s)" % (name, t1, t2))
    out += [
        "/* The base is constant only if the runtime keeps the memory in place: a runtime built",
        "   without guard pages would move it on growth, and this stops the process rather than",
        "   letting the callers go on with a stale base. */",
        "static void wf_memory_moved(void) {",
        "  fputs(\"wasm2c module: memory.grow moved the linear memory; the module was compiled for \"",
        "        \"guard pages (WASM_RT_MEMCHECK_SIGNAL_HANDLER=1) but the runtime was not\\n\", stderr);",
        "  abort();",
        "}",
        "static inline u32 wf_grow_memory(u8* mb, wasm_rt_memory_t* mem, u32 delta) {",
        "  u32 old = wasm_rt_grow_memory(mem, delta);",
        "  if (UNLIKELY(mem->data != mb))",
        "    wf_memory_moved();",
        "  return old;",
        "}",
        "#else",
        "/* Explicit bounds checks: wasm2c's own accessors, on the memory itself. */",
        "#define WF_MEM_BASE wasm_rt_memory_t* const wf_mb = &instance->w2c_memory",
    ]
    for kind, name, *_ in accessors:
        out.append("#define wf_%s %s" % (name, name))
    out += [
        "#define wf_grow_memory(mb, mem, delta) wasm_rt_grow_memory(mem, delta)",
        "#endif",
        "",
    ]
    return out


def rewrite_memory_accesses(body, name, src):
    """Makes one function's loads and stores use the local base; fails on any other use of memory."""
    out, uses = [], 0
    for line in body:
        line, n = ACCESS.subn(r"wf_\1(wf_mb, ", line)
        uses += n
        if GROW in line:
            line = line.replace(GROW, "wf_grow_memory(wf_mb, &instance->w2c_memory, ")
            uses += 1
        rest = MEM_ALLOWED.sub("", line.replace("wf_grow_memory(wf_mb, &instance->w2c_memory, ", ""))
        if MEM_LEFT.search(rest):
            fail("%s: function %s uses memory in a way the rewrite does not know: %s" % (src, name, line.strip()))
        out.append(line)
    return (["  WF_MEM_BASE;"] if uses else []) + out


def transform_load_data(lines):
    out, run, serial = [], [], 0

    def flush():
        nonlocal run, serial
        if len(run) >= LOAD_DATA_TABLE_MIN:
            out.extend(load_data_table(run, serial))
            serial += 1
        else:
            out.extend("  LOAD_DATA(%s, %su, %s, %s);" % r for r in run)
        run = []

    for line in lines:
        m = LOAD_DATA.match(line)
        if m and (not run or run[0][0] == m.group(1)):
            run.append(m.groups())
            continue
        flush()
        if m:
            run.append(m.groups())
            continue
        out.append(line)
    flush()
    return out


def main():
    if len(sys.argv) != 4:
        fail("usage: w2c_split.py MOD.c OUTDIR PARTS")
    src, outdir, parts = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if parts < 1:
        fail("PARTS must be at least 1")
    with open(src, encoding="utf-8") as f:
        lines = f.read().split("\n")

    # The helpers (macros, static inline functions) come first and end where module state begins.
    try:
        cut = lines.index("static bool s_module_initialized = false;")
    except ValueError:
        fail("%s: no 's_module_initialized' line; not wasm2c 1.0.32 output?" % src)
    header = ["/* Generated by w2c_split.py from %s: shared by every part. */" % src.split("/")[-1]]
    header += lines[:cut]
    header += accessor_header(lines[:cut], src)
    main_part, functions = [], []
    declared = set()
    i = cut
    while i < len(lines):
        line = lines[i]
        # wasm2c wraps long parameter lists: read a declaration or definition head up to its end.
        head_end = i
        if line.startswith("static ") and "w2c_" in line:
            while head_end + 1 < len(lines) and not lines[head_end].rstrip().endswith(("{", ";")):
                head_end += 1
        head = " ".join(l.strip() for l in lines[i:head_end + 1])
        m = FWD_DECL.match(head)
        if m:
            declared.add(m.group(2))
            header.append(line[len("static "):])
            header.extend(lines[i + 1:head_end + 1])
            i = head_end + 1
            continue
        m = FUNC_DEF.match(head)
        if m and m.group(2) in declared:
            end = head_end
            while end < len(lines) and lines[end] != "}":
                end += 1
            if end == len(lines):
                fail("%s: function %s has no closing brace" % (src, m.group(2)))
            if not m.group(3).startswith("Z_mod_instance_t* instance"):
                fail("%s: function %s does not take the instance first" % (src, m.group(2)))
            head_lines = [line[len("static "):]] + lines[i + 1:head_end + 1]
            body = rewrite_memory_accesses(lines[head_end + 1:end + 1], m.group(2), src)
            functions.append(head_lines + body)
            i = end + 1
            continue
        m = STATIC_ARRAY.match(line)
        if m:
            # Data and element segments: function bodies may name them (memory.init, table.init).
            header.append("extern %s %s[];" % (m.group(1), m.group(2)))
            main_part.append(line[len("static "):])
            i += 1
            continue
        m = FUNC_TYPES.match(line)
        if m:
            header.append("extern %s;" % m.group(1))
            main_part.append(m.group(1) + ";")
            i += 1
            continue
        main_part.append(line)
        i += 1
    if not functions:
        fail("%s: no function definitions found" % src)

    main_part = transform_load_data(main_part)

    with open("%s/mod_impl.h" % outdir, "w", encoding="utf-8") as f:
        f.write("\n".join(header) + "\n")
    with open("%s/mod_0.c" % outdir, "w", encoding="utf-8") as f:
        f.write('#include "mod_impl.h"\n' + "\n".join(main_part) + "\n")

    # Fill the parts in order (neighbouring functions tend to call each other), balanced by size.
    sizes = [sum(len(l) + 1 for l in body) for body in functions]
    target = sum(sizes) / parts
    k, acc = 1, 0.0
    files = {n: [] for n in range(1, parts + 1)}
    for body, size in zip(functions, sizes):
        if acc >= target * k and k < parts:
            k += 1
        files[k].append(body)
        acc += size
    for n in range(1, parts + 1):
        with open("%s/mod_%d.c" % (outdir, n), "w", encoding="utf-8") as f:
            f.write('#include "mod_impl.h"\n')
            for body in files[n]:
                f.write("\n".join(body) + "\n\n")
    print(len(functions))


if __name__ == "__main__":
    main()
