"""`serve` with the console gateway and no Twilio auth token accepts unsigned webhooks (a confirmation from
anyone): it says so loudly at start, and refuses to listen anywhere but this machine that way (exit 2, one line)."""

from __future__ import annotations

import subprocess

from process_support import LoggedProcess, wait_for
from resilience_support import RESPONDER, Folder, clean_env, one_line_failure


def test_serve_refuses_to_listen_beyond_loopback_with_unsigned_webhooks(ready: Folder) -> None:
    one_line_failure(ready.run("serve", "--port", "0", env=clean_env(RESPONDER_HTTP_HOST="0.0.0.0")), 2,
                     "RESPONDER_HTTP_HOST", "refusing to listen on 0.0.0.0", "unsigned", "127.0.0.1")


class _Serve(LoggedProcess):
    kind = "serve"

    def __init__(self, folder: Folder) -> None:
        self.name, self.base_url, self.log_path = "console", None, folder.root / "serve.log"
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen([str(RESPONDER), "serve", "--port", "0", "--no-scheduler", "--no-dispatcher"],
                                         cwd=folder.root, env=clean_env(), stdout=log, stderr=subprocess.STDOUT)


def test_serve_on_loopback_with_unsigned_webhooks_warns_at_start(ready: Folder) -> None:
    serve = _Serve(ready)
    try:
        serve.wait_listening()
        wait_for(lambda: "WARNING" in serve.log, 5, "the warning")
    finally:
        assert serve.proc is not None
        serve.proc.terminate()
        serve.proc.wait(20)
    assert "webhooks are accepted UNSIGNED" in serve.log and "Traceback" not in serve.log
