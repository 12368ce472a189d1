"""Domain errors raised by core services; each door maps them to its own answer."""

from typing import Any


class DomainError(Exception):
    """Base: a request that the rules refuse. `code` is a stable machine name."""

    code = "error"

    def __init__(self, message: str = "", **details: Any):
        super().__init__(message or self.code)
        self.message = message or self.code
        self.details = details


class NotFound(DomainError):
    code = "not_found"


class UserNotFound(NotFound):
    code = "user_not_found"


class AlreadyExists(DomainError):
    code = "already_exists"


class WrongCredentials(DomainError):
    code = "wrong_credentials"


class NotPermitted(DomainError):
    code = "not_permitted"


class Invalid(DomainError):
    code = "invalid"


class RateLimited(DomainError):
    code = "rate_limited"


class AccountInactive(NotPermitted):
    """The account is deactivated (or gone): no credential is issued to it."""

    code = "account_inactive"
