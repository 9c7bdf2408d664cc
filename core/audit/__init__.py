"""The access log (审计日志): recording audited actions, checking the chain, searching and expiring it."""

from core.audit.log import Actor, record, verify_chain
from core.audit.retention import expire_access_log
from core.audit.search import AuditPage, AuditQuery, search

__all__ = ["Actor", "AuditPage", "AuditQuery", "expire_access_log", "record", "search", "verify_chain"]
