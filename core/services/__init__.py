"""Business operations: plain arguments in, domain objects out; no HTTP, no WeChat."""
