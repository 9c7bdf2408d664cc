"""The jobs the outbox relays: each idempotent, safe to run again after a crash or a retry."""
