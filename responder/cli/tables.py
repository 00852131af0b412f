"""Tables whose cells fold onto more lines instead of ending in '…'.

Rich cuts a cell it cannot wrap at a space, and Chinese has none: the raise preview showed half of the SMS the
officer was about to confirm, and ``plan show`` cut group ids at 80 columns. Import it where a command prints.
"""

from __future__ import annotations

from typing import Any

from rich import table


class Table(table.Table):
    """A ``rich.table.Table`` whose columns fold (overflow='fold') unless told otherwise."""

    def add_column(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("overflow", "fold")
        super().add_column(*args, **kwargs)
