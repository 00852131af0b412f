"""Twilio: the gateway (``gateway.TwilioGateway``, through the official SDK) and the TwiML it reads on voice calls
(``twiml``). Importing this package loads nothing: the SDK comes in with those modules, when Twilio is chosen."""
