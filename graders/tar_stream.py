"""Files as a tar stream in memory: what the Engine API takes to put files into a container (put_archive) or a
build context (images.build with custom_context). Made from bytes, so nothing of the learner's folder is read
twice or followed through a link."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Mapping


def tar_bytes(files: Mapping[str, tuple[bytes, int]]) -> bytes:
    """A tar of the given files: name -> (content, mode)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, (data, mode) in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), mode
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()
