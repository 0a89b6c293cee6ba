#!/usr/bin/env python3
"""gen_unicode_tables.py: writes src/text/unicode_tables.c (the Unicode data of the BERT tokenizer) from Python's unicodedata.

Run with the project venv (Python 3.11 = Unicode 14.0.0, the version the reference tokenizer sees):
    tools/.venv/bin/python tools/gen_unicode_tables.py > src/text/unicode_tables.c

Tables written:
  * a two-stage table of one flag byte per code point (see UT_* in src/text/unicode_tables.h),
  * a two-stage table of canonical combining classes,
  * full canonical decompositions (Hangul syllables excluded: they are algorithmic),
  * primary composition pairs (first, second) -> composite, sorted for binary search.
Before writing, the script checks every assumption the C normaliser relies on (see check_*), and
verifies a Python model of the C algorithm against unicodedata.normalize("NFC") on many strings.
"""
import random
import sys
import unicodedata as ud

MAXCP = 0x110000
BLOCK = 256

UT_DROP, UT_TOSPACE, UT_PUNCT, UT_SPACE, UT_BOUNDARY, UT_NFC_SELF = 1, 2, 4, 8, 16, 32
SBASE, LBASE, VBASE, TBASE = 0xAC00, 0x1100, 0x1161, 0x11A7
LCOUNT, VCOUNT, TCOUNT = 19, 21, 28
NCOUNT = VCOUNT * TCOUNT
SCOUNT = LCOUNT * NCOUNT


def is_punct(cp):
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return ud.category(chr(cp)).startswith("P")


def is_drop(cp):
    if cp in (0, 0xFFFD):
        return True
    if cp in (9, 10, 13):
        return False
    return ud.category(chr(cp)).startswith("C")


def is_tospace(cp):
    return cp in (32, 9, 10, 13) or ud.category(chr(cp)) == "Zs"


def one_level(cp):
    """Canonical one-level decomposition mapping, or None."""
    d = ud.decomposition(chr(cp))
    if not d or d.startswith("<"):
        return None
    return [int(x, 16) for x in d.split()]


def full_decomp(cp):
    m = one_level(cp)
    if m is None:
        return [cp]
    out = []
    for c in m:
        out += full_decomp(c)
    return out


def build():
    ccc = [ud.combining(chr(cp)) for cp in range(MAXCP)]
    decomp = {}
    pairs = {}
    for cp in range(MAXCP):
        if SBASE <= cp < SBASE + SCOUNT:
            continue
        m = one_level(cp)
        if m is None:
            continue
        decomp[cp] = full_decomp(cp)
        assert ud.normalize("NFD", chr(cp)) == "".join(map(chr, decomp[cp])), hex(cp)
        if len(m) == 2 and ud.normalize("NFC", chr(cp)) == chr(cp):
            pairs[(m[0], m[1])] = cp
    seconds = {b for (_, b) in pairs} | set(range(VBASE, VBASE + VCOUNT)) | set(range(TBASE + 1, TBASE + TCOUNT))
    firsts = {a for (a, _) in pairs}
    flags = bytearray(MAXCP)
    for cp in range(MAXCP):
        f = 0
        c = chr(cp)
        if is_drop(cp):
            f |= UT_DROP
        if is_tospace(cp):
            f |= UT_TOSPACE
        if is_punct(cp):
            f |= UT_PUNCT
        if c.isspace():
            f |= UT_SPACE
        d0 = decomp.get(cp, [cp])[0]
        if ccc[d0] == 0 and d0 not in seconds:
            f |= UT_BOUNDARY
        if 0xD800 <= cp < 0xE000 or ud.normalize("NFC", c) == c:
            f |= UT_NFC_SELF
        flags[cp] = f
    return ccc, decomp, pairs, seconds, firsts, flags


