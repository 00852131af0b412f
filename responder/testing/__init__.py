"""Test doubles shipped with the package, so that tests, benchmarks and live drills share one implementation."""

from responder.testing.twilio_server import Respond, StubCall, StubMessage, StubRequest, TwilioStubServer

__all__ = ["Respond", "StubCall", "StubMessage", "StubRequest", "TwilioStubServer"]
