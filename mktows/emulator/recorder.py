"""Recording SOAP calls to a JSON-lines file, one object a call:

    {"version": "2_9", "operation": "getLead", "status": 200,
     "request": "<SOAP-ENV:Envelope ...", "response": "<SOAP-ENV:Envelope ..."}

Bodies are UTF-8 text, every `requestSignature` replaced by REDACTED. `mktows stub` serves
such a file (emulator/stub.py).
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import IO, Any

from mktows.emulator.soapwire import operation_name, redact


class RecordError(Exception):
    """The recording cannot start; the message says why."""


class Recorder:
    def __init__(self) -> None:
        self._file: IO[str] | None = None
        self._path: Path | None = None
        self._count = 0
        self._lock = threading.Lock()

    @property
    def active(self) -> bool:
        return self._file is not None

    def start(self, path: str) -> Path:
        target = Path(path).expanduser().resolve()
        if not target.parent.is_dir():
            raise RecordError(f"no directory {target.parent}")
        with self._lock:
            if self._file is not None:
                self._file.close()
            self._file = target.open("a", encoding="utf-8")
            self._path, self._count = target, 0
        return target

    def stop(self) -> dict[str, Any]:
        with self._lock:
            if self._file is not None:
                self._file.close()
            done = {"path": str(self._path) if self._path else None, "calls": self._count}
            self._file, self._path, self._count = None, None, 0
        return done

    def describe(self) -> dict[str, Any]:
        return {"recording": self.active, "path": str(self._path) if self._path else None, "calls": self._count}

    def write(self, version: str, request: bytes, status: int, response: bytes) -> None:
        entry = {
            "version": version,
            "operation": operation_name(request),
            "status": status,
            "request": redact(request).decode("utf-8", "replace"),
            "response": response.decode("utf-8", "replace"),
        }
        line = json.dumps(entry, ensure_ascii=False) + "\n"
        with self._lock:
            if self._file is None:
                return
            self._file.write(line)
            self._file.flush()
            self._count += 1