def check_assumptions(ccc, decomp, pairs, seconds, firsts, flags):
    """The facts src/text/tokenizer.c relies on, for the chars that survive cleaning (not DROP, not TOSPACE)."""
    live = [cp for cp in range(MAXCP) if not flags[cp] & (UT_DROP | UT_TOSPACE) and not 0xD800 <= cp < 0xE000]
    maxlen = max(len(d) for d in decomp.values())
    assert maxlen <= 4, maxlen  # NFC output length >= input length / 4 (UT_MAX_DECOMP)
    ps = UT_PUNCT | UT_SPACE
    for cp in live:
        d = decomp.get(cp, [cp])
        # only the first char of a decomposition may be punctuation or whitespace
        assert not any(flags[x] & ps for x in d[1:]), hex(cp)
        # a char that is not a boundary yields no punctuation or whitespace at all
        if not flags[cp] & UT_BOUNDARY:
            assert not any(flags[x] & ps for x in d), hex(cp)
        # NFC never makes or removes whitespace
        assert bool(flags[cp] & UT_SPACE) == any(ch.isspace() for ch in ud.normalize("NFC", chr(cp))), hex(cp)
        # CJK chars (isolated by spaces before NFC) are boundaries
        if is_cjk(cp):
            assert flags[cp] & UT_BOUNDARY, hex(cp)
    # compositions make no punctuation or whitespace; the only punctuation that composes is '<', '=', '>'
    # with U+0338 (ccc 1, the lowest non-zero class): the C code's overflow path relies on it
    assert min(c for c in ccc if c) == 1 and ccc[0x338] == 1
    for (a, b), c in pairs.items():
        assert not flags[b] & ps and not flags[c] & ps and ccc[a] == 0, (hex(a), hex(b))
        if flags[a] & ps:
            assert a in (0x3C, 0x3D, 0x3E) and b == 0x338, (hex(a), hex(b))
    # whitespace chars are boundaries and never take part in a composition
    for cp in range(MAXCP):
        if flags[cp] & UT_SPACE:
            assert flags[cp] & UT_BOUNDARY and cp not in firsts and cp not in seconds, hex(cp)
    # Python's regex \s (used by Bark's _normalize_whitespace) is str.isspace
    import re
    for cp in range(MAXCP):
        if 0xD800 <= cp < 0xE000:
            continue
        assert bool(re.fullmatch(r"\s", chr(cp))) == chr(cp).isspace(), hex(cp)


def is_cjk(cp):
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF or 0x2A700 <= cp <= 0x2B73F
            or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF or 0xF900 <= cp <= 0xFAFF
            or 0x2F800 <= cp <= 0x2FA1F)


def compose(a, b, pairs):
    if LBASE <= a < LBASE + LCOUNT and VBASE <= b < VBASE + VCOUNT:
        return SBASE + ((a - LBASE) * VCOUNT + b - VBASE) * TCOUNT
    if SBASE <= a < SBASE + SCOUNT and (a - SBASE) % TCOUNT == 0 and TBASE < b < TBASE + TCOUNT:
        return a + b - TBASE
    return pairs.get((a, b))


