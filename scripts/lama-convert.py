"""lama-convert.py - convert the official LaMa checkpoint (big-lama best.ckpt,
a PyTorch Lightning checkpoint) to the safetensors file `tilepaint --engine lama
--model FILE` reads natively.

    scripts/lama-convert.py big-lama/models/best.ckpt big-lama.safetensors

Keeps the state_dict keys that start with "generator." (names unchanged), as
little-endian float32 (int64 for the BatchNorm counters). Needs only Python 3
and NumPy (Debian python3-numpy), once, at conversion time; tilepaint itself
never needs Python. tilepaint can also read best.ckpt directly (with the lama
engine parameter ckpt_lenient=1 if the checkpoint's metadata pickles classes
such as OmegaConf hyper-parameters); this script is the alternative. Here too
every class other than the few that rebuild tensors is an inert placeholder,
never imported and never run.
"""
import collections
import json
import pickle
import struct
import sys
import zipfile

import numpy as np

STORAGE_DTYPES = {
    "FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
    "LongStorage": np.int64, "IntStorage": np.int32, "ShortStorage": np.int16,
    "CharStorage": np.int8, "ByteStorage": np.uint8, "BoolStorage": np.bool_,
}


class _Inert:
    """Stands in for any other class or function in the pickle; runs nothing."""

    def __init__(self, *args, **kwargs):
        pass

    def __setstate__(self, state):
        pass


class _StorageType:
    def __init__(self, name):
        self.name = name
        self.dtype = STORAGE_DTYPES.get(name)


class _Tensor:
    def __init__(self, array):
        self.array = array


def _rebuild_tensor_v2(storage, offset, size, stride, *rest):
    if storage is None:
        raise SystemExit("tensor with an unsupported storage type")
    item = storage.itemsize
    view = np.lib.stride_tricks.as_strided(storage[offset:], shape=tuple(size),
                                           strides=tuple(s * item for s in stride))
    return _Tensor(np.array(view, copy=True))


def load_checkpoint(path):
    z = zipfile.ZipFile(path)
    pkl = [n for n in z.namelist() if n.endswith("/data.pkl") and n.count("/") == 1]
    if not pkl:
        raise SystemExit("%s: not a PyTorch zip checkpoint (no data.pkl)" % path)
    prefix = pkl[0][: -len("data.pkl")]
    storages = {}

    class Unpickler(pickle.Unpickler):
        def find_class(self, module, name):
            if module == "torch._utils" and name == "_rebuild_tensor_v2":
                return _rebuild_tensor_v2
            if module == "collections" and name == "OrderedDict":
                return collections.OrderedDict
            if module == "torch" and name.endswith("Storage"):
                return _StorageType(name)
            return _Inert

        def persistent_load(self, pid):
            kind, stype, key, _location, _numel = pid[:5]
            if kind != "storage" or not isinstance(stype, _StorageType):
                raise SystemExit("%s: unknown persistent id %r" % (path, pid[:2]))
            if stype.dtype is None:
                return None
            if key not in storages:
                storages[key] = np.frombuffer(z.read(prefix + "data/" + key), dtype=stype.dtype)
            return storages[key]

    with z.open(pkl[0]) as f:
        return Unpickler(f).load()


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: lama-convert.py best.ckpt out.safetensors")
    src, dst = sys.argv[1], sys.argv[2]
    ck = load_checkpoint(src)
    sd = ck.get("state_dict", ck) if isinstance(ck, dict) else None
    if not isinstance(sd, dict):
        sys.exit("%s: no state_dict found" % src)
    gen = {k: v for k, v in sd.items() if isinstance(k, str) and k.startswith("generator.")}
    if not gen:
        sys.exit("%s: no generator.* tensors (is this a LaMa checkpoint?)" % src)
    nb = 0
    while ("generator.model.%d.conv1.ffc.convl2l.weight" % (5 + nb)) in gen:
        nb += 1
    print("%s: %d generator tensors, %d residual blocks, %d other keys dropped" %
          (src, len(gen), nb, len(sd) - len(gen)))
    header, blobs, off = {}, [], 0
    for k in sorted(gen):
        t = gen[k]
        if not isinstance(t, _Tensor):
            sys.exit("%s: %s is not a tensor" % (src, k))
        a = t.array
        if a.dtype == np.int64:
            dt, raw = "I64", a.astype("<i8").tobytes()
        elif a.dtype.kind == "f":
            dt, raw = "F32", a.astype("<f4").tobytes()
        else:
            sys.exit("%s: %s has unsupported dtype %s" % (src, k, a.dtype))
        header[k] = {"dtype": dt, "shape": list(a.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    header["__metadata__"] = {"format": "pt", "source": src.rsplit("/", 1)[-1]}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(dst, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    print("%s: wrote %d tensors, %.1f MB" % (dst, len(gen), (8 + len(h) + off) / 1e6))


if __name__ == "__main__":
    main()
