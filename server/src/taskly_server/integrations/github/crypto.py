"""Secrets at rest (GitHub tokens, webhook secrets): AES-GCM with a key derived from TASKLY_SECRET_KEY.

The key comes from HKDF-SHA256 over the secret key, so rotating TASKLY_SECRET_KEY makes old
ciphertexts unreadable (users sign in again; webhooks are reconnected). Every ciphertext is bound
to what it belongs to (`context`, e.g. `user-token:<user id>`) as associated data, so a value
copied to another row does not decrypt.
"""

from __future__ import annotations

import functools
import os
import uuid

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

VERSION = b"\x01"
NONCE_SIZE = 12


class UndecryptableSecret(Exception):
    """The ciphertext was made with another key, for another row, or was altered."""


class SecretBox:
    """Encrypts and decrypts small secrets with one AES-256-GCM key."""

    def __init__(self, secret_key: str) -> None:
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"taskly-secrets-v1",
                   info=b"taskly:aes-gcm:secrets-at-rest").derive(secret_key.encode())
        self._aead = AESGCM(key)

    def __repr__(self) -> str:
        return "SecretBox(<key>)"

    def encrypt(self, plaintext: str, context: str) -> bytes:
        nonce = os.urandom(NONCE_SIZE)
        return VERSION + nonce + self._aead.encrypt(nonce, plaintext.encode(), context.encode())

    def decrypt(self, ciphertext: bytes, context: str) -> str:
        if len(ciphertext) <= 1 + NONCE_SIZE or ciphertext[:1] != VERSION:
            raise UndecryptableSecret("unknown secret format")
        nonce, body = ciphertext[1:1 + NONCE_SIZE], ciphertext[1 + NONCE_SIZE:]
        try:
            return self._aead.decrypt(nonce, body, context.encode()).decode()
        except InvalidTag:
            raise UndecryptableSecret("the secret cannot be decrypted with this key") from None


def user_token_context(user_id: uuid.UUID) -> str:
    """Associated data of `User.github_token_encrypted`."""
    return f"user-token:{user_id}"


def webhook_secret_context(repository_id: uuid.UUID) -> str:
    """Associated data of `Repository.webhook_secret_encrypted`."""
    return f"webhook-secret:{repository_id}"


@functools.lru_cache(maxsize=4)
def secret_box(secret_key: str) -> SecretBox:
    """The box of a secret key, derived once per process."""
    return SecretBox(secret_key)


def decrypt_user_token(secret_key: str, user_id: uuid.UUID, ciphertext: bytes | None) -> str | None:
    """A user's GitHub token in clear; None when there is none or it cannot be read any more."""
    if ciphertext is None:
        return None
    try:
        return secret_box(secret_key).decrypt(ciphertext, user_token_context(user_id))
    except UndecryptableSecret:
        return None


def decrypt_webhook_secret(secret_key: str, repository_id: uuid.UUID,
                           ciphertext: bytes | None) -> str | None:
    """A repository's webhook secret in clear (for verifying `X-Hub-Signature-256`); None if unset."""
    if ciphertext is None:
        return None
    try:
        return secret_box(secret_key).decrypt(ciphertext, webhook_secret_context(repository_id))
    except UndecryptableSecret:
        return None
