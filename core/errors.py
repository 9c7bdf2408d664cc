"""Domain errors: each carries a message fit to show to the person who caused it."""


class GongzhiError(Exception):
    """Base of every error the domain raises on purpose."""

    code = "error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code


class ConfigError(GongzhiError):
    """A setting is missing or wrong; the service cannot start."""

    code = "config"


class NotFound(GongzhiError):
    """The thing asked for does not exist, or is not the asker's to see."""

    code = "not_found"


class Forbidden(GongzhiError):
    """The actor may not do this."""

    code = "forbidden"


class InvalidInput(GongzhiError):
    """The input does not make sense."""

    code = "invalid"


class ForbiddenTransition(GongzhiError):
    """A case cannot move from its status to the one asked for."""

    code = "forbidden_transition"
