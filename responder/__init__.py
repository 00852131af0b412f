"""responder: a flood and drought emergency response coordinator.

The package is laid out as a pure core (``domain``) with use cases (``app``) around it and
adapters at the edge (``storage``, ``gateways``, ``feeds``, ``worker``, ``web``, ``reports``,
``configfiles``, ``cli``). Imports point inward only.
"""

__version__ = "0.1.0"
