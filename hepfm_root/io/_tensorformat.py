"""Which tensor-file format: the output's extension decides when writing, the first bytes when reading.

``.root`` is the ROOT tensor file (:mod:`._tensorfile`), ``.npz`` the numpy one
(:mod:`._tensornpz`), with the same content; any other output extension is refused
(:class:`~hepfm_root.errors.InvalidArgumentError`, exit code 2) before anything is read.
A ``.root`` tensor file holds a TTree or an RNTuple (:func:`~hepfm_root.io.ntuple_format`:
``--format``, else RNTuple when every input is one); ``--format`` with ``.npz`` is refused.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..errors import InvalidArgumentError
from ..spec import FeatureSpec
from ..tensors import Tensors
from ._rntuple import ntuple_format as choose_format
from ._tensorfile import TensorFileWriter, read_root_tensors
from ._tensornpz import NpzTensorWriter, read_npz_tensors

__all__ = ["TENSOR_FORMATS", "open_tensor_writer", "read_tensors", "tensor_file_format"]

#: Output extension -> tensor-file format.
TENSOR_FORMATS = {".root": "root", ".npz": "npz"}


def tensor_file_format(path: str | os.PathLike, ntuple_format: str | None = None) -> str:
    """The format an output path asks for, from its extension: ``"root"`` or ``"npz"``.

    Raises :class:`~hepfm_root.errors.InvalidArgumentError` (exit code 2) for any other extension,
    and for an ``ntuple_format`` (``--format``) with ``.npz``.

    Example:
        >>> tensor_file_format("tt.npz"), tensor_file_format("out/TT.ROOT")
        ('npz', 'root')
        >>> tensor_file_format("tt.h5")
        Traceback (most recent call last):
        ...
        hepfm_root.errors.InvalidArgumentError: -o tt.h5: unknown tensor-file extension '.h5'; expected .root or .npz
        >>> tensor_file_format("tt.npz", "rntuple")
        Traceback (most recent call last):
        ...
        hepfm_root.errors.InvalidArgumentError: -o tt.npz: --format rntuple is for .root tensor files, not .npz
    """
    p = Path(path)
    ext = p.suffix.lower()
    if ext not in TENSOR_FORMATS:
        got = repr(ext) if ext else "none"
        raise InvalidArgumentError(f"-o {p}: unknown tensor-file extension {got}; expected "
                                   f"{' or '.join(TENSOR_FORMATS)}")
    if TENSOR_FORMATS[ext] == "npz" and ntuple_format is not None:
        raise InvalidArgumentError(f"-o {p}: --format {ntuple_format} is for .root tensor files, not .npz")
    return TENSOR_FORMATS[ext]


def open_tensor_writer(
    path: str | os.PathLike, spec: FeatureSpec, *, inputs: list[str] | None = None,
    overwrite: bool = False, meta: dict[str, Any] | None = None,
    ntuple_format: str | None = None, inputs_are_rntuple: Iterable[bool] = (),
) -> TensorFileWriter | NpzTensorWriter:
    """The tensor-file writer for ``path``'s extension (:func:`tensor_file_format`), not yet entered.

    A ``.root`` file is a TTree or an RNTuple by :func:`~hepfm_root.io.ntuple_format`
    (``ntuple_format`` if given, else RNTuple when every input is one); an ``.npz`` takes no
    ``ntuple_format`` (:class:`~hepfm_root.errors.InvalidArgumentError`, exit code 2).

    Example:
        >>> from hepfm_root import load_spec
        >>> type(open_tensor_writer("x.npz", load_spec("six_object"))).__name__
        'NpzTensorWriter'
    """
    if tensor_file_format(path, ntuple_format) == "npz":
        return NpzTensorWriter(path, spec, inputs=inputs, overwrite=overwrite, meta=meta)
    return TensorFileWriter(path, spec, inputs=inputs, overwrite=overwrite, meta=meta,
                            ntuple_format=choose_format(ntuple_format, inputs_are_rntuple))


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
