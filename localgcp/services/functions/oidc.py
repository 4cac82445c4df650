"""Google-signed OIDC ID tokens, locally: what Cloud Run checks on every request to an HTTP
function, and what Cloud Scheduler (``oidc_token``), Eventarc and Workflows (``auth: {type: OIDC}``)
attach to theirs.

In the cloud a caller's service account gets an ID token from Google for an audience (the
function's URL) and Cloud Run accepts the request only with a valid token for that audience whose
caller holds ``run.invoker``. Here the local issuer stands in for Google: an RSA key generated per
stack (``RS256``, the algorithm Google signs ID tokens with) mints the tokens and the functions
host verifies them with ``google.auth.jwt`` against the key's public half.

The private key is a file in the stack's state folder, mode 0600 (a ``rillflow run`` in another
process mints the scheduler's tokens from it, as the startups API key file is read); its path is
in :data:`KEY_FILE_ENV` for the clients of the stack, the key itself never is.
"""

from __future__ import annotations

import functools
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.auth import crypt, exceptions, jwt

#: the variable naming the issuer's key file (a path, not a secret: the file is 0600)
KEY_FILE_ENV = "LOCALGCP_OIDC_ISSUER_FILE"
ISSUER = "https://accounts.google.com"
TOKEN_LIFETIME_S = 3600


class Refused(Exception):
    """A request Cloud Run would refuse; ``status`` is its HTTP status (401 or 403)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


@dataclass(frozen=True)
class Issuer:
    """Mints and verifies the stack's ID tokens."""

    key_id: str
    private_pem: bytes

    @classmethod
    def create(cls, key_file: Path) -> Issuer:
        """A new key for this stack, written to ``key_file`` (0600, created so: never readable by others)."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        key_file.parent.mkdir(parents=True, exist_ok=True)
        key_file.unlink(missing_ok=True)
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(pem)
        return cls.load(key_file)

    @classmethod
    def load(cls, key_file: Path) -> Issuer:
        """The issuer of a key file; its key id is derived from the public key, so that every
        process loading the file names the key alike."""
        pem = key_file.read_bytes()
        public = serialization.load_pem_private_key(pem, password=None).public_key()
        der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        return cls(uuid.uuid5(uuid.NAMESPACE_OID, der.hex()).hex, pem)

    @classmethod
    def from_env(cls) -> Issuer | None:
        """The running stack's issuer, from :data:`KEY_FILE_ENV`; None when no stack says so."""
        path = os.environ.get(KEY_FILE_ENV)
        if not path or not Path(path).exists():
            return None
        return _load_cached(path, Path(path).stat().st_mtime_ns)  # a restarted stack's new key

    # parsed once per issuer: loading an RSA private key checks it, tens of milliseconds a time,
    # which every minute job of a replayed day would pay twice (mint, verify)
    @functools.cached_property
    def _signer(self) -> crypt.RSASigner:
        return crypt.RSASigner.from_string(self.private_pem, key_id=self.key_id)

    @functools.cached_property
    def public_pem(self) -> bytes:
        key = serialization.load_pem_private_key(self.private_pem, password=None)
        return key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def mint(self, audience: str, email: str) -> str:
        """An ID token for ``audience`` naming the caller's service account ``email``."""
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "aud": audience,
            "sub": email,
            "email": email,
            "email_verified": True,
            "iat": now,
            "exp": now + TOKEN_LIFETIME_S,
        }
        return jwt.encode(self._signer, claims).decode()

    def verify(
        self, authorization: str | None, audience: str, invokers: frozenset[str] | None
    ) -> dict[str, Any]:
        """The claims of a valid bearer token for ``audience`` from an allowed caller; else
        :class:`Refused` (401: no or bad token, wrong audience; 403: a caller without run.invoker)."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Refused(401, "no bearer ID token")
        try:
            claims: dict[str, Any] = jwt.decode(
                token, certs={self.key_id: self.public_pem}, audience=_audiences(audience)
            )
        except (exceptions.GoogleAuthError, ValueError) as exc:
            raise Refused(401, f"invalid ID token: {exc}") from None
        if claims.get("iss") != ISSUER:
            raise Refused(401, "ID token from another issuer")
        if invokers is not None and claims.get("email") not in invokers:
            raise Refused(403, f"{claims.get('email')} may not invoke this function (run.invoker)")
        return claims


@functools.lru_cache(maxsize=4)
def _load_cached(path: str, mtime_ns: int) -> Issuer:
    return Issuer.load(Path(path))


def _audiences(url: str) -> list[str]:
    """Cloud Run accepts its URL as the audience with or without the trailing slash."""
    return [url, url.rstrip("/")] if url.endswith("/") else [url, url + "/"]
