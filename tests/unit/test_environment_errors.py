"""One errno set (``errors.ENVIRONMENT_ERRNOS``) decides, for the atomic writers and the CLI alike, which OSError the
machine caused (exit 5 on an output, 3 on an unreadable input) rather than a bug in hepfm_root (exit 1)."""

from __future__ import annotations

import errno
import os
import re

import click
import pytest
from click.testing import CliRunner

import hepfm_root.cli._common as common
import hepfm_root.io._atomic as atomic
from hepfm_root.cli._common import exit_code, run_command
from hepfm_root.errors import ENVIRONMENT_ERRNOS, OutputWriteError, environment_exit_code
from hepfm_root.io import atomic_folder, atomic_output


def test_there_is_one_errno_set():
    assert not hasattr(atomic, "_NO_SPACE") and not hasattr(common, "_OUTPUT_ERRNOS")
    assert set(ENVIRONMENT_ERRNOS) == {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EACCES, errno.EPERM}


@pytest.mark.parametrize("code", sorted(ENVIRONMENT_ERRNOS), ids=lambda c: errno.errorcode[c])
def test_an_environment_errno_on_an_output_is_an_output_write_error_leaving_nothing(tmp_path, code):
    out = tmp_path / "out.root"
    with pytest.raises(OutputWriteError) as err:
        with atomic_output(out) as tmp:
            tmp.write_text("half")
            raise OSError(code, os.strerror(code), str(tmp))  # as a refused write of the temporary reports it
    assert str(err.value) == f"cannot write {out}: {ENVIRONMENT_ERRNOS[code]}; nothing was left under {out}"
    assert list(tmp_path.iterdir()) == []
    assert exit_code(err.value) == environment_exit_code(OSError(code, "x", str(out))) == 5


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT, errno.EFBIG])
def test_a_full_disk_that_names_no_path_is_an_output_write_error_too(tmp_path, code):
    with pytest.raises(OutputWriteError, match=re.escape(ENVIRONMENT_ERRNOS[code])):
        with atomic_folder(tmp_path / "export") as tmp:
            (tmp / "model.onnx").write_text("x")
            raise OSError(code, os.strerror(code))  # write()/flush() of an open file
    assert list(tmp_path.iterdir()) == []


def test_a_permission_error_on_another_path_is_not_renamed_an_output_error(tmp_path):
    other = tmp_path / "model_dir" / "model.onnx"
    with pytest.raises(PermissionError) as err:
        with atomic_output(tmp_path / "out.root"):
            raise PermissionError(errno.EACCES, "Permission denied", str(other))
    assert err.value.filename == str(other)  # the CLI names the path it was about
    assert list(tmp_path.iterdir()) == []


def test_the_cli_gives_exit_5_for_every_environment_errno_and_1_for_another(tmp_path):
    for code, want in [*((c, 5) for c in ENVIRONMENT_ERRNOS), (errno.ENOENT, 1), (errno.EIO, 1)]:
        @click.command()
        @run_command
        def boom(code: int = code) -> None:
            raise OSError(code, os.strerror(code), str(tmp_path / "out.root"))

        result = CliRunner().invoke(boom, [])
        assert result.exit_code == want, (errno.errorcode[code], result.output)
        assert result.output.count("\n") == 1
