#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Write crafted metadata into a famfs image, as another implementation or an
attacker could: entries with valid crcs and seqnums, published by the header;
superblock fields outside the crc. Built from docs/format.md with struct and
zlib.crc32, independent of our C code. Used by the integration tests.

  famfs_craft.py IMG entry TYPE [--path P] [--size N] [--extent OFF,LEN]...
                              [--extents-of PATH] [--mode M] [--index N] [--mtime S]
                              [--uuid HEX]                 append one entry
  famfs_craft.py IMG copy-extents FROM_SLOT TO_SLOT        give TO FROM's extents
  famfs_craft.py IMG daxdev-size N                         set daxdev.size (not under the crc)
  famfs_craft.py IMG version 47                            make it a version-47 image
  famfs_craft.py IMG alloc-unit N                          set the allocation unit
  famfs_craft.py IMG sb-bytes OFF HEX                      overwrite superblock bytes at
                                                           OFF, then seal its crc
  famfs_craft.py IMG sb-from SRC                           copy SRC's first 4 KiB over IMG's
  famfs_craft.py IMG counters SEQNUM INDEX                 set the header's next_seqnum, next_index

--extent OFF,LEN[,DEVINDEX]: DEVINDEX 0 unless given.

TYPE: file, mkdir, delete, daxdev, invalid, or a number. Prints the slot used.
"""
import argparse
import struct
import sys
import zlib

LOG = 0x200000
HDR = 48
ENT = 544
TYPES = {"file": 0, "mkdir": 1, "delete": 2, "daxdev": 3, "invalid": 4}


def slot_off(i):
    return LOG + HDR + i * ENT


def seal(e):
    struct.pack_into("<Q", e, 536, zlib.crc32(bytes(e[:536])))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("img")
    ap.add_argument("what")
    ap.add_argument("args", nargs="*")
    ap.add_argument("--path", default="")
    ap.add_argument("--size", type=lambda s: int(s, 0), default=0)
    ap.add_argument("--mode", type=lambda s: int(s, 8), default=0o644)
    ap.add_argument("--extent", action="append", default=[])
    ap.add_argument("--index", type=int, default=0)
    ap.add_argument("--uuid", default=None)  # ADD_DAXDEV: the device uuid (32 hex digits)
    ap.add_argument("--extents-of", default=None)
    ap.add_argument("--mtime", type=int, default=0)  # FILE: mtime_sec @108 (ours)
    a = ap.parse_args()
    with open(a.img, "r+b") as f:
        if a.what == "entry":
            typ = TYPES.get(a.args[0])
            typ = int(a.args[0]) if typ is None else typ
            f.seek(LOG + 32)
            _, nxt = struct.unpack("<QQ", f.read(16))
            e = bytearray(ENT)
            struct.pack_into("<QI", e, 0, nxt, typ)
            path = a.path.encode("utf-8", "surrogateescape")
            if typ == 0:
                struct.pack_into("<QIIII", e, 16, a.size, 2, 0, 0, a.mode)
                e[16 + 24:16 + 24 + len(path)] = path
                struct.pack_into("<II", e, 16 + 104, 0, a.mtime)
                struct.pack_into("<I", e, 16 + 112, len(a.extent))
                for i, x in enumerate(a.extent):
                    v = [int(w, 0) for w in x.split(",")] + [0]
                    struct.pack_into("<QQQ", e, 16 + 120 + 24 * i, v[2], v[0], v[1])
                if a.extents_of:  # another file's extents (and size) under this name
                    want = a.extents_of.encode()
                    for i in range(nxt):
                        f.seek(slot_off(i))
                        s = f.read(ENT)
                        if struct.unpack_from("<I", s, 8)[0] == 0 and \
                                s[16 + 24:16 + 104].split(b"\0")[0] == want:
                            e[16:24] = s[16:24]
                            e[16 + 104:536] = s[16 + 104:536]
                            break
                    else:
                        sys.exit("no file entry for " + a.extents_of)
            elif typ == 1:
                struct.pack_into("<III", e, 16, 0, 0, a.mode)
                e[16 + 12:16 + 12 + len(path)] = path
            elif typ == 3:
                struct.pack_into("<Q", e, 16, a.size)
                struct.pack_into("<I", e, 16 + 24, a.index)
                e[16 + 8] = a.index
                if a.uuid:
                    e[16 + 8:16 + 24] = bytes.fromhex(a.uuid.replace("-", ""))
            seal(e)
            f.seek(slot_off(nxt))
            f.write(e)
            f.seek(LOG + 32)
            f.write(struct.pack("<QQ", nxt + 1, nxt + 1))
            print(nxt)
        elif a.what == "copy-extents":
            src, dst = int(a.args[0]), int(a.args[1])
            f.seek(slot_off(src))
            s = f.read(ENT)
            f.seek(slot_off(dst))
            e = bytearray(f.read(ENT))
            e[16 + 104:536] = s[16 + 104:536]
            seal(e)
            f.seek(slot_off(dst))
            f.write(e)
        elif a.what == "counters":  # e.g. one of the two 8-byte halves lost to a power loss
            f.seek(LOG + 32)
            f.write(struct.pack("<QQ", int(a.args[0], 0), int(a.args[1], 0)))
        elif a.what == "daxdev-size":
            f.seek(112)
            f.write(struct.pack("<Q", int(a.args[0], 0)))
        elif a.what == "alloc-unit":
            f.seek(0)
            sb = bytearray(f.read(200))
            struct.pack_into("<Q", sb, 32, int(a.args[0], 0))
            struct.pack_into("<Q", sb, 96, zlib.crc32(bytes(sb[:96])))
            f.seek(0)
            f.write(sb)
        elif a.what == "version":
            f.seek(0)
            sb = bytearray(f.read(200))
            struct.pack_into("<Q", sb, 8, int(a.args[0]))
            struct.pack_into("<I", sb, 44, 1 if int(a.args[0]) == 47 else 2)
            struct.pack_into("<Q", sb, 96, zlib.crc32(bytes(sb[:96])))
            f.seek(0)
            f.write(sb)
        elif a.what == "sb-bytes":
            f.seek(0)
            sb = bytearray(f.read(200))
            off, data = int(a.args[0], 0), bytes.fromhex(a.args[1])
            sb[off:off + len(data)] = data
            struct.pack_into("<Q", sb, 96, zlib.crc32(bytes(sb[:96])))
            f.seek(0)
            f.write(sb)
        elif a.what == "sb-from":
            with open(a.args[0], "rb") as src:
                head = src.read(4096)
            f.seek(0)
            f.write(head)
        else:
            sys.exit("unknown: " + a.what)


main()
