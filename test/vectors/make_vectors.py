#!/usr/bin/env python3
"""Build famfs metadata byte-for-byte from the format reference, independently
of our C structs, and record zlib.crc32 of the spans each CRC covers.

Writes sb.bin (200 bytes), loghdr.bin (48), entry_file.bin, entry_mkdir.bin,
entry_stripe.bin (544 each) and crcs.txt ("name crc_hex covered_len").
Run it to regenerate; the outputs are checked in and read by
test/unit/test_format.c.
"""
import struct
import zlib

UUID_FS = bytes(range(0x10, 0x20))
UUID_DEV = bytes(range(0x20, 0x30))
UUID_SYS = bytes(range(0x30, 0x40))


def superblock():
    b = struct.pack("<QQQQQII16s16s16s",
                    0x87b282ff, 48, 0x200000, 0x800000, 0x200000, 2, 2,
                    UUID_FS, UUID_DEV, UUID_SYS)
    assert len(b) == 96
    crc = zlib.crc32(b)
    b += struct.pack("<QI4x", crc, 0)                 # crc, sb_flags, pad
    b += struct.pack("<Q16s64s", 4 << 30, bytes(16), b"/tmp/famfs.img")
    assert len(b) == 200
    return b, crc, 96


def log_header():
    b = struct.pack("<QQQ", 0xbadcafef00d, 0x800000, 15419)
    crc = zlib.crc32(b)
    b += struct.pack("<QQQ", crc, 3, 3)
    assert len(b) == 48
    return b, crc, 24


def entry(seqnum, etype, body):
    assert len(body) <= 520
    b = struct.pack("<QI4x", seqnum, etype) + body + bytes(520 - len(body))
    crc = zlib.crc32(b)
    b += struct.pack("<Q", crc)
    assert len(b) == 544
    return b, crc, 536


def file_body(path, size, mode, exts):
    b = struct.pack("<QIIII", size, 2, 1000, 1000, mode)
    b += path.encode() + bytes(80 - len(path))
    b += struct.pack("<I4xI4x", 0, len(exts))          # ext_type SIMPLE, nextents
    for devindex, off, length in exts:
        b += struct.pack("<QQQ", devindex, off, length)
    return b


def stripe_body(path, size, mode, chunk, strips):
    b = struct.pack("<QIIII", size, 2, 0, 0, mode)
    b += path.encode() + bytes(80 - len(path))
    b += struct.pack("<I4xI4x", 1, 1)                   # INTERLEAVE, one iext
    b += struct.pack("<QQ", len(strips), chunk)
    for devindex, off, length in strips:
        b += struct.pack("<QQQ", devindex, off, length)
    return b


def mkdir_body(path, mode):
    return struct.pack("<III", 1000, 1000, mode) + path.encode() + bytes(80 - len(path))


def main():
    items = {
        "sb": superblock(),
        "loghdr": log_header(),
        "entry_mkdir": entry(0, 1, mkdir_body("dir1", 0o755)),
        "entry_file": entry(1, 0, file_body("dir1/file0", 3145728, 0o644,
                                            [(0, 0xa00000, 0x400000)])),
        "entry_stripe": entry(2, 0, stripe_body("dir1/striped", 32 << 20, 0o600, 0x200000,
                                                [(0, 0x4000000 * (i + 1), 0x800000)
                                                 for i in range(4)])),
    }
    with open("crcs.txt", "w") as f:
        for name, (data, crc, span) in items.items():
            with open(name + ".bin", "wb") as out:
                out.write(data)
            f.write("%s %#x %d\n" % (name, crc, span))


if __name__ == "__main__":
    main()
