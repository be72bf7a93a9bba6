"""Settings, read from the environment (prefix ``LOTLINE_``) and an optional ``.env`` file."""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_VAR_DIR = Path("var")
DEV_SECRET_KEY = "dev-insecure-secret-change-me"
DEV_AUDIT_KEY = "dev-insecure-audit-key-change-me"

# Entity fields whose change is GMP-relevant: a change without a stated reason is refused
# (EU GMP Annex 11 §9). Later capabilities add their own fields here; sites may extend it
# with LOTLINE_AUDIT_REASON_REQUIRED.
DEFAULT_REASON_REQUIRED = [
    "site.time_zone",
    "site.active",
    "user.active",
    "role_grant.role",
    # Change control (GMP configuration): shelf-life and minimum shelf-life rules, storage
    # conditions, lot-type coding rules and custom-field schemas.
    "product.shelf_life_amount",
    "product.shelf_life_unit",
    "product.expiry_kind",
    "product.retest_days",
    "product.round_to_month_end",
    "product.supplier_date_wins",
    "product.min_receipt_days",
    "product.min_receipt_percent",
    "product.min_ship_days",
    "product.min_ship_percent",
    "product.storage_condition_id",
    "storage_condition.min_temp_c",
    "storage_condition.max_temp_c",
    "storage_condition.max_humidity_pct",
    "lot_type.code_template",
    "lot_type.external_code_pattern",
    "lot_type.custom_schema",
    # What a location provides decides what may be put away there.
    "location.storage_condition_id",
    "lot.expiry_date",
    "lot.retest_date",
]


class Settings(BaseSettings):
    """Everything lotline reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="LOTLINE_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default=f"sqlite:///{DEFAULT_VAR_DIR / 'lotline.db'}",
        description="SQLAlchemy URL: sqlite:///path or postgresql+psycopg://user@host/db",
    )
    secret_key: SecretStr = Field(
        default=SecretStr(DEV_SECRET_KEY),
        description="Signs CSRF tokens; set a long random value in production.",
    )
    audit_key: SecretStr = Field(
        default=SecretStr(DEV_AUDIT_KEY),
        description="HMAC key of the audit chain; keep it outside the database.",
    )
    default_language: str = Field(default="zh_CN", description="zh_CN or en")
    default_time_zone: str = Field(default="Asia/Shanghai")
    cookie_secure: bool = Field(default=False, description="Send cookies over HTTPS only")
    session_hours: int = Field(default=12, ge=1, le=24 * 30)
    login_max_failures: int = Field(default=5, ge=1)
    login_window_minutes: int = Field(default=15, ge=1)
    idempotency_hours: int = Field(default=24, ge=1)
    audit_reason_required: list[str] = Field(default_factory=lambda: list(DEFAULT_REASON_REQUIRED))
    expiry_buckets: list[int] = Field(
        default_factory=lambda: [7, 30, 90],
        description="Days-left buckets of the expiring-soon board, e.g. [7,30,90] (expired is always shown)",
    )
    adjustment_signature_percent: Decimal = Field(
        default=Decimal(5),
        ge=0,
        le=100,
        description="A count adjustment above this percent of the bucket's quantity must be signed (APPROVE)",
    )
    sql_echo: bool = False

    @field_validator("default_language")
    @classmethod
    def _known_language(cls, value: str) -> str:
        if value not in ("zh_CN", "en"):
            raise ValueError("default_language must be zh_CN or en")
        return value

    @field_validator("expiry_buckets")
    @classmethod
    def _ascending_buckets(cls, value: list[int]) -> list[int]:
        if (
            not value
            or len(value) > 8
            or any(b < 0 or b > 3650 for b in value)
            or value != sorted(set(value))
        ):
            raise ValueError("expiry_buckets must be 1 to 8 ascending whole numbers of days from 0 to 3650")
        return value

    @field_validator("default_time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError) as exc:  # OSError: "Asia" with tzdata
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    def development_secrets(self) -> list[str]:
        """Names of secrets still at their published development defaults."""
        found = []
        if self.secret_key.get_secret_value() == DEV_SECRET_KEY:
            found.append("LOTLINE_SECRET_KEY")
        if self.audit_key.get_secret_value() == DEV_AUDIT_KEY:
            found.append("LOTLINE_AUDIT_KEY")
        return found

    def masked(self) -> dict[str, object]:
        """The settings as shown to an operator: secrets masked, URL passwords hidden."""
        shown: dict[str, object] = {}
        for name, value in self.model_dump().items():
            if isinstance(value, SecretStr):
                shown[name] = "********"
            elif name == "database_url":
                shown[name] = mask_url_password(str(value))
            else:
                shown[name] = value
        return shown


def mask_url_password(url: str) -> str:
    """``postgresql://u:secret@h/db`` → ``postgresql://u:***@h/db``."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.password is None:
        return url
    return parsed.render_as_string(hide_password=True)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (read once; tests build their own ``Settings``)."""
    return Settings()
