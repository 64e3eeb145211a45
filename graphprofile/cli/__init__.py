"""The ``graphprofile`` command line: thin typer commands over library functions.

Each command module registers its commands on :data:`app` when imported; the list of
modules lives in :data:`COMMAND_MODULES`. Only :func:`main` catches library errors.
"""

from __future__ import annotations

import importlib
import sys

from rich.console import Console

from graphprofile.cli.common import app, err_console
from graphprofile.errors import GraphProfileError

COMMAND_MODULES = [
    "graphprofile.cli.core",
    "graphprofile.cli.investigate",
    "graphprofile.cli.generate",
    "graphprofile.cli.store",
    "graphprofile.cli.analysis",
    "graphprofile.cli.publish",
]

for _module in COMMAND_MODULES:
    importlib.import_module(_module)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; library errors become ``Error: …`` with exit code 2, no traceback."""
    try:
        app(args=argv, prog_name="graphprofile")
    except GraphProfileError as exc:
        err_console.print(f"Error: {exc}", markup=False, highlight=False, soft_wrap=True)
        return exc.exit_code
    except SystemExit as exc:  # click/typer exit: --help (0), usage errors (2), commands
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except KeyboardInterrupt:
        Console(stderr=True).print("Interrupted.")
        return 130
    return 0


def entrypoint() -> None:
    sys.exit(main())


__all__ = ["app", "main"]
