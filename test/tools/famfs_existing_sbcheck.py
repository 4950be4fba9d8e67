#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The superblock check of the existing famfs tools, as the format facts give
it (shared reference "on-media-format"): magic, version equal to theirs (48),
crc over bytes 0..95, allocation unit 4 KiB or 2 MiB, and nothing else. It
stands in for their reader: what it accepts they would go on to read.

  famfs_existing_sbcheck.py DEVICE   prints "accepted" (exit 0) or
                                     "refused: REASON" (exit 1)
"""
import struct
import sys
import zlib

MAGIC = 0x87b282ff


def main():
    with open(sys.argv[1], "rb") as f:
        sb = f.read(200)
    magic, version = struct.unpack_from("<QQ", sb, 0)
    alloc_unit = struct.unpack_from("<Q", sb, 32)[0]
    crc = struct.unpack_from("<Q", sb, 96)[0]
    if magic != MAGIC:
        why = "no famfs magic"
    elif version != 48:
        why = "superblock version %d (expected 48)" % version
    elif crc != zlib.crc32(sb[:96]):
        why = "crc mismatch in superblock"
    elif alloc_unit not in (4096, 0x200000):
        why = "invalid alloc unit in superblock: %d" % alloc_unit
    else:
        print("accepted")
        return 0
    print("refused: " + why)
    return 1


sys.exit(main())
