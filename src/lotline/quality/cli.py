"""``lotline quality …`` (being built for issue 5)."""

from __future__ import annotations

import typer

app = typer.Typer(help="quality", no_args_is_help=True)
