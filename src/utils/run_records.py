"""Sacred's file observer with atomic record files.

Sacred rewrites ``metrics.json``, ``run.json`` and ``info.json`` in place at every log; a run killed
during a write (or a reader polling the file) would find a truncated file, and the next log would
fail to read the metrics it already had. Here every record is written to a temporary file in the
same folder and moved over the old one, so a record file is always the previous or the new one.
"""
from __future__ import annotations

import json
import os
import tempfile

from sacred.observers import FileStorageObserver
from sacred.serializer import flatten


class AtomicFileStorageObserver(FileStorageObserver):
    """``FileStorageObserver`` whose JSON records are replaced atomically."""

    def save_json(self, obj, filename: str) -> None:
        target = os.path.join(self.dir, filename)
        handle, temporary = tempfile.mkstemp(dir=self.dir, prefix=f".{filename}.", suffix=".tmp")
        try:
            with os.fdopen(handle, "w") as f:
                json.dump(flatten(obj), f, sort_keys=True, indent=2)
                f.flush()
                os.fsync(f.fileno())
            os.replace(temporary, target)
        except BaseException:
            if os.path.exists(temporary):
                os.remove(temporary)
            raise
