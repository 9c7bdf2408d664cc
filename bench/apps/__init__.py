"""The baselines' apps, served by gunicorn with the same settings as the service."""
