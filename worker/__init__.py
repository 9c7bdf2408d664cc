"""Background work: the outbox relay, the rq jobs, and the worker process (`python -m worker`)."""
