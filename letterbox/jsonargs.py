"""An ``argparse`` parser whose usage errors are one JSON line on stderr (exit 2), like every
other error of the ``letterbox`` command, so scripts never have to parse prose."""

from __future__ import annotations

import argparse
import json
import sys
from typing import NoReturn


class JsonArgumentParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        print(json.dumps({"error": {"code": "usage_error", "message": message,
                                    "usage": self.format_usage().strip()}}), file=sys.stderr)
        raise SystemExit(2)


class JsonVersion(argparse.Action):
    """``--version``: ``{"version": "…"}`` on stdout, exit 0."""

    def __init__(self, option_strings: list[str], dest: str = argparse.SUPPRESS,
                 default: str = argparse.SUPPRESS, help: str | None = None) -> None:
        super().__init__(option_strings=option_strings, dest=dest, default=default, nargs=0,
                         help=help)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: object, option_string: str | None = None) -> None:
        from importlib.metadata import PackageNotFoundError, version
        try:
            found = version("letterbox")
        except PackageNotFoundError:
            found = "unknown"
        print(json.dumps({"version": found}))
        parser.exit(0)
