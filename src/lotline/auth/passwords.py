"""Password hashing with argon2id."""

from __future__ import annotations

from argon2 import Parameters, PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from lotline.domain.errors import N_, InvalidInput

_hasher = PasswordHasher()

MIN_LENGTH = 8

# A hash of a random password: verifying against it when the user does not exist keeps
# the response time the same, so timing does not reveal which user names exist.
_DUMMY_HASH = _hasher.hash("lotline-no-such-user")


def use_parameters(parameters: Parameters) -> None:
    """Hash new passwords with ``parameters`` (the test suite uses argon2's cheapest profile).

    Existing hashes keep verifying: each hash carries its own parameters.
    """
    global _hasher, _DUMMY_HASH
    _hasher = PasswordHasher.from_parameters(parameters)
    _DUMMY_HASH = _hasher.hash("lotline-no-such-user")


def hash_password(password: str) -> str:
    """An argon2id hash of ``password`` after checking the minimum length."""
    if len(password) < MIN_LENGTH:
        raise InvalidInput(
            N_("The password must have at least {min_length} characters."),
            field="password",
            code="auth.password_too_short",
            min_length=MIN_LENGTH,
        )
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; a missing user still costs one verification."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
