"""Files a command writes for people (the printed call tree, the broadcast audio): whole or not at all."""

from __future__ import annotations

import contextlib
import os
import tempfile
import uuid
from pathlib import Path

from responder.domain.errors import InputError, Problem


def _refuse(path: Path, exc: OSError, option: str) -> InputError:
    reason = exc.strerror or type(exc).__name__
    return InputError(Problem(f"cannot write {path}: {reason}", field=option))


def prepare_folder(folder: Path, option: str = "--out") -> Path:
    """Create ``folder`` if missing and make sure a file can be written there, before any work is done."""
    if folder.exists() and not folder.is_dir():
        raise InputError(Problem(f"cannot write into {folder}: it is a file, not a folder", field=option))
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise _refuse(folder, exc, option) from None
    return folder


def write_whole(path: Path, data: bytes, option: str = "--out") -> Path:
    """Write ``data`` to a temporary file beside ``path`` and rename it: a reader never sees half a file."""
    temp = temporary_beside(path, option)
    try:
        with temp.open("xb") as f:  # created as any file is (the umask), unlike mkstemp's owner-only files
            f.write(data)
        os.replace(temp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise _refuse(path, exc, option) from None
    return path


def temporary_beside(path: Path, option: str = "--out") -> Path:
    """An unused name next to ``path`` to write to and then rename onto it (also for a tool that writes it)."""
    prepare_folder(path.parent, option)
    return path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.part")
