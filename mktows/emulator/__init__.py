"""The emulator control API: mktows as a test double (docs/emulator.md).

Off unless `MKTOWS_EMULATOR=1` (`serve --emulator`). `install` adds the `/_mktows/` routes to
the app and wraps it in `EmulatorMiddleware`, which injects faults into SOAP calls and records
them. Never on a production instance: one call resets everything.
"""

from mktows.emulator.routes import Emulator, install

__all__ = ["Emulator", "install"]
