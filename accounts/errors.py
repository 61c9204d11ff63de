from core.errors import DomainError


class InvalidCredentials(DomainError):
    code = "INVALID_CREDENTIALS"
    status = 401
    message = "Email or password is wrong."


class EmailTaken(DomainError):
    code = "EMAIL_TAKEN"
    status = 409
    message = "An account with this email already exists."


class WeakPassword(DomainError):
    code = "WEAK_PASSWORD"
    status = 422


class InvalidEmail(DomainError):
    code = "INVALID_EMAIL"
    status = 422
    message = "Enter a valid email address."
