"""What the tests share: fixtures' helpers, fakes' clients, builders and the run's own checks."""
