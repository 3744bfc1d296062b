"""Run by `make check-install` outside the source tree: every package of the source tree
must import from the plain (non-editable) install in build/check-install."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

source = Path(sys.argv[1]).resolve()
expected = sorted(str(init.parent.relative_to(source)).replace("/", ".")
                  for root in ("chalicelib", "letterbox")
                  for init in (source / root).rglob("__init__.py"))
for name in expected:
    module = importlib.import_module(name)
    if "check-install" not in Path(str(module.__file__)).parts:
        sys.exit(f"{name} was imported from {module.__file__}, not from the install")
    print("installed:", name)
