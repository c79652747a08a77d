#!/usr/bin/env python3
"""Writes the small hand-made seed files of the fuzz targets into fuzz/seeds/.

They are tiny torch.save checkpoints (zip and legacy formats) made without
torch: stand-in classes under the names torch's pickles use ("torch
FloatStorage", "torch._utils _rebuild_tensor_v2", ...) go through Python's own
pickler, and the archive is written the way torch's writer (miniz) writes it:
stored entries, data aligned to 64 bytes by an "FB" extra field, ZIP64 end
records. The seeds are committed; run this again only to change them.

    fuzz/make_seeds.py            # rewrites fuzz/seeds/{checkpoint,pickle}/
"""
import collections
import io
import os
import pickle
import struct
import sys
import types
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))

# --- stand-ins for the torch globals the reader allows -------------------------------

torch = types.ModuleType("torch")
torch_utils = types.ModuleType("torch._utils")
torch._utils = torch_utils
sys.modules["torch"] = torch
sys.modules["torch._utils"] = torch_utils

STORAGE_TYPES = {  # name: (struct format, element size)
    "FloatStorage": ("f", 4), "DoubleStorage": ("d", 8), "HalfStorage": ("e", 2),
    "BFloat16Storage": ("H", 2), "LongStorage": ("q", 8), "IntStorage": ("i", 4),
    "ShortStorage": ("h", 2), "CharStorage": ("b", 1), "ByteStorage": ("B", 1),
    "BoolStorage": ("?", 1),
}
for _name in STORAGE_TYPES:
    _cls = type(_name, (), {"__module__": "torch"})
    setattr(torch, _name, _cls)


def _global(module, name):
    def f(*args):
        raise RuntimeError("stand-in, never called")
    f.__module__ = module.__name__
    f.__qualname__ = f.__name__ = name
    setattr(module, name, f)
    return f


rebuild_tensor_v2 = _global(torch_utils, "_rebuild_tensor_v2")
rebuild_parameter = _global(torch_utils, "_rebuild_parameter")


class Storage:
    def __init__(self, kind, key, values):
        fmt, _ = STORAGE_TYPES[kind]
        self.cls = getattr(torch, kind)
        self.key = key
        self.numel = len(values)
        self.data = struct.pack("<%d%s" % (len(values), fmt), *values)


class Tensor:
    def __init__(self, storage, offset, size, stride):
        self.args = (storage, offset, tuple(size), tuple(stride))

    def __reduce_ex__(self, protocol):
        return (rebuild_tensor_v2, self.args + (False, collections.OrderedDict()))


class Parameter:
    def __init__(self, tensor):
        self.tensor = tensor

    def __reduce_ex__(self, protocol):
        return (rebuild_parameter, (self.tensor, True, collections.OrderedDict()))


class Pickler(pickle.Pickler):
    """Writes storages as persistent ids, as torch.save does."""

    def __init__(self, f, protocol, legacy):
        super().__init__(f, protocol)
        self.legacy = legacy
        self.storages = collections.OrderedDict()

    def persistent_id(self, obj):
        if not isinstance(obj, Storage):
            return None
        self.storages[obj.key] = obj
        pid = ("storage", obj.cls, obj.key, "cpu", obj.numel)
        return pid + (None,) if self.legacy else pid


def dump(obj, protocol=2, legacy=False):
    f = io.BytesIO()
    p = Pickler(f, protocol, legacy)
    p.dump(obj)
    return f.getvalue(), list(p.storages.values())


# --- archive writers ------------------------------------------------------------------


def zip_archive(files, zip64=True, align=64):
    """Stored entries, the data of each aligned by an "FB" extra field."""
    out, central = bytearray(), bytearray()
    for name, data in files:
        name_b = name.encode()
        crc = zlib.crc32(data) & 0xFFFFFFFF
        offset = len(out)
        pad = (-(offset + 30 + len(name_b) + 4)) % align
        extra = struct.pack("<HH", 0x4246, pad) + b"Z" * pad
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 0, 0, 0x21, crc, len(data), len(data),
                           len(name_b), len(extra)) + name_b + extra + data
        c_extra = b""
        sizes, c_offset = (len(data), len(data)), offset
        if zip64:
            c_extra = struct.pack("<HHQQQ", 1, 24, len(data), len(data), offset)
            sizes, c_offset = (0xFFFFFFFF, 0xFFFFFFFF), 0xFFFFFFFF
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 0, 0, 0, 0x21, crc, sizes[0], sizes[1],
                               len(name_b), len(c_extra), 0, 0, 0, 0, c_offset) + name_b + c_extra
    dir_offset = len(out)
    out += central
    count = len(files)
    if zip64:
        record = len(out)
        out += struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, count, count, len(central), dir_offset)
        out += struct.pack("<IIQI", 0x07064B50, 0, record, 1)
        out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    else:
        out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count, count, len(central), dir_offset, 0)
    return bytes(out)


