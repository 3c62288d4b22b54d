"""Minimal safetensors reader/writer on numpy + the standard library (no `safetensors` package).

Format: u64 little-endian header length N, N bytes of JSON header {name: {dtype, shape, data_offsets}},
optional "__metadata__", then the raw little-endian row-major data (offsets relative to the data section).
"""
import json
import os
import struct

import numpy as np

_DTYPES = {
    "F64": np.dtype("<f8"), "F32": np.dtype("<f4"), "F16": np.dtype("<f2"),
    "I64": np.dtype("<i8"), "I32": np.dtype("<i4"), "I16": np.dtype("<i2"), "I8": np.dtype("i1"),
    "U8": np.dtype("u1"), "BOOL": np.dtype("?"),
    "BF16": np.dtype("<u2"),  # decoded to float32 below
}
_NAMES = {np.dtype(v): k for k, v in _DTYPES.items() if k != "BF16"}


def read_safetensors(path):
    """Return {name: numpy array}. The file is read once into one buffer; arrays are zero-copy views of it
    (writable, so torch.from_numpy can share them), except BF16 which is widened to float32."""
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) != 8:
            raise ValueError(f"{path}: too short for a safetensors header")
        (n,) = struct.unpack("<Q", head)
        if n > 100_000_000:
            raise ValueError(f"{path}: header length {n} is not plausible")
        try:
            header = json.loads(f.read(n))
        except ValueError as e:
            raise ValueError(f"{path}: header is not valid JSON ({e})") from None
        size = os.fstat(f.fileno()).st_size - 8 - n
        data = bytearray(max(size, 0))  # read straight into it: bytearray(f.read()) would hold the file twice
        if f.readinto(data) != len(data):
            raise ValueError(f"{path}: short read")
    if not isinstance(header, dict):
        raise ValueError(f"{path}: header is not a JSON object")
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        try:
            dtype = info["dtype"]
            shape = [int(s) for s in info["shape"]]
            begin, end = (int(o) for o in info["data_offsets"])
        except (KeyError, TypeError, ValueError):
            raise ValueError(f"{path}: tensor '{name}' needs dtype, shape and two data_offsets") from None
        if dtype not in _DTYPES:
            raise ValueError(f"{path}: tensor '{name}' has unsupported dtype {dtype}")
        dt = _DTYPES[dtype]
        count = int(np.prod(shape, dtype=np.int64))
        if end - begin != count * dt.itemsize or end > len(data) or begin < 0:
            raise ValueError(f"{path}: tensor '{name}' data_offsets [{begin},{end}) do not match "
                             f"shape {shape} x {dtype} or the file size")
        arr = np.frombuffer(data, dtype=dt, count=count, offset=begin).reshape(shape)
        if dtype == "BF16":
            arr = (arr.astype(np.uint32) << 16).view(np.float32)
        out[name] = arr
    return out


def write_safetensors(path, shapes, fill, metadata=None):
    """Write tensors one at a time so that a large model never sits in memory twice.

    shapes: {name: (numpy dtype, shape)}; fill(name) -> numpy array of that dtype/shape (called in name order).
    """
    names = sorted(shapes)
    header, offset = {}, 0
    for name in names:
        dt, shape = np.dtype(shapes[name][0]), list(shapes[name][1])
        nbytes = int(np.prod(shape, dtype=np.int64)) * dt.itemsize
        header[name] = {"dtype": _NAMES[dt], "shape": shape, "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
    header["__metadata__"] = dict(metadata or {"format": "pt"})
    blob = json.dumps(header, separators=(",", ":")).encode()
    blob += b" " * (-len(blob) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(blob)))
        f.write(blob)
        for name in names:
            arr = np.ascontiguousarray(fill(name))
            want = header[name]
            if _NAMES.get(arr.dtype) != want["dtype"] or list(arr.shape) != want["shape"]:
                raise ValueError(f"{path}: tensor '{name}' filled as {arr.dtype}{list(arr.shape)}, "
                                 f"declared {want['dtype']}{want['shape']}")
            f.write(memoryview(arr.astype(arr.dtype.newbyteorder("<"), copy=False)).cast("B"))
