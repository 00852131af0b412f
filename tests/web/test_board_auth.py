"""Signing in to the duty board through the real app: nothing without login, roles, CSRF, the throttle on wrong
passwords, disabled users, session expiry, cookie flags, and the Twilio hooks outside all of it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import quote

import pytest
from board_auth_support import PASSWORD, PHONE, Browser, board_app, make_users
from sqlalchemy import select
from web_hooks_support import AsgiClient, SignedClient, twilio_context

from responder.app.board_users import set_active, set_password
from responder.domain.clock import FakeClock
from responder.domain.errors import InputError
from responder.storage.models import AuditEventRow
from responder.wiring import AppContext


@pytest.fixture
def board_ctx(web_ctx: AppContext) -> AppContext:
    make_users(web_ctx)
    return web_ctx


@pytest.fixture
def both_ctx(ctx: AppContext) -> AppContext:
    """Users on the ``ctx`` database, SQLite and PostgreSQL: for the tests of what is stored."""
    board = twilio_context(ctx)
    make_users(board)
    return board


@pytest.fixture
def client(board_ctx: AppContext) -> Iterator[AsgiClient]:
    with AsgiClient(board_app(board_ctx), base_url="https://testserver") as client:
        yield client


@pytest.fixture
def browser(client: AsgiClient) -> Browser:
    return Browser(client)


def audit(ctx: AppContext, kind: str) -> list[AuditEventRow]:
    with ctx.sessions() as session:
        return list(session.scalars(select(AuditEventRow).where(AuditEventRow.kind == kind)
                                    .order_by(AuditEventRow.id)))


# -- nothing without signing in ------------------------------------------------------------------------------------


def test_no_page_without_signing_in(client: AsgiClient) -> None:
    page = client.get("/test/page?incident=3")
    assert page.status_code == 303
    assert page.headers["location"] == "/login?next=" + quote("/test/page?incident=3", safe="")
    assert client.get("/").status_code == 303 and client.get("/no/such/page").status_code == 303
    assert client.get("/login").status_code == 200
    htmx = client.get("/test/page", headers={"HX-Request": "true"})
    assert htmx.status_code == 401 and htmx.headers["HX-Redirect"].startswith("/login?next=")


def test_no_action_without_signing_in(board_ctx: AppContext, client: AsgiClient, browser: Browser) -> None:
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        response = client.request(method, "/test/act", data={"value": "raise"})
        assert response.status_code == 401, method
    token = browser.login_token()  # an anonymous session's token is no sign-in
    assert client.post("/test/act", data={"value": "raise", "csrf_token": token}).status_code == 401


def test_signing_in_reaches_the_page_with_the_right_cookie(board_ctx: AppContext, client: AsgiClient,
                                                           browser: Browser) -> None:
    signed = browser.sign_in("Olga")
    assert signed.status_code == 303 and signed.headers["location"] == "/test/page"
    cookie = signed.headers["set-cookie"].lower()
    assert cookie.startswith("responder_session=")
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" in cookie
    assert f"max-age={12 * 3600}" in cookie
    page = client.get("/test/page")
    assert page.status_code == 200 and page.text.startswith(f"user=olga role=officer phone={PHONE} ")
    again = client.get("/login?next=/test/page")
    assert again.status_code == 303 and again.headers["location"] == "/test/page"
    [event] = audit(board_ctx, "sign_in")
    assert event.actor == "olga" and event.evidence["client"] == "203.0.113.7" and event.incident_id is None


def test_the_cookie_is_secure_only_over_https_unless_told(board_ctx: AppContext) -> None:
    local = twilio_context(board_ctx, public_url=None, gateway="fake")
    for base, secure in (("http://testserver", False), ("https://testserver", True)):
        with AsgiClient(board_app(local), base_url=base) as client:
            cookie = Browser(client).sign_in("olga").headers["set-cookie"].lower()
            assert ("secure" in cookie) is secure, base
    forced = twilio_context(board_ctx, public_url=None, gateway="fake", secure_cookies=True)
    with AsgiClient(board_app(forced), base_url="http://testserver") as client:
        assert "secure" in Browser(client).sign_in("olga").headers["set-cookie"].lower()


def test_next_never_leaves_the_site(browser: Browser) -> None:
    for target in ("//evil.example/x", "https://evil.example/", "\\\\evil", "javascript:alert(1)"):
        response = browser.sign_in("olga", next_path=target)
        assert response.status_code == 303 and response.headers["location"] == "/", target


# -- roles and phone numbers ---------------------------------------------------------------------------------------


def test_a_viewer_sees_masked_numbers_and_cannot_act(board_ctx: AppContext, client: AsgiClient,
                                                     browser: Browser) -> None:
    assert browser.sign_in("victor").status_code == 303
    page = client.get("/test/page")
    assert page.status_code == 200 and "role=viewer phone=+86174*****757 " in page.text
    assert PHONE not in page.text
    refused = browser.act(token=browser.page_token())
    assert refused.status_code == 403 and "viewer" in refused.text


@pytest.mark.parametrize("username", ["olga", "ada"])
def test_an_officer_or_admin_can_act(browser: Browser, username: str) -> None:
    assert browser.sign_in(username).status_code == 303
    done = browser.act("level 2", token=browser.page_token())
    assert done.status_code == 200 and done.text == f"done by {username}: level 2"


# -- CSRF ----------------------------------------------------------------------------------------------------------


def test_a_form_without_the_csrf_token_is_refused(client: AsgiClient, browser: Browser) -> None:
    browser.sign_in("olga")
    token = browser.page_token()
    assert browser.act().status_code == 403
    assert browser.act(token="").status_code == 403
    assert browser.act(token=token[:-1] + ("A" if token[-1] != "A" else "B")).status_code == 403
    assert client.post("/test/act", json={"value": "raise"}).status_code == 403
    assert browser.act(token=token).status_code == 200
    by_header = client.post("/test/act", data={"value": "x"}, headers={"X-CSRF-Token": token})
    assert by_header.status_code == 200 and by_header.text == "done by olga: x"
    multipart = client.post("/test/act", data={"value": "水位", "csrf_token": token}, files={"f": ("a.txt", b"1")})
    assert multipart.status_code == 200 and multipart.text == "done by olga: 水位"


def test_the_token_of_another_session_is_refused(board_ctx: AppContext, browser: Browser) -> None:
    with AsgiClient(board_app(board_ctx), base_url="https://testserver") as other:
        second = Browser(other)
        second.sign_in("ada")
        foreign = second.page_token()
    browser.sign_in("olga")
    assert browser.act(token=foreign).status_code == 403


def test_the_login_form_needs_its_token_too(board_ctx: AppContext, client: AsgiClient) -> None:
    response = client.post("/login", data={"username": "olga", "password": PASSWORD, "next": "/test/page"})
    assert response.status_code == 403
    assert client.get("/test/page").status_code == 303
    assert audit(board_ctx, "sign_in") == []


def test_signing_out(board_ctx: AppContext, client: AsgiClient, browser: Browser) -> None:
    browser.sign_in("olga")
    assert client.post("/logout").status_code == 403  # no token: still signed in
    assert client.get("/test/page").status_code == 200
    out = client.post("/logout", data={"csrf_token": browser.page_token()})
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert client.get("/test/page").status_code == 303
    assert [e.actor for e in audit(board_ctx, "sign_out")] == ["olga"]


# -- wrong passwords, disabled users, expiry -----------------------------------------------------------------------


def test_wrong_passwords_are_slowed_down(both_ctx: AppContext, clock: FakeClock) -> None:
    with AsgiClient(board_app(both_ctx), base_url="https://testserver") as client:
        slowed_down(both_ctx, Browser(client), clock)


def slowed_down(board_ctx: AppContext, browser: Browser, clock: FakeClock) -> None:
    for _ in range(3):
        assert browser.sign_in("olga", "wrong password!").status_code == 401
    waits = []
    for expected in (2, 4, 8, 16):
        refused = browser.sign_in("olga", PASSWORD)  # even the right password is not looked at while waiting
        assert refused.status_code == 429 and refused.headers["Retry-After"] == str(expected)
        waits.append(int(refused.headers["Retry-After"]))
        clock.advance(timedelta(seconds=expected - 1))
        assert browser.sign_in("olga", PASSWORD).status_code == 429
        clock.advance(timedelta(seconds=1))
        assert browser.sign_in("olga", "wrong password!").status_code == 401
    assert waits == [2, 4, 8, 16]
    assert browser.sign_in("olga", PASSWORD).headers["Retry-After"] == "32"
    clock.advance(timedelta(seconds=32))
    assert browser.sign_in("olga", PASSWORD).status_code == 303
    failed = audit(board_ctx, "sign_in_failed")
    assert [e.evidence["reason"] for e in failed] == ["wrong password"] * 7  # the unchecked refusals wrote nothing


def test_a_right_password_forgets_the_failures(browser: Browser, clock: FakeClock) -> None:
    for _ in range(2):
        browser.sign_in("olga", "wrong password!")
    assert browser.sign_in("olga").status_code == 303
    for _ in range(2):
        assert browser.sign_in("olga", "wrong password!").status_code == 401  # counted from zero again


def test_one_address_guessing_many_names_is_slowed_down(board_ctx: AppContext, browser: Browser,
                                                        clock: FakeClock) -> None:
    for index in range(10):
        assert browser.sign_in(f"guess{index}", "wrong password!").status_code == 401
    refused = browser.sign_in("olga")  # a real user, from the same address
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "2"
    with AsgiClient(board_app(board_ctx), client=("198.51.100.9", 5000), base_url="https://testserver") as other:
        assert Browser(other).sign_in("olga").status_code == 303  # another address is not held up


def test_unknown_names_and_wrong_passwords_look_the_same(browser: Browser) -> None:
    unknown, wrong = browser.sign_in("nobody"), browser.sign_in("olga", "wrong password!")
    assert unknown.status_code == wrong.status_code == 401
    def page(text: str) -> str:
        return re.sub(r'name="csrf_token" value="[^"]+"', "TOKEN", text)  # each fresh session has its own

    assert page(unknown.text).replace("nobody", "olga") == page(wrong.text)


def test_a_disabled_user_is_locked_out_at_the_next_request(both_ctx: AppContext) -> None:
    with AsgiClient(board_app(both_ctx), base_url="https://testserver") as client:
        locked_out(both_ctx, client, Browser(client))


def locked_out(board_ctx: AppContext, client: AsgiClient, browser: Browser) -> None:
    browser.sign_in("olga")
    token = browser.page_token()
    set_active(board_ctx, "olga", False, by="test")
    assert client.get("/test/page").status_code == 303
    assert browser.act(token=token).status_code == 401
    assert browser.sign_in("olga").status_code == 401
    assert audit(board_ctx, "sign_in_failed")[-1].evidence["reason"] == "disabled"
    set_active(board_ctx, "olga", True, by="test")
    assert browser.sign_in("olga").status_code == 303


def test_a_new_password_ends_the_other_sessions(board_ctx: AppContext, client: AsgiClient, browser: Browser) -> None:
    browser.sign_in("olga")
    set_password(board_ctx, "olga", "another long password", by="test")
    assert client.get("/test/page").status_code == 303
    assert browser.sign_in("olga").status_code == 401
    assert browser.sign_in("olga", "another long password").status_code == 303


def test_a_session_ends_after_its_hours(client: AsgiClient, browser: Browser, clock: FakeClock) -> None:
    browser.sign_in("olga")
    clock.advance(timedelta(hours=11, minutes=59))
    assert client.get("/test/page").status_code == 200
    clock.advance(timedelta(minutes=2))
    assert client.get("/test/page").status_code == 303


def test_a_forged_cookie_is_nobody(board_ctx: AppContext, client: AsgiClient) -> None:
    import base64
    import json

    data = base64.b64encode(json.dumps({"u": "ada", "g": 0, "t": board_ctx.clock.now().timestamp()}).encode())
    client.request("GET", "/login")
    forged = client.get("/test/page", headers={"Cookie": f"responder_session={data.decode()}.x.y"})
    assert forged.status_code == 303


# -- the login page ------------------------------------------------------------------------------------------------


def test_the_login_page_speaks_chinese_and_english(client: AsgiClient) -> None:
    assert "登录" in client.get("/login").text  # the plan's default language
    assert "Sign in" in client.get("/login?lang=en").text
    english = client.get("/login", headers={"Accept-Language": "en-GB,en;q=0.9,zh;q=0.5"}).text
    assert '<html lang="en">' in english
    chinese = client.get("/login?lang=zh", headers={"Accept-Language": "en"}).text
    assert '<html lang="zh">' in chinese and "用户名" in chinese
    assert '<html lang="zh">' in client.get("/login", headers={"Accept-Language": "fr, zh-CN;q=0.8"}).text


def test_the_login_page_escapes_what_it_echoes(browser: Browser) -> None:
    response = browser.sign_in('<script>alert("x")</script>', "wrong password!")
    assert response.status_code == 401 and "<script>alert" not in response.text


# -- outside the login ---------------------------------------------------------------------------------------------


def test_the_twilio_hooks_need_their_signature_not_a_login(board_ctx: AppContext, client: AsgiClient) -> None:
    twilio = SignedClient(client)
    params = {"From": "+8617400023757", "To": "+8617400000001", "Body": "1", "MessageSid": "SM" + "1" * 32,
              "AccountSid": "AC" + "0" * 32, "NumMedia": "0"}
    signed = twilio.post("/twilio/inbound", params)
    assert signed.status_code == 200 and "set-cookie" not in signed.headers
    assert twilio.post("/twilio/inbound", params, signature="forged").status_code == 403
    assert client.post("/twilio/status", data={"MessageSid": "SMx"}).status_code == 403
    assert client.get("/health").status_code in (200, 503)
    assert client.get("/cap/feed.atom").status_code in (200, 404)


# -- several workers -----------------------------------------------------------------------------------------------


def test_workers_on_one_database_share_sessions_and_the_throttle(both_ctx: AppContext) -> None:
    """Two workers (each its own context and engine) on one database: a cookie one signed works on the other, and
    failures counted by one hold up the other."""
    other_ctx = AppContext(both_ctx.settings, clock=both_ctx.clock)
    try:
        with AsgiClient(board_app(both_ctx), base_url="https://testserver") as first, \
                AsgiClient(board_app(other_ctx), base_url="https://testserver") as second:
            assert Browser(first).sign_in("olga").status_code == 303
            cookie = first._client.cookies["responder_session"]  # type: ignore[union-attr]
            page = second.get("/test/page", headers={"Cookie": f"responder_session={cookie}"})
            assert page.status_code == 200 and page.text.startswith("user=olga ")
            for client in (first, second, first):
                assert Browser(client).sign_in("ada", "wrong password!").status_code == 401
            assert Browser(second).sign_in("ada").status_code == 429
    finally:
        other_ctx.engine.dispose()


def test_a_configured_secret_signs_instead(both_ctx: AppContext) -> None:
    configured = twilio_context(both_ctx, session_secret="s" * 40)
    with AsgiClient(board_app(configured), base_url="https://testserver") as own, \
            AsgiClient(board_app(both_ctx), base_url="https://testserver") as shared:
        assert Browser(own).sign_in("olga").status_code == 303
        cookie = own._client.cookies["responder_session"]  # type: ignore[union-attr]
        assert own.get("/test/page").status_code == 200
        assert shared.get("/test/page", headers={"Cookie": f"responder_session={cookie}"}).status_code == 303
    with pytest.raises(InputError, match="RESPONDER_SESSION_SECRET"):
        board_app(twilio_context(both_ctx, session_secret="too short"))


def test_an_older_hash_is_rehashed_at_sign_in(board_ctx: AppContext, browser: Browser) -> None:
    from argon2 import PasswordHasher

    from responder.storage.board_models import BoardUserRow

    with board_ctx.sessions() as session, session.begin():
        row = session.get(BoardUserRow, "olga")
        assert row is not None and "m=19456,t=2,p=1" in row.password_hash
        row.password_hash = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    assert browser.sign_in("olga").status_code == 303
    with board_ctx.sessions() as session:
        row = session.get(BoardUserRow, "olga")
        assert row is not None and "m=19456,t=2,p=1" in row.password_hash and row.last_sign_in_at is not None


def test_a_session_from_a_worker_slightly_ahead_is_good(board_ctx: AppContext, client: AsgiClient,
                                                        browser: Browser, clock: FakeClock) -> None:
    browser.sign_in("olga")
    clock.advance(timedelta(seconds=-30))  # this worker's clock is 30 s behind the one that signed the cookie
    assert client.get("/test/page").status_code == 200
    clock.advance(timedelta(seconds=-60))
    assert client.get("/test/page").status_code == 303


def test_websockets_are_refused(board_ctx: AppContext) -> None:
    import anyio

    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        return {"type": "websocket.connect"}

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    scope = {"type": "websocket", "path": "/test/page", "headers": [], "query_string": b""}
    anyio.run(board_app(board_ctx), scope, receive, send)  # type: ignore[arg-type]
    assert sent == [{"type": "websocket.close", "code": 1008}]


def test_a_database_that_stops_answering_gives_503_not_a_traceback(board_ctx: AppContext, client: AsgiClient,
                                                                   browser: Browser) -> None:
    from sqlalchemy import text

    browser.sign_in("olga")
    with board_ctx.engine.begin() as conn:
        conn.execute(text("ALTER TABLE board_users RENAME TO board_users_away"))
    try:
        response = client.get("/test/page")
        assert response.status_code == 503 and "database" in response.text
    finally:
        with board_ctx.engine.begin() as conn:
            conn.execute(text("ALTER TABLE board_users_away RENAME TO board_users"))
    assert client.get("/test/page").status_code == 200


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_every_unsafe_method_needs_the_token(client: AsgiClient, browser: Browser, method: str) -> None:
    browser.sign_in("olga")
    token = browser.page_token()
    assert client.request(method, "/test/act").status_code == 403
    passed = client.request(method, "/test/act", headers={"X-CSRF-Token": token})
    assert passed.status_code == 405  # through the gate, to a route that takes only POST
