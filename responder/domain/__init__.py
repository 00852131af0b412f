"""The pure core: plain Python on plain data, no I/O, time from a given clock."""