def model_nfc(s, ccc, decomp, pairs, flags):
    """The algorithm of src/text/tokenizer.c (segments cut before boundary chars), in Python."""
    out = []
    seg = []

    def flush():
        if not seg:
            return
        if len(seg) == 1 and flags[seg[0]] & UT_NFC_SELF:
            out.append(seg.pop())
            return
        d = []
        for c in seg:
            if SBASE <= c < SBASE + SCOUNT:
                si = c - SBASE
                d += [LBASE + si // NCOUNT, VBASE + (si % NCOUNT) // TCOUNT]
                if si % TCOUNT:
                    d.append(TBASE + si % TCOUNT)
            else:
                d += decomp.get(c, [c])
        for i in range(1, len(d)):  # stable insertion sort of non-starter runs
            j = i
            while j > 0 and ccc[d[j]] != 0 and ccc[d[j - 1]] > ccc[d[j]]:
                d[j - 1], d[j] = d[j], d[j - 1]
                j -= 1
        res = [d[0]]
        starter = 0
        last_ccc = 256 if ccc[d[0]] else 0
        for c in d[1:]:
            cc = ccc[c]
            comp = compose(res[starter], c, pairs)
            if comp is not None and (last_ccc < cc or last_ccc == 0):
                res[starter] = comp
                continue
            if cc == 0:
                starter = len(res)
            last_ccc = cc
            res.append(c)
        out.extend(res)
        seg.clear()

    for ch in s:
        cp = ord(ch)
        if flags[cp] & UT_BOUNDARY:
            flush()
        seg.append(cp)
    flush()
    return "".join(map(chr, out))


def check_model(ccc, decomp, pairs, flags):
    live = [cp for cp in range(MAXCP) if not flags[cp] & (UT_DROP | UT_TOSPACE) and not 0xD800 <= cp < 0xE000]
    for cp in live:
        assert model_nfc(chr(cp), ccc, decomp, pairs, flags) == ud.normalize("NFC", chr(cp)), hex(cp)
    rnd = random.Random(1)
    marks = [cp for cp in live if ccc[cp]]
    interesting = sorted({a for (a, _) in pairs} | {b for (_, b) in pairs} | set(decomp) | set(marks))
    interesting = [cp for cp in interesting if cp in set(live)]
    hangul = list(range(LBASE, LBASE + LCOUNT)) + list(range(VBASE, VBASE + VCOUNT)) + \
        list(range(TBASE + 1, TBASE + TCOUNT)) + [SBASE, SBASE + 1, SBASE + 28, 0xD7A3]
    pool = interesting + hangul + [0x41, 0x61, 0x20, 0x3B, 0x2028]
    for n in range(60000):
        k = rnd.randint(1, 12)
        s = "".join(chr(rnd.choice(pool if rnd.random() < 0.8 else marks)) for _ in range(k))
        assert model_nfc(s, ccc, decomp, pairs, flags) == ud.normalize("NFC", s), [hex(ord(c)) for c in s]
    for (a, b), c in pairs.items():
        for m in rnd.sample(marks, 3):
            s = chr(a) + chr(m) + chr(b) + chr(m)
            assert model_nfc(s, ccc, decomp, pairs, flags) == ud.normalize("NFC", s), [hex(ord(c)) for c in s]


def two_stage(values, ctype, name):
    blocks = {}
    index = []
    data = []
    for b in range(MAXCP // BLOCK):
        chunk = tuple(values[b * BLOCK:(b + 1) * BLOCK])
        if chunk not in blocks:
            blocks[chunk] = len(blocks)
            data.append(chunk)
        index.append(blocks[chunk])
    lines = [f"const uint16_t {name}_index[{len(index)}] = {{"]
    for i in range(0, len(index), 16):
        lines.append("    " + ", ".join(str(x) for x in index[i:i + 16]) + ",")
    lines.append("};")
    lines.append(f"const {ctype} {name}_blocks[{len(data)}][{BLOCK}] = {{")
    for chunk in data:
        lines.append("    {")
        for i in range(0, BLOCK, 32):
            lines.append("        " + ",".join(str(x) for x in chunk[i:i + 32]) + ",")
        lines.append("    },")
    lines.append("};")
    return lines


def main():
    ccc, decomp, pairs, seconds, firsts, flags = build()
    check_assumptions(ccc, decomp, pairs, seconds, firsts, flags)
    check_model(ccc, decomp, pairs, flags)
    out = ["/* unicode_tables.c: Unicode " + ud.unidata_version + " data of the BERT tokenizer (generated by "
           "tools/gen_unicode_tables.py; do not edit). */",
           '#include "unicode_tables.h"', ""]
    out += two_stage(flags, "uint8_t", "ut_flags")
    out.append("")
    out += two_stage(ccc, "uint8_t", "ut_ccc")
    out.append("")
    keys = sorted(decomp)
    pool = []
    entries = []
    for cp in keys:
        entries.append((cp, len(pool), len(decomp[cp])))
        pool += decomp[cp]
    out.append(f"const uint32_t ut_decomp_pool[{len(pool)}] = {{")
    for i in range(0, len(pool), 12):
        out.append("    " + ", ".join(f"0x{x:X}" for x in pool[i:i + 12]) + ",")
    out.append("};")
    out.append(f"const ut_decomp ut_decomps[{len(entries)}] = {{")
    for i in range(0, len(entries), 6):
        out.append("    " + " ".join(f"{{0x{c:X}, {o}, {n}}}," for c, o, n in entries[i:i + 6]))
    out.append("};")
    out.append(f"const size_t ut_n_decomps = {len(entries)};")
    out.append("")
    plist = sorted(((a << 21) | b, c) for (a, b), c in pairs.items())
    out.append(f"const ut_pair ut_pairs[{len(plist)}] = {{")
    for i in range(0, len(plist), 4):
        out.append("    " + " ".join(f"{{0x{k:X}ull, 0x{c:X}}}," for k, c in plist[i:i + 4]))
    out.append("};")
    out.append(f"const size_t ut_n_pairs = {len(plist)};")
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
