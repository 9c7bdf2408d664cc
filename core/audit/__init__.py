"""The access log (审计日志): recording audited actions, checking the chain, searching and expiring it."""

from core.audit.log import Actor, record, verify_chain

__all__ = ["Actor", "record", "verify_chain"]
