"""A Web Push service on loopback: what a browser vendor's push service does with our requests.

It accepts the RFC 8030 POST, checks the VAPID JWT (RFC 8292) against the public key the
subscription was made with (the browser ties a subscription to its applicationServerKey),
and decrypts the aes128gcm payload (RFC 8291) with the subscription's private key, as the
browser would. Every request is recorded with what was found wrong with it, if anything; a
request that fails a check is refused (403/400), so the sender sees the failure too.
"""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import http_ece
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

TEST_VAPID_PRIVATE_KEY = "t7mDSLoaulSGe5i7GwGVVTnDZge2GBnw6nFEyg9kpow"  # for tests only


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Subscription:
    token: str
    endpoint: str
    private_key: ec.EllipticCurvePrivateKey
    auth: bytes
    status: int = 201  # what the service answers (410: the user revoked it)

    @property
    def p256dh(self) -> str:
        raw = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return b64url(raw)

    def as_json(self) -> dict[str, Any]:
        return {"endpoint": self.endpoint, "keys": {"p256dh": self.p256dh, "auth": b64url(self.auth)}}


@dataclass
class Received:
    token: str
    headers: dict[str, str]
    claims: dict[str, Any] = field(default_factory=dict)
    payload: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    answered: int = 0


def verify_vapid(authorization: str, expected_key: str, origin: str) -> tuple[dict[str, Any], list[str]]:
    """RFC 8292 section 3: ``vapid t=<JWT>, k=<public key>``; the JWT is ES256 over the key."""
    problems: list[str] = []
    scheme, _sep, params = authorization.partition(" ")
    if scheme.lower() != "vapid":
        return {}, [f"Authorization scheme {scheme!r}, not vapid"]
    values = dict(p.strip().split("=", 1) for p in params.split(",") if "=" in p)
    token, key = values.get("t", ""), values.get("k", "")
    if key != expected_key:
        problems.append("k is not the key the subscription was made with")
    try:
        header_b64, claims_b64, sig_b64 = token.split(".")
        header = json.loads(unb64url(header_b64))
        claims = json.loads(unb64url(claims_b64))
        sig = unb64url(sig_b64)
    except ValueError as exc:
        return {}, [*problems, f"malformed JWT: {exc}"]
    if header.get("alg") != "ES256":
        problems.append(f"alg {header.get('alg')!r}")
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(expected_key))
    if len(sig) != 64:
        problems.append("signature is not r||s of 64 bytes")
    else:
        der = encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
        try:
            public.verify(der, f"{header_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            problems.append("JWT signature does not verify against the public key")
    if claims.get("aud") != origin:
        problems.append(f"aud {claims.get('aud')!r} is not {origin!r}")
    exp = int(claims.get("exp", 0))
    if not time.time() < exp <= time.time() + 24 * 3600:
        problems.append("exp not within the next 24 hours")
    sub = str(claims.get("sub", ""))
    if not sub.startswith(("mailto:", "https://")):
        problems.append(f"sub {sub!r} is not a mailto: or https: URL")
    return claims, problems


class PushService:
    def __init__(self, vapid_public_key: str) -> None:
        self.vapid_public_key = vapid_public_key
        self.subscriptions: dict[str, Subscription] = {}
        self.received: list[Received] = []
        self._arrived = threading.Condition()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> PushService:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def subscribe(self, status: int = 201) -> Subscription:
        """What PushManager.subscribe() gives a page: an endpoint, a key pair, an auth secret."""
        token = os.urandom(12).hex()
        sub = Subscription(
            token,
            f"{self.origin}/push/{token}",
            ec.generate_private_key(ec.SECP256R1()),
            os.urandom(16),
            status,
        )
        self.subscriptions[token] = sub
        return sub

    def wait_for(self, count: int, timeout: float = 30) -> list[Received]:
        with self._arrived:
            self._arrived.wait_for(lambda: len(self.received) >= count, timeout=timeout)
            return list(self.received)

    def _accept(self, token: str, headers: dict[str, str], body: bytes) -> Received:
        got = Received(token, headers)
        sub = self.subscriptions.get(token)
        if sub is None:
            got.problems.append("unknown subscription")
            got.answered = 404
            return got
        if "ttl" not in headers:
            got.problems.append("no TTL header (RFC 8030 5.2)")
        if headers.get("content-encoding") != "aes128gcm":
            got.problems.append(f"content-encoding {headers.get('content-encoding')!r}")
        got.claims, problems = verify_vapid(
            headers.get("authorization", ""), self.vapid_public_key, self.origin
        )
        got.problems += problems
        try:
            plain = http_ece.decrypt(
                body, private_key=sub.private_key, auth_secret=sub.auth, version="aes128gcm"
            )
            got.payload = json.loads(plain)
        except Exception as exc:  # any failure to decrypt is what the test must see
            got.problems.append(f"payload does not decrypt: {type(exc).__name__}: {exc}")
        got.answered = 400 if got.problems else sub.status
        return got

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                path = urlsplit(self.path).path
                token = path.rsplit("/", 1)[-1] if path.startswith("/push/") else ""
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                got = service._accept(token, headers, body)
                self.send_response(got.answered)
                self.send_header("Content-Length", "0")
                if got.answered == 201:
                    self.send_header("Location", f"{service.origin}/message/{os.urandom(6).hex()}")
                self.end_headers()
                with service._arrived:
                    service.received.append(got)
                    service._arrived.notify_all()

            def log_message(self, format: str, *args: Any) -> None:
                return

        return Handler