def torch_zip(obj, folder="archive", protocol=2, zip64=True):
    pkl, storages = dump(obj, protocol)
    files = [(folder + "/data.pkl", pkl)]
    files += [(folder + "/data/" + s.key, s.data) for s in storages]
    files += [(folder + "/version", b"3\n"), (folder + "/byteorder", b"little")]
    return zip_archive(files, zip64), pkl


def legacy(obj):
    magic = pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2)
    version = pickle.dumps(1001, protocol=2)
    sys_info = pickle.dumps({"protocol_version": 1001, "little_endian": True,
                             "type_sizes": {"short": 2, "int": 4, "long": 4}}, protocol=2)
    pkl, storages = dump(obj, legacy=True)
    keys = pickle.dumps([s.key for s in storages], protocol=2)
    data = b"".join(struct.pack("<q", s.numel) + s.data for s in storages)
    return magic + version + sys_info + pkl + keys + data, pkl


# --- the seeds ----------------------------------------------------------------------------


def state_dict(prefix=""):
    w = Storage("FloatStorage", "0", [float(i) for i in range(12)])
    sd = collections.OrderedDict()
    sd[prefix + "conv.weight"] = Tensor(w, 0, [2, 2, 3], [6, 3, 1])
    sd[prefix + "conv.bias"] = Tensor(w, 1, [2], [3])  # a strided view of the same storage
    sd[prefix + "scale"] = Parameter(Tensor(w, 11, [], []))
    sd[prefix + "steps"] = Tensor(Storage("LongStorage", "1", [-5, 7, 1 << 40]), 0, [3], [1])
    sd[prefix + "mask"] = Tensor(Storage("BoolStorage", "2", [True, False]), 0, [2], [1])
    sd[prefix + "half"] = Tensor(Storage("HalfStorage", "3", [1.0, -2.0]), 0, [2, 1], [1, 0])
    sd._metadata = collections.OrderedDict([("", {"version": 1})])
    return sd


def all_types():
    sd = {}
    for i, kind in enumerate(STORAGE_TYPES):
        values = [True, False, True] if kind == "BoolStorage" else [1, 2, 3]
        sd[kind.lower()] = Tensor(Storage(kind, str(i), values), 0, [3], [1])
    return sd


def main():
    seeds = {
        "zip-state-dict.pth": torch_zip(state_dict()),
        "zip-state-dict-p4.pth": torch_zip(state_dict(), protocol=4),
        "zip-nested-g-ema.pth": torch_zip({"epoch": 3, "lr": 0.5, "g_ema": state_dict("module."),
                                           "extra": [None, b"r\xe9w", b"", (1, 2)]}, folder="ckpt"),
        "zip-all-types-no-zip64.pth": torch_zip(all_types(), zip64=False),
        "zip-empty-dict.pth": torch_zip({}),
        "legacy-state-dict.pth": legacy(state_dict()),
        "legacy-all-types.pth": legacy(all_types()),
    }
    for sub in ("checkpoint", "pickle"):
        os.makedirs(os.path.join(HERE, "seeds", sub), exist_ok=True)
    for name, (data, pkl) in seeds.items():
        with open(os.path.join(HERE, "seeds", "checkpoint", name), "wb") as f:
            f.write(data)
        with open(os.path.join(HERE, "seeds", "pickle", name.rsplit(".", 1)[0] + ".pkl"), "wb") as f:
            f.write(pkl)
    print("wrote %d checkpoint seeds and %d pickle seeds" % (len(seeds), len(seeds)))


if __name__ == "__main__":
    main()
