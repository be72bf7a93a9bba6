"""lotline — batch (lot) and expiry management (批次效期管理)."""

__version__ = "0.1.0"
