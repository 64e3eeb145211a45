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
]

for _module in COMMAND_MODULES:
    importlib.import_module(_module)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; library errors become ``Error: …`` with exit code 2, no traceback."""
    try:
        app(args=argv, standalone_mode=False)
    except GraphProfileError as exc:
        err_console.print(f"Error: {exc}", markup=False, highlight=False)
        return exc.exit_code
    except SystemExit as exc:  # typer's own exits (--help, usage errors)
        return int(exc.code or 0)
    except KeyboardInterrupt:
        Console(stderr=True).print("Interrupted.")
        return 130
    except Exception as exc:  # click usage errors raised in non-standalone mode
        import click

        if isinstance(exc, click.exceptions.ClickException):
            exc.show()
            return exc.exit_code
        if isinstance(exc, click.exceptions.Abort):
            err_console.print("Aborted.")
            return 1
        raise
    return 0


def entrypoint() -> None:
    sys.exit(main())


__all__ = ["app", "main"]
