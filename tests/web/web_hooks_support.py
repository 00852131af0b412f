"""Helpers for the web hook tests: a Twilio-configured context on the test database, and a client that signs
its requests the way Twilio does (the SDK's own RequestValidator computes the signatures)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from types import TracebackType
from typing import Any

import httpx
from anyio.from_thread import start_blocking_portal
from sqlalchemy import func, select
from starlette.types import ASGIApp
from twilio.request_validator import RequestValidator

from responder.gateways.fake import FakeGateway
from responder.settings import Settings
from responder.storage.schema import Base
from responder.wiring import AppContext
from responder.worker.dispatcher import Dispatcher

"""responder/app/escalation.py and confirm.py still call ``Result.tuples()``, deprecated in SQLAlchemy 2.1 (the
version installed): with warnings as errors every alert would fail. Remove once those calls are gone."""

PUBLIC_URL = "https://responder.example.org"
TOKEN = "test-token"


def twilio_context(base: AppContext, **overrides: Any) -> AppContext:
    """``base`` (migrated, roster imported) as a Twilio deployment behind ``PUBLIC_URL``, same engine and clock.

    (``make_context`` in tests/conftest.py fixes ``gateway="fake"``, so the gateway cannot be passed there.)
    """
    values: dict[str, Any] = {**base.settings.model_dump(), "gateway": "twilio", "public_url": PUBLIC_URL,
                              "twilio_auth_token": TOKEN, "twilio_account_sid": "AC" + "0" * 32,
                              "twilio_from_number": "+8617400000001", "send_rate_per_second": 0}
    values.update(overrides)
    settings = Settings(_env_file=None, **values)
    return AppContext(settings, clock=base.clock, engine_override=base.engine)


class AsgiClient:
    """A synchronous client for the real ASGI app: httpx's ASGITransport driven from an anyio portal thread.

    (starlette.testclient warns about plain httpx in this Starlette version, and warnings are errors here.)
    """

    def __init__(self, app: ASGIApp, client: tuple[str, int] = ("203.0.113.7", 4711),
                 base_url: str = "http://testserver") -> None:
        self.app = app
        self.client_address = client
        self.base_url = base_url
        self._stack = ExitStack()
        self._client: httpx.AsyncClient | None = None

    def __enter__(self) -> AsgiClient:
        self._portal = self._stack.enter_context(start_blocking_portal())
        transport = httpx.ASGITransport(app=self.app, client=self.client_address)
        self._client = httpx.AsyncClient(transport=transport, base_url=self.base_url)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            if self._client is not None:
                self._portal.call(self._client.aclose)
        finally:
            self._stack.close()

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        assert self._client is not None, "use AsgiClient as a context manager"
        client = self._client

        async def send() -> httpx.Response:
            return await client.request(method, path, **kwargs)

        return self._portal.call(send)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)


class SignedClient:
    """Posts to the app as Twilio would: form-encoded, signed over the public URL and the parameters."""

    def __init__(self, client: AsgiClient, token: str = TOKEN, public_url: str = PUBLIC_URL) -> None:
        self.client = client
        self.validator = RequestValidator(token)
        self.public_url = public_url

    def signature(self, path: str, params: Mapping[str, str] | None = None, base: str | None = None) -> str:
        return str(self.validator.compute_signature((base or self.public_url) + path, dict(params or {})))

    def post(self, path: str, params: Mapping[str, str], *, sign_base: str | None = None,
             signature: str | None = None, headers: Mapping[str, str] | None = None) -> httpx.Response:
        sig = signature if signature is not None else self.signature(path, params, sign_base)
        return self.client.post(path, data=dict(params), headers={"X-Twilio-Signature": sig, **(headers or {})})

    def post_raw(self, path: str, content: bytes, content_type: str | None,
                 signed_params: Mapping[str, str] | None = None) -> httpx.Response:
        """A body of our choosing, signed as if it carried ``signed_params`` (none by default)."""
        headers = {"X-Twilio-Signature": self.signature(path, signed_params)}
        if content_type is not None:
            headers["Content-Type"] = content_type
        return self.client.post(path, content=content, headers=headers)


def dispatch(ctx: AppContext, gateway: FakeGateway) -> None:
    """Send everything due now through the fake gateway (calls with their text, language and keypress URL)."""
    Dispatcher(ctx, gateway, concurrency=1).drain()


def table_counts(ctx: AppContext) -> dict[str, int]:
    with ctx.sessions() as session:
        return {name: session.scalar(select(func.count()).select_from(table)) or 0
                for name, table in Base.metadata.tables.items()}


def snapshot(ctx: AppContext, *tables: str) -> dict[str, Sequence[Any]]:
    """Every row of ``tables``, to show that a refused request changed nothing."""
    with ctx.sessions() as session:
        return {name: [tuple(row) for row in session.execute(select(Base.metadata.tables[name])).all()]
                for name in tables}
