"""The command line: a thin typer layer over :mod:`responder.app`. Heavy imports stay inside commands."""
