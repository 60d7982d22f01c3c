"""Plain-text tables for the analyzers' own command output (rbac, psp, …)."""

from __future__ import annotations

import io


def plain_table(columns: list[str], rows: list[list[str]], indent: int = 0) -> str:
    """A borderless, colourless table (rich), wide enough not to wrap ordinary rows.

    Cells are ``Text``, so names with square brackets are printed, not read as markup.
    """
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(box=None, header_style="bold", pad_edge=False)
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*(Text(cell) for cell in row))
    buffer = io.StringIO()
    Console(file=buffer, width=200, no_color=True, highlight=False, soft_wrap=False).print(table)
    if not indent:
        return buffer.getvalue()
    pad = " " * indent
    return "".join(pad + line + "\n" for line in buffer.getvalue().rstrip("\n").splitlines())
