"""Which tensor-file format: the output's extension decides when writing, the first bytes when reading.

``.root`` is the ROOT tensor file (:mod:`._tensorfile`), ``.npz`` the numpy one
(:mod:`._tensornpz`), with the same content; any other output extension is refused
(:class:`~hepfm_root.errors.InvalidArgumentError`, exit code 2) before anything is read.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..errors import InvalidArgumentError
from ..spec import FeatureSpec
from ..tensors import Tensors
from ._tensorfile import TensorFileWriter, read_root_tensors
from ._tensornpz import NpzTensorWriter, read_npz_tensors

__all__ = ["TENSOR_FORMATS", "open_tensor_writer", "read_tensors", "tensor_file_format"]

#: Output extension -> tensor-file format.
TENSOR_FORMATS = {".root": "root", ".npz": "npz"}


def tensor_file_format(path: str | os.PathLike) -> str:
    """The format an output path asks for, from its extension: ``"root"`` or ``"npz"``.

    Raises :class:`~hepfm_root.errors.InvalidArgumentError` (exit code 2) for any other extension.

    Example:
        >>> tensor_file_format("tt.npz"), tensor_file_format("out/TT.ROOT")
        ('npz', 'root')
        >>> tensor_file_format("tt.h5")
        Traceback (most recent call last):
        ...
        hepfm_root.errors.InvalidArgumentError: -o tt.h5: unknown tensor-file extension '.h5'; expected .root or .npz
    """
    p = Path(path)
    ext = p.suffix.lower()
    if ext not in TENSOR_FORMATS:
        got = repr(ext) if ext else "none"
        raise InvalidArgumentError(f"-o {p}: unknown tensor-file extension {got}; expected "
                                   f"{' or '.join(TENSOR_FORMATS)}")
    return TENSOR_FORMATS[ext]


def open_tensor_writer(
    path: str | os.PathLike, spec: FeatureSpec, *, inputs: list[str] | None = None,
    overwrite: bool = False, meta: dict[str, Any] | None = None,
) -> TensorFileWriter | NpzTensorWriter:
    """The tensor-file writer for ``path``'s extension (:func:`tensor_file_format`), not yet entered.

    Example:
        >>> from hepfm_root import load_spec
        >>> type(open_tensor_writer("x.npz", load_spec("six_object"))).__name__
        'NpzTensorWriter'
    """
    if tensor_file_format(path) == "npz":
        return NpzTensorWriter(path, spec, inputs=inputs, overwrite=overwrite, meta=meta)
    return TensorFileWriter(path, spec, inputs=inputs, overwrite=overwrite, meta=meta)


def read_tensors(path: str | os.PathLike) -> tuple[Tensors, dict[str, Any]]:
    """Read a tensor file of either format (``.root`` or ``.npz``): ``(tensors, meta)``.

    Both formats give the same content.  The format is told by the file's first bytes
    (a zip archive is an ``.npz``), not by its name.
    """
    p = Path(path)
    return read_npz_tensors(p) if _is_zip(p) else read_root_tensors(p)


def _is_zip(p: Path) -> bool:
    try:
        with open(p, "rb") as f:
            return f.read(4) == b"PK\x03\x04"
    except OSError:
        return False  # the ROOT reader's check names what is wrong with the path
