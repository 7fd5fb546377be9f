"""Bounded, reproducible ``.npz`` reading and writing (explicit-law artefacts, replay buffers, data sets).

:func:`write_npz` writes plain arrays as an uncompressed zip of ``.npy`` members with a fixed
timestamp, so one law gives the same bytes on every save. :func:`read_npz` reads named members
back without ``np.load`` and without pickle, with every size checked before anything is
decompressed or allocated:

* the file on disk, the zip's entry count (from its end record, before ``zipfile`` parses the
  central directory), each member's declared uncompressed size (``ZipInfo.file_size``) and the
  members' total are held to ``max_bytes`` / :data:`MAX_MEMBERS`: a zip bomb is refused by its
  headers, and ``zipfile`` never inflates past a member's declared size;
* each ``.npy`` header's shape times item size must equal the bytes the member holds, so a huge
  declared shape never reaches an allocation and a truncated or padded member is named;
* only plain numeric, boolean and unicode dtypes are read (never object arrays).

Every failure -- a truncated or bit-flipped file (zip CRC, header or deflate errors), a bad
header, an unsupported compression -- is a ``ValueError`` naming the file (and the field where one
is being read). :func:`field_digest` is a per-field SHA-256 (the explicit-law artefact stores it).
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import struct
import zipfile
import zlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import IO

import numpy as np

__all__ = ["MAX_LAW_BYTES", "MAX_MEMBERS", "MAX_NPZ_BYTES", "field_digest", "read_npy_header", "read_npz",
           "write_npz"]

MAX_NPZ_BYTES = 256 * 2**20
"""Default bound on an archive's size on disk, on each member's and on all read members'
uncompressed size (bytes); readers take ``max_bytes`` to raise it."""
MAX_LAW_BYTES = MAX_NPZ_BYTES  # the explicit-law artefact's name for it

MAX_MEMBERS = 64
"""Most zip entries an archive may have (an explicit-law artefact has 20)."""

# Fixed zip timestamp (the zip epoch): the same law saves to the same bytes.
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
_EOCD = b"PK\x05\x06"
_EOCD_SIZE = 22
_COMPRESSIONS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
_DTYPE_KINDS = "biufU"
# What a damaged or hostile archive raises inside zipfile, zlib and numpy's header parser.
_READ_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, OSError, ValueError,
                RecursionError, NotImplementedError, RuntimeError, struct.error, OverflowError, SyntaxError)


def field_digest(array: np.ndarray) -> str:
    """SHA-256 (hex) of an array's dtype, shape and C-order bytes: equal arrays, equal digests,
    whatever their memory layout; any edit of a value, the dtype or the shape changes it."""
    a = np.ascontiguousarray(array)
    h = hashlib.sha256(f"{a.dtype.str}|{a.shape}|".encode())
    h.update(a.tobytes())
    return h.hexdigest()


def write_npz(fh: IO[bytes], arrays: Mapping[str, np.ndarray]) -> None:
    """Write ``arrays`` as ``NAME.npy`` members of an uncompressed zip (``np.load`` reads it)."""
    with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_STORED) as zf:
        for name, value in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_EPOCH)
            info.external_attr = 0o644 << 16  # a regular file's mode, not the platform default
            with zf.open(info, "w", force_zip64=True) as out:
                np.lib.format.write_array(out, np.asarray(value), allow_pickle=False)


def read_npz(path: Path, names: Iterable[str], *, max_bytes: int = MAX_NPZ_BYTES,
             what: str = "an explicit-law artefact") -> dict[str, np.ndarray]:
    """The members ``NAME.npy`` for each of ``names`` that the archive has (a missing one is left
    out for the caller to name); bounded and pickle-free (module docstring). ``what`` names the
    kind of file in messages, with its article.

    Raises:
        ValueError: the file cannot be read, is not a zip of ``.npy`` members, is over a bound, or
            a member is damaged; the message starts with the file (and names the field).
    """
    _check_file_size(path, max_bytes, what)
    try:
        fh = open(path, "rb")  # noqa: SIM115 - closed by the with below; only the open is guarded
    except OSError as exc:
        raise ValueError(f"{path}: cannot read {what}: {exc}") from exc
    with fh:
        _check_entry_count(path, fh, what)
        try:
            zf = zipfile.ZipFile(fh)
        except _READ_ERRORS as exc:
            raise ValueError(f"{path}: not {what} (not a readable zip archive): {exc}") from exc
        with zf:
            infos = _member_infos(path, zf)
            wanted = [n for n in names if n in infos]
            _check_sizes(path, {n: infos[n] for n in wanted}, max_bytes)
            return {n: _read_member(path, zf, n, infos[n]) for n in wanted}


def _check_file_size(path: Path, max_bytes: int, what: str) -> None:
    try:
        size = os.stat(path).st_size
    except OSError as exc:
        raise ValueError(f"{path}: cannot read {what}: {exc}") from exc
    if size > max_bytes:
        raise ValueError(f"{path}: file of {size} bytes exceeds the bound of {max_bytes} bytes "
                         "(the reader's max_bytes allows larger files)")


def _check_entry_count(path: Path, fh: IO[bytes], what: str) -> None:
    """Refuse a zip whose end record declares more than :data:`MAX_MEMBERS` entries, before
    ``zipfile`` builds an object per central-directory entry (memory grows with the count)."""
    try:
        head = fh.read(6)
        if head.startswith(b"\x93NUMPY"):
            raise ValueError(f"{path}: not {what} (a single .npy array, expected an .npz)")
        size = fh.seek(0, os.SEEK_END)
        # The end record is 22 bytes plus a comment of at most 64 KiB; zipfile searches it the same way.
        fh.seek(max(0, size - _EOCD_SIZE - 0xFFFF))
        tail = fh.read()
        fh.seek(0)
    except OSError as exc:
        raise ValueError(f"{path}: cannot read it: {exc}") from exc
    at = len(tail) - _EOCD_SIZE if tail[-_EOCD_SIZE:-_EOCD_SIZE + 4] == _EOCD else tail.rfind(_EOCD)
    if at < 0 or len(tail) - at < _EOCD_SIZE:
        raise ValueError(f"{path}: not {what} (no zip end record: not an .npz, or truncated)")
    entries = struct.unpack_from("<H", tail, at + 10)[0]
    if entries > MAX_MEMBERS:  # 0xFFFF (a zip64 count) is over the bound as well
        raise ValueError(f"{path}: zip declares {entries} entries; at most {MAX_MEMBERS} are read")


def _member_infos(path: Path, zf: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    """``{field: ZipInfo}`` of the ``.npy`` members; duplicates and odd members are refused."""
    infos = zf.infolist()
    if len(infos) > MAX_MEMBERS:
        raise ValueError(f"{path}: zip has {len(infos)} entries; at most {MAX_MEMBERS} are read")
    out: dict[str, zipfile.ZipInfo] = {}
    for info in infos:
        name = info.filename.removesuffix(".npy")
        if name in out:
            raise ValueError(f"{path}: field '{name}' appears twice in the archive")
        out[name] = info
    return out


def _check_sizes(path: Path, infos: Mapping[str, zipfile.ZipInfo], max_bytes: int) -> None:
    total = 0
    for name, info in infos.items():
        if info.flag_bits & 0x1:
            raise ValueError(f"{path}: field '{name}' is encrypted")
        if info.compress_type not in _COMPRESSIONS:
            raise ValueError(f"{path}: field '{name}' uses zip compression method {info.compress_type}; "
                             "only stored and deflated members are read")
        if info.file_size > max_bytes:
            raise ValueError(f"{path}: field '{name}' declares {info.file_size} uncompressed bytes, over the "
                             f"bound of {max_bytes} (a zip bomb, or pass a larger max_bytes)")
        total += info.file_size
    if total > max_bytes:
        raise ValueError(f"{path}: the fields declare {total} uncompressed bytes in all, over the bound of "
                         f"{max_bytes} (a zip bomb, or pass a larger max_bytes)")


def _read_member(path: Path, zf: zipfile.ZipFile, name: str, info: zipfile.ZipInfo) -> np.ndarray:
    try:
        # read(n) inflates at most n bytes per step, so a member whose header understates its
        # size costs no more than it declares (zf.read would inflate the whole stream at once).
        with zf.open(info) as member:
            data = member.read(info.file_size)
        return _parse_npy(data)
    except _READ_ERRORS as exc:
        raise ValueError(f"{path}: field '{name}' is damaged or not a plain .npy array: "
                         f"{type(exc).__name__}: {str(exc)[:200]}") from exc


def read_npy_header(fh: IO[bytes]) -> tuple[tuple[int, ...], bool, np.dtype]:
    """``(shape, fortran_order, dtype)`` from the magic and header at the start of a ``.npy``
    stream (format 1.0 or 2.0; another version is a ``ValueError``). Nothing else is read."""
    version = np.lib.format.read_magic(fh)
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(fh)
    if version == (2, 0):
        return np.lib.format.read_array_header_2_0(fh)
    raise ValueError(f".npy format version {version} is not read")


def _parse_npy(data: bytes) -> np.ndarray:
    """An array from ``.npy`` bytes, its declared size checked against the bytes there are."""
    fh = io.BytesIO(data)
    shape, fortran, dtype = read_npy_header(fh)
    if dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None or dtype.kind not in _DTYPE_KINDS:
        raise ValueError(f"dtype {dtype} is not a plain numeric or string dtype (object arrays are refused)")
    if any(d < 0 for d in shape):
        raise ValueError(f"negative dimension in shape {shape}")
    offset = fh.tell()
    declared = math.prod(shape) * dtype.itemsize
    if declared != len(data) - offset:
        raise ValueError(f"header declares shape {shape} of {dtype} ({declared} bytes); the member holds "
                         f"{len(data) - offset} bytes (truncated or padded)")
    flat = np.frombuffer(data, dtype=dtype, count=math.prod(shape), offset=offset)
    return flat.reshape(shape, order="F" if fortran else "C").copy()
