#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The existing famfs tools' shadow YAML round trip, as a rule over an image.

Their `famfs logplay --shadow DIR --shadowtest` writes each FILE entry of the
log as a YAML document (path, size, flags, mode, uid, gid, nextents and the
extent list), reads it back into a zeroed file body and compares the whole
520-byte body with the entry's; a FILE entry whose path already has a
document is compared with that document instead. This is our own statement
of that rule (docs/user-guide.md, "The existing tools' shadow YAML"), written
from the format (docs/format.md) with struct only:

  - the document carries exactly: size u64 @0, flags @8, uid @12, gid @16,
    mode @20, relpath @24 (up to its NUL, at most 79 bytes), ext_type @104,
    nextents @112, and for a simple list the nextents extents {devindex,
    offset, len} @120, for a striped list nextents interleaved extents
    {nstrips, chunk_size, nstrips strips} @120 (400 bytes each); every other
    byte reads back as zero (so times in the padding words @108 and @116 are
    lost);
  - a simple list without extents does not parse back (their parser wants an
    extent first), nor more than 16 extents or strips;
  - a path that is not UTF-8 cannot be emitted; an ext_type other than 0 and
    1 emits no list;
  - their replay counts as errors a path that is not relative and a FILE
    entry with an extent at offset 0, and a MKDIR or FILE whose path was
    made the other kind before.

Usage: famfs_shadow_rule.py IMAGE [-v]
Prints each failing entry (names escaped) and "F of N file entries fail";
exit 0 if none fails, 1 if some do, 2 if IMAGE is not a famfs.
"""
import struct
import sys

LOG = 0x200000
HDR = 48
ENT = 544
BODY = 520


def esc(b):
    """A name made safe to print: printable ASCII as is, other bytes as \\xNN."""
    return "".join(chr(c) if 0x20 <= c < 0x7f and c != 0x5c else "\\x%02x" % c for c in b)


def readback(body):
    """The body their parser rebuilds from the document of @body, or a reason it cannot."""
    field = body[24:104]
    if b"\0" not in field:
        return None, "relpath has no NUL: not emitted"
    path = field.split(b"\0")[0][:79]
    try:
        path.decode("utf-8")
    except UnicodeDecodeError:
        return None, "path is not UTF-8: the YAML emitter refuses it"
    size, flags, uid, gid, mode = struct.unpack_from("<QIIII", body, 0)
    ext_type, = struct.unpack_from("<I", body, 104)
    n, = struct.unpack_from("<I", body, 112)
    out = bytearray(BODY)
    struct.pack_into("<QIIII", out, 0, size, flags, uid, gid, mode)
    out[24:24 + len(path)] = path
    struct.pack_into("<I", out, 112, n)
    if ext_type == 0:
        if n == 0:
            return None, "nextents 0: an empty simple_ext_list does not parse back"
        if n > 16:
            return None, "more than 16 extents"
        out[120:120 + 24 * n] = body[120:120 + 24 * n]
    elif ext_type == 1:
        struct.pack_into("<I", out, 104, 1)
        for i in range(n):
            at = 120 + 400 * i
            if at + 400 > BODY:
                return None, "interleaved extent %d does not fit a file body" % i
            nstrips, = struct.unpack_from("<Q", body, at)
            if nstrips > 16:
                return None, "more than 16 strips"
            out[at:at + 16] = body[at:at + 16]
            out[at + 16:at + 16 + 24 * nstrips] = body[at + 16:at + 16 + 24 * nstrips]
    else:
        return None, "ext_type %d: no extent list is emitted" % ext_type
    return bytes(out), None


def differs(a, b):
    """Where two bodies differ, as field names (for the message)."""
    fields = [(0, 8, "size"), (8, 12, "flags"), (12, 16, "uid"), (16, 20, "gid"),
              (20, 24, "mode"), (24, 104, "relpath"), (104, 108, "ext_type"),
              (108, 112, "padding @108 (mtime_sec)"), (112, 116, "nextents"),
              (116, 120, "padding @116 (mtime_nsec)"), (120, BODY, "extents")]
    return ", ".join(n for lo, hi, n in fields if a[lo:hi] != b[lo:hi])


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    verbose = "-v" in sys.argv[2:]
    with open(sys.argv[1], "rb") as f:
        sb = f.read(200)
        magic, version, _, log_len = struct.unpack_from("<QQQQ", sb, 0)
        if magic != 0x87b282ff:
            print("not a famfs image", file=sys.stderr)
            sys.exit(2)
        f.seek(LOG)
        log = f.read(log_len)
    used, = struct.unpack_from("<Q", log, 40)
    used = min(used, (log_len - HDR) // ENT)
    shadow = {}  # path -> "dir" or the body its document reads back as
    files = failed = 0
    for i in range(used):
        e = log[HDR + i * ENT:HDR + (i + 1) * ENT]
        typ, = struct.unpack_from("<I", e, 8)
        if version == 47 and typ == 3:
            typ = 4
        body = e[16:16 + BODY]
        why = None
        if typ == 1:
            path = body[12:92].split(b"\0")[0]
            if shadow.get(path, "dir") != "dir":
                print("entry %d: %s: a file exists where the directory should be"
                      % (i, esc(path)))
                failed += 1
            shadow[path] = "dir"
            continue
        if typ != 0:
            continue
        files += 1
        path = body[24:104].split(b"\0")[0]
        n, = struct.unpack_from("<I", body, 112)
        if not path or path.startswith(b"/"):
            why = "path is not relative"
        elif any(struct.unpack_from("<Q", body, 120 + 24 * j + 8)[0] == 0
                 for j in range(min(n, 16))):
            why = "an extent at offset 0"
        elif shadow.get(path) == "dir":
            why = "a directory where the file is expected"
        elif path in shadow:
            # Their replay finds the document of an earlier entry and compares with it.
            if shadow[path] != body:
                why = "differs from the document of an earlier entry of that path (" + \
                    differs(shadow[path], body) + ")"
        else:
            back, why = readback(body)
            if back is not None:
                shadow[path] = back
                if back != body:
                    why = "does not read back the same (" + differs(back, body) + ")"
        if why:
            failed += 1
            if verbose or failed <= 20:
                print("entry %d: %s: %s" % (i, esc(path), why))
    print("%d of %d file entries fail the existing tools' shadow YAML round trip"
          % (failed, files))
    sys.exit(1 if failed else 0)


main()
