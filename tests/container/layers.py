"""What an image's layers ship that the image does not show: files a later layer replaces or
deletes still cost every pull their full size (a `COPY` of wheels removed by the next `RUN`)."""

from __future__ import annotations

import json
import posixpath
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

WHITEOUT = ".wh."
OPAQUE = ".wh..wh..opq"  # the directory's earlier contents are all hidden


@dataclass
class Layer:
    name: str
    files: dict[str, int] = field(default_factory=dict)  # path: bytes (0 for non-files)
    deleted: set[str] = field(default_factory=set)  # whiteouts: a path and all under it
    emptied: set[str] = field(default_factory=set)  # opaque directories

    def hides(self, path: str) -> bool:
        """Whether this layer, applied later, hides ``path`` of an earlier layer."""
        if path in self.files or path in self.deleted:
            return True
        parent = posixpath.dirname(path)
        while parent:
            if parent in self.deleted or parent in self.emptied:
                return True
            parent = posixpath.dirname(parent)
        return False


def read_layer(name: str, archive: tarfile.TarFile) -> Layer:
    layer = Layer(name)
    for member in archive:
        path = posixpath.normpath(member.name).lstrip("/")
        directory, base = posixpath.split(path)
        if base == OPAQUE:
            layer.emptied.add(directory)
        elif base.startswith(WHITEOUT):
            layer.deleted.add(posixpath.join(directory, base[len(WHITEOUT) :]))
        elif not member.isdir():  # a directory entry replaces only its metadata
            layer.files[path] = member.size if member.isreg() else 0
    return layer


def saved_layers(saved: Path) -> list[Layer]:
    """The layers of a `docker save` archive of one image, lowest first."""
    with tarfile.open(saved) as outer:
        manifest = outer.extractfile("manifest.json")
        assert manifest is not None
        (entry,) = json.load(manifest)
        layers = []
        for name in entry["Layers"]:
            blob = outer.extractfile(name)
            assert blob is not None, name
            with tarfile.open(fileobj=blob, mode="r:*") as archive:
                layers.append(read_layer(name, archive))
        return layers


def hidden_bytes(layers: list[Layer]) -> list[tuple[str, int, list[str]]]:
    """Per layer: its name, the bytes of its files that a later layer hides, and the largest
    of those files (up to five), for the failure message."""
    report = []
    for index, layer in enumerate(layers):
        later = layers[index + 1 :]
        hidden = {p: n for p, n in layer.files.items() if any(x.hides(p) for x in later)}
        largest = sorted(hidden, key=hidden.__getitem__, reverse=True)[:5]
        report.append((layer.name, sum(hidden.values()), largest))
    return report
