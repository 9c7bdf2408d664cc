"""The domain of 共治: settings, database, models, the case loop, services and the outbox."""
