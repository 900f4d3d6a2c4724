"""Layer analysis as dive does it: bytes that an image carries for nothing, because a later layer
overwrote or deleted a file that an earlier layer added (deleting in a later RUN frees no space)."""

from __future__ import annotations

import json
import posixpath
import tarfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from graders import engine


class _Stream:
    """A file-like view of the engine's `docker save` chunks, for tarfile's streaming mode."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self.chunks = chunks
        self.buffer = bytearray()

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self.buffer) < size:
            try:
                self.buffer.extend(next(self.chunks))
            except StopIteration:
                break
        if size < 0:
            size = len(self.buffer)
        out = bytes(self.buffer[:size])
        del self.buffer[:size]
        return out


@dataclass
class LayerFiles:
    files: dict[str, int] = field(default_factory=dict)  # path -> size, regular files only
    whiteouts: list[str] = field(default_factory=list)  # paths deleted by this layer
    opaque: list[str] = field(default_factory=list)  # folders whose earlier content this layer hides


@dataclass(frozen=True)
class Waste:
    wasted_bytes: int
    worst: list[tuple[str, int]]  # the largest wasted paths, biggest first


def _read_layer(fileobj: object) -> LayerFiles:
    layer = LayerFiles()
    with tarfile.open(fileobj=fileobj, mode="r|") as inner:  # type: ignore[call-overload]
        for member in inner:
            path = "/" + member.name.lstrip("./")
            base = posixpath.basename(path)
            if base == ".wh..wh..opq":
                layer.opaque.append(posixpath.dirname(path))
            elif base.startswith(".wh."):
                layer.whiteouts.append(posixpath.join(posixpath.dirname(path), base[4:]))
            elif member.isfile():
                layer.files[path] = member.size
    return layer


def wasted_space(layers: Iterable[LayerFiles]) -> Waste:
    current: dict[str, int] = {}
    wasted: dict[str, int] = {}

    def drop(prefix: str, exact: bool) -> None:
        for path in [p for p in current if p == prefix or (not exact and p.startswith(prefix.rstrip("/") + "/"))]:
            wasted[path] = wasted.get(path, 0) + current.pop(path)

    for layer in layers:
        for folder in layer.opaque:
            drop(folder, exact=False)
        for path in layer.whiteouts:
            drop(path, exact=False)
            drop(path, exact=True)
        for path, size in layer.files.items():
            if path in current:
                wasted[path] = wasted.get(path, 0) + current[path]
            current[path] = size
    worst = sorted(wasted.items(), key=lambda item: item[1], reverse=True)[:5]
    return Waste(sum(wasted.values()), worst)


def image_layers(image_id: str) -> list[LayerFiles]:
    """The image's layers in order, read from `docker save` (legacy and OCI layouts)."""
    image = engine.client().images.get(image_id)
    by_name: dict[str, LayerFiles] = {}
    manifest: list[dict[str, list[str]]] = []
    with tarfile.open(fileobj=_Stream(iter(image.save(named=False))), mode="r|") as outer:  # type: ignore[call-overload]
        for member in outer:
            if not member.isfile():
                continue
            handle = outer.extractfile(member)
            if handle is None:
                continue
            if member.name == "manifest.json":
                manifest = json.loads(handle.read())
            elif member.name.endswith("layer.tar") or member.name.startswith("blobs/"):
                try:
                    by_name[member.name] = _read_layer(handle)
                except tarfile.ReadError:
                    continue  # an OCI config or index blob, not a layer
    order = list(manifest[0].get("Layers") or []) if manifest else []
    return [by_name[name] for name in order if name in by_name]
