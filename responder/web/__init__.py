"""The web hooks (Twilio status callbacks, SMS replies, voice keypresses) and ``/health``, run by ``responder serve``.

Importing this package loads Starlette and the Twilio SDK: only ``responder serve`` (and its tests) should.
"""

from responder.web.app import create_app

__all__ = ["create_app"]
