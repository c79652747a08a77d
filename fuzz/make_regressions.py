#!/usr/bin/env python3
"""Writes the hand-made hostile checkpoints of tests/data/fuzz-regressions/.

Each reproduces a denial of service found by review of the reader while it was
being fuzzed (the fuzzer's own crashing inputs go there as they are). Every file
must now be refused with a CheckpointError, quickly and without large
allocations; test_checkpoint_hostile loads them all.

    fuzz/make_regressions.py
"""
import os
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "data", "fuzz-regressions")


def zip_archive(locals_, centrals):
    """locals_: [(name, data)] written in order; centrals: [(name, index of the
    local entry it points at)], so that several central entries can share one."""
    out, offsets, central = bytearray(), [], bytearray()
    for name, data in locals_:
        offsets.append(len(out))
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 0, 0, 0, zlib.crc32(data), len(data), len(data),
                           len(name), 0) + name + data
    for name, i in centrals:
        data = locals_[i][1]
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 0, 0, 0, zlib.crc32(data), len(data),
                               len(data), len(name), 0, 0, 0, 0, 0, offsets[i]) + name
    dir_offset = len(out)
    out += central
    n = len(centrals)
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, n, n, len(central), dir_offset, 0)
    return bytes(out)


def binunicode(s):
    return b"X" + struct.pack("<I", len(s)) + s


def one_pickle_zip(pickle):
    return zip_archive([(b"archive/data.pkl", pickle)], [(b"archive/data.pkl", 0)])


def overlapping_entries():
    # 2000 storage entries that all point at one 64 KiB local entry: each read
    # checks a CRC over the same bytes. At this size it costs 128 MB of CRC; the
    # same shape with 40 MB of data and 30,000 entries costs ~20 minutes.
    n, numel = 2000, 16384
    p = bytearray(b"\x80\x02]")
    p += b"(" + binunicode(b"storage") + b"q\x01ctorch\nFloatStorage\nq\x02" + binunicode(b"0") + \
        binunicode(b"cpu") + b"q\x03J" + struct.pack("<i", numel) + b"tQa"
    for i in range(1, n):
        p += b"(h\x01h\x02" + binunicode(str(i).encode()) + b"h\x03J" + struct.pack("<i", numel) + b"tQa"
    p += b"."
    locals_ = [(b"archive/data.pkl", bytes(p)), (b"archive/data/0", b"\x01" * (4 * numel))]
    centrals = [(b"archive/data.pkl", 0)] + [(b"archive/data/%d" % i, 1) for i in range(n)]
    return zip_archive(locals_, centrals)


def dict_key_copies():
    # A memoized 256 KiB string used as the key of 1100 new dicts (6 bytes of
    # opcodes each): every key was a fresh copy, 280 MB from a 270 KB file.
    big = b"k" * (256 << 10)
    return one_pickle_zip(b"\x80\x02" + binunicode(big) + b"q\x000]" + b"}h\x00Nsa" * 1100 + b".")


def latin1_copies():
    # _codecs.encode(<memoized 256 KiB text>, 'latin1') called 1100 times:
    # 280 MB of bytes objects from a 270 KB file.
    big = b"t" * (256 << 10)
    return one_pickle_zip(b"\x80\x02c_codecs\nencode\nq\x010" + binunicode(big) + b"q\x000" + binunicode(b"latin1") +
                          b"q\x020]" + b"h\x01h\x00h\x02\x86Ra" * 1100 + b".")


def main():
    os.makedirs(OUT, exist_ok=True)
    files = {
        "review-overlapping-zip-entries.pth": overlapping_entries(),
        "review-dict-key-copies.pth": dict_key_copies(),
        "review-latin1-copies.pth": latin1_copies(),
    }
    for name, data in files.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
        print("%s: %d bytes" % (name, len(data)))


if __name__ == "__main__":
    main()
