"""Deployment settings from the environment (``RESPONDER_*``) or a ``.env`` file."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RESPONDER_", env_file=".env", env_file_encoding="utf-8",
                                      extra="ignore")

    database_url: str = "sqlite:///responder.db"
    database_busy_timeout_seconds: float = Field(default=30, gt=0, le=3600)
    """SQLite: how long a statement waits for another process's write lock before the database counts as busy."""
    database_retry_max_seconds: float = Field(default=30, gt=0, le=3600)
    """Workers: the longest wait between tries while the database is unreachable or busy (backoff from 0.5 s)."""
    plan_file: Path = Path("config/plan.yaml")
    roster_file: Path = Path("contacts/roster.csv")
    display_language: str | None = None
    """Language of names in tables; the plan's first language if unset."""

    gateway: Literal["console", "twilio", "fake"] = "console"
    twilio_account_sid: str | None = None
    twilio_auth_token: SecretStr | None = None
    twilio_from_number: str | None = None
    twilio_messaging_service_sid: str | None = None
    twilio_api_base_url: str | None = None
    """Point the real SDK at another server (tests, staging)."""
    public_url: str | None = None
    """The URL Twilio reaches this service at; status callbacks and signature checks use it."""
    alibaba_access_key_id: str | None = None
    """Alibaba Cloud's AccessKey for the plan's ``provider: alibaba`` gateways (SMS and voice)."""
    alibaba_access_key_secret: SecretStr | None = None
    alibaba_sms_endpoint: str | None = None
    """dysmsapi's host (default dysmsapi.aliyuncs.com); the local stub's ``127.0.0.1:port`` in tests."""
    alibaba_vms_endpoint: str | None = None
    alibaba_protocol: Literal["https", "http"] = "https"
    alibaba_callback_token: SecretStr | None = None
    """The secret path segment of the receipt and reply push addresses given in Alibaba Cloud's console
    (``/alibaba/{token}/sms-up`` ...): its HTTP batch push is not signed, so only a caller who knows it is heard."""
    robot_webhooks: dict[str, SecretStr] = {}
    """Group chat robots' webhook addresses (with their key), by the plan's robot name: JSON, e.g.
    ``{"flood-office": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=..."}``."""
    robot_secrets: dict[str, SecretStr] = {}
    """DingTalk robots' signing secrets (加签, ``SEC...``), by robot name."""
    robot_api_base_url: str | None = None
    """Send every robot's messages to this host instead (the local stub in tests)."""

    send_rate_per_second: float | None = Field(default=None, ge=0)
    """Messages per second per sender number, the limit the provider enforces; 0 means none.
    Unset: 1/s for twilio (a long code's limit), none for console and fake."""
    send_deadline_seconds: float = Field(default=900, gt=0)
    """How long a message may keep being retried before it is marked failed."""
    retry_base_seconds: float = Field(default=2.0, gt=0)
    retry_max_seconds: float = Field(default=120.0, gt=0)
    claim_batch: int = Field(default=50, ge=1)
    claim_timeout_seconds: float = Field(default=120, gt=0)
    """A row 'sending' for longer than this belonged to a worker that died: reconcile it."""
    send_concurrency: int = Field(default=4, ge=1)
    worker_id: str | None = None
    dispatcher_poll_seconds: float = Field(default=0.5, gt=0)
    """How long ``serve``'s dispatcher waits before looking again at an empty outbox."""
    lease_ttl_seconds: float = Field(default=30, gt=0)
    """The scheduler lease: renewed every ttl/6 (at least 0.5 s); a standby takes over within ttl + ttl/6 of the
    leader's death. ``serve --lease-ttl`` overrides it."""
    scheduler_sweep_seconds: float = Field(default=10, gt=0)
    """How often the scheduler leader runs overdue escalation steps and schedules steps added by other processes."""

    drill_mode: bool = False
    """Everything this process raises is a drill (set for simulated drill databases)."""

    cap_signing_key_file: Path | None = None
    """PEM private key that signs CAP messages (XML-DSig), with its certificate below; unsigned when unset."""
    cap_signing_cert_file: Path | None = None
    cap_signing_key_password: SecretStr | None = None

    http_host: str = "127.0.0.1"
    http_port: int = 8080

    session_secret: SecretStr | None = None
    """Signs the duty board's session cookies. Unset: a secret generated once and kept in the database
    (``board_secrets``), so every worker on the database signs and accepts the same cookies."""
    session_hours: float = Field(default=12, gt=0)
    """A board sign-in lasts this long (a duty shift), then the user signs in again."""
    secure_cookies: bool | None = None
    """The session cookie's Secure flag. Unset: set when ``public_url`` is https or the request came over HTTPS
    (behind a proxy, uvicorn takes the scheme from X-Forwarded-Proto sent by FORWARDED_ALLOW_IPS)."""
    metrics_token: SecretStr | None = None
    """When set, ``/metrics`` answers only requests with ``Authorization: Bearer <token>`` (Prometheus's
    ``authorization`` setting); unset, anyone who reaches it may scrape it."""
    health_max_backlog_seconds: float = Field(default=900, gt=0)
    """``/healthz`` is unhealthy once a message due this long ago is still unsent."""


def load_settings() -> Settings:
    return Settings()
