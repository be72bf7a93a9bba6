"""``lotline inbound …`` (being built for issue 5)."""

from __future__ import annotations

import typer

app = typer.Typer(help="inbound", no_args_is_help=True)
