"""CAP 1.2 as XML: write, read back, validate against the OASIS schema, sign, and the Atom index.

The messages themselves are plain values built by :mod:`responder.domain.cap`; this package is the
edge where they become bytes (and bytes from any sender become values again). lxml and signxml are
imported by these modules only, and these modules only by the commands and routes that need them.
"""
