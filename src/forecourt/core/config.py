"""One settings object for the whole process, read from the environment (prefix ``FORECOURT_``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FORECOURT_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default="sqlite:///./var/forecourt.db",
        description="SQLAlchemy URL; SQLite by default, PostgreSQL in production.",
    )
    secret_key: str = Field(
        default="change-me-in-production-forecourt-dev-key",
        description="Signs session cookies. Set a long random value in production.",
    )
    host: str = "127.0.0.1"
    port: int = 8000
    forwarded_allow_ips: str = Field(
        default="127.0.0.1",
        description="Reverse proxies whose X-Forwarded-For is trusted, so login limits count real clients.",
    )
    cookie_secure: bool | None = Field(
        default=None,
        description="Send cookies only over HTTPS. Unset: yes, unless the site is served on localhost over HTTP.",
    )
    session_hours: int = 12
    api_token_days: int = 30
    login_max_failures: int = Field(default=5, ge=1,
                                    description="Failed logins from one client address before it must wait.")
    login_window_seconds: int = Field(default=900, ge=1, description="How long failed logins are remembered; "
                                                                     "also the longest wait.")
    login_backoff_seconds: int = Field(default=30, ge=1, description="The first wait; it doubles with every "
                                                                     "further failure, up to the window.")
    device_max_failures: int = Field(default=30, ge=1, description="Refused device reports (unknown device or "
                                                                   "wrong token) from one client address per window.")
    device_window_seconds: int = Field(default=900, ge=1)
    position_retention_days: int = Field(default=90, ge=1, description="Raw positions older than this are deleted.")
    order_deposit_percent: float = Field(default=10, ge=0, le=100,
                                         description="Deposit on an online order, in percent of its price.")
    order_deposit_minimum: int = Field(default=500, ge=0, description="The smallest deposit, in euros.")
    smtp_host: str = Field(default="127.0.0.1", description="Mail server the outbox sender hands e-mails to.")
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_security: Literal["none", "starttls", "tls"] = Field(
        default="none", description="starttls: upgrade a plain connection (port 587); tls: implicit TLS (port 465).")
    smtp_user: str | None = Field(default=None, description="Log in to the mail server as this user.")
    smtp_password: SecretStr | None = None
    smtp_ca_file: str | None = Field(default=None, description="PEM file of certificates to trust for the mail "
                                                                "server besides the system's (a private CA).")
    smtp_timeout_seconds: float = Field(default=15, gt=0)
    mailsink_dir: str = Field(default="./var/mail", description="Where `forecourt mailsink` keeps the e-mails it "
                                                                 "catches (a maildir), for the admin to read.")
    dispatch_webhook_attempts: int = Field(default=5, ge=1, description="Failed webhook deliveries of a dispatch "
                                                                        "notice before it goes by e-mail instead.")
    webhook_timeout_seconds: float = Field(default=5, gt=0)
    mail_from: str = Field(default="Forecourt <no-reply@forecourt.example>",
                           description="Sender of e-mails to owners (recall notices, service proposals).")
    portal_url: str = Field(default="http://127.0.0.1:8000", description="Links in e-mails point here.")
    market: str | None = Field(default=None, description="The market visitors are served in (two letters, DE or "
                               "KR): their prices' currency and, without FORECOURT_TIME_ZONE, their clock.")
    time_zone: str | None = Field(default=None, description="The IANA zone visitors and jobs see times in "
                                  "(Asia/Seoul); unset, the market's. An unknown name falls back with a warning.")
    payment_provider: Literal["manual", "stripe"] = Field(
        default="manual", description="How customers pay: at the dealer's till (manual) or by card online (stripe).")
    stripe_secret_key: SecretStr | None = Field(default=None, description="The card provider's secret API key.")
    stripe_publishable_key: str = Field(default="", description="The card provider's key for the browser.")
    stripe_webhook_secret: SecretStr | None = Field(
        default=None, description="Signs the card provider's notifications; unsigned ones are ignored.")
    stripe_api_base: str | None = Field(default=None, description="Another API address (a local test server).")
    demo_password: str = "forecourt-demo"
    db_echo: bool = False

    @model_validator(mode="after")
    def _login_needs_tls(self) -> Settings:
        # A password sent over a plain connection is a password given away.
        if self.smtp_user and self.smtp_security == "none":
            raise ValueError("FORECOURT_SMTP_USER needs FORECOURT_SMTP_SECURITY=starttls or tls: the password "
                             "would cross the network in clear text.")
        return self


def get_settings(**overrides) -> Settings:
    """A fresh settings object; callers pass overrides rather than patching the environment."""
    return Settings(**overrides)


@lru_cache(maxsize=1)
def default_settings() -> Settings:
    return Settings()


def ensure_sqlite_dir(url: str) -> None:
    """SQLite cannot create the folder that holds its file, so make ``./var`` on first use."""
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        Path(url.removeprefix("sqlite:///")).expanduser().parent.mkdir(parents=True, exist_ok=True)
