"""A real OAuth 2.0 authorization server on loopback, built with authlib, for the test stack.

It stands in for Google's and Microsoft's sign-in servers: the authorization-code
grant with PKCE (RFC 7636, S256 required), refresh tokens (rotated on use, as
Microsoft does), revocation (RFC 7009) and token introspection (RFC 7662), which
Dovecot's ``oauth2`` passdb calls to check the XOAUTH2 and OAUTHBEARER sign-ins.

The authorization endpoint approves at once as the user named in ``approve_as``
(the test's choice of who "signs in at Google"), or answers ``access_denied``
when it is None. State is in memory; everything listens on 127.0.0.1 only.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from authlib.common.security import generate_token
from authlib.oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import AccessDeniedError, OAuth2Request, grants
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7662 import IntrospectionEndpoint

from webmail.devstack.ports import free_port


@dataclass
class Client:
    client_id: str
    client_secret: str
    redirect_uris: list[str] = field(default_factory=list)  # empty: any loopback URI (tests)
    scope: str = ""

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str:
        return self.redirect_uris[0] if self.redirect_uris else ""

    def get_allowed_scope(self, scope: str) -> str:
        return scope or ""

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        if self.redirect_uris:
            return redirect_uri in self.redirect_uris
        return urlsplit(redirect_uri).hostname in ("127.0.0.1", "localhost", "testserver")

    def check_client_secret(self, client_secret: str) -> bool:
        return bool(self.client_secret) and client_secret == self.client_secret

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in ("authorization_code", "refresh_token")


@dataclass
class Code:
    code: str
    client_id: str
    user: str
    redirect_uri: str
    scope: str
    code_challenge: str | None
    code_challenge_method: str | None
    issued: float

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope


@dataclass
class Token:
    client_id: str
    user: str
    access_token: str
    refresh_token: str | None
    scope: str
    issued_at: float
    expires_in: int
    revoked: bool = False
    refresh_revoked: bool = False

    def check_client(self, client: Client) -> bool:
        return client.client_id == self.client_id

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return self.expires_in

    def is_expired(self) -> bool:
        return time.time() >= self.issued_at + self.expires_in

    def is_revoked(self) -> bool:
        return self.revoked

    def get_user(self) -> str:
        return self.user

    def get_client(self) -> Client:
        raise NotImplementedError


class _Request(OAuth2Request):
    def __init__(self, method: str, uri: str, headers: Any, query: dict[str, str], form: dict[str, str]):
        super().__init__(method, uri, headers=headers)
        self._query = query
        self._form = form
        self.payload = BasicOAuth2Payload({**query, **form})

    @property
    def args(self) -> dict[str, str]:
        return self._query

    @property
    def form(self) -> dict[str, str]:
        return self._form


class _Server(AuthorizationServer):
    def __init__(self, owner: OAuthServer) -> None:
        super().__init__()
        self.owner = owner
        self.register_token_generator(
            "default",
            BearerTokenGenerator(
                lambda **_kw: generate_token(48),
                lambda **_kw: generate_token(48),
                lambda _client, _grant_type: owner.access_lifetime,
            ),
        )

    def query_client(self, client_id: str) -> Client | None:
        return self.owner.clients.get(client_id)

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        user = request.user if isinstance(request.user, str) else request.user.get_user()
        self.owner._store_token(request.client.client_id, user, token)

    def create_oauth2_request(self, request: Any) -> OAuth2Request:
        return request

    def create_json_request(self, request: Any) -> Any:
        return request

    def handle_response(self, status: int, body: Any, headers: Any) -> tuple[int, Any, Any]:
        return status, body, headers

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        pass


class _CodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

    def save_authorization_code(self, code: str, request: OAuth2Request) -> None:
        data = request.payload.data
        owner: OAuthServer = self.server.owner
        with owner.lock:
            owner.codes[code] = Code(
                code,
                request.client.client_id,
                request.user,
                data.get("redirect_uri", ""),
                request.scope or "",
                data.get("code_challenge"),
                data.get("code_challenge_method"),
                time.time(),
            )

    def query_authorization_code(self, code: str, client: Client) -> Code | None:
        owner: OAuthServer = self.server.owner
        found = owner.codes.get(code)
        if found and found.client_id == client.client_id and time.time() - found.issued < 300:
            return found
        return None

    def delete_authorization_code(self, authorization_code: Code) -> None:
        owner: OAuthServer = self.server.owner
        with owner.lock:
            owner.codes.pop(authorization_code.code, None)

    def authenticate_user(self, authorization_code: Code) -> str:
        return authorization_code.user


class _RefreshGrant(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]
    INCLUDE_NEW_REFRESH_TOKEN = True  # rotated on every use, as Microsoft does

    def authenticate_refresh_token(self, refresh_token: str) -> Token | None:
        owner: OAuthServer = self.server.owner
        token = owner.by_refresh.get(refresh_token)
        if token is None or token.refresh_revoked:
            return None
        return token

    def authenticate_user(self, refresh_token: Token) -> str:
        return refresh_token.user

    def revoke_old_credential(self, refresh_token: Token) -> None:
        self.server.owner.refreshes += 1
        refresh_token.refresh_revoked = True
        refresh_token.revoked = True


class _Revocation(RevocationEndpoint):
    def query_token(self, token_string: str, token_type_hint: str | None) -> Token | None:
        owner: OAuthServer = self.server.owner
        return owner.by_access.get(token_string) or owner.by_refresh.get(token_string)

    def revoke_token(self, token: Token, request: OAuth2Request) -> None:
        owner: OAuthServer = self.server.owner
        owner.revoke_grant(token)


class _Introspection(IntrospectionEndpoint):
    def query_token(self, token_string: str, token_type_hint: str | None) -> Token | None:
        owner: OAuthServer = self.server.owner
        owner.introspections += 1
        return owner.by_access.get(token_string)

    def introspect_token(self, token: Token) -> dict[str, Any]:
        return {
            "active": True,
            "client_id": token.client_id,
            "token_type": "Bearer",
            "username": token.user,
            "scope": token.scope,
            "exp": int(token.issued_at + token.expires_in),
            "iat": int(token.issued_at),
        }

    def check_permission(self, token: Token, client: Client, request: OAuth2Request) -> bool:
        return client.client_id in self.server.owner.resource_servers


class OAuthServer:
    """The authorization server: ``start()`` it, register clients, point Dovecot at ``introspection_url``."""

    def __init__(self, port: int | None = None, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = port or free_port()
        self.lock = threading.Lock()
        self.clients: dict[str, Client] = {}
        self.resource_servers: set[str] = set()
        self.codes: dict[str, Code] = {}
        self.by_access: dict[str, Token] = {}
        self.by_refresh: dict[str, Token] = {}
        self.access_lifetime = 3600
        self.approve_as: str | None = None
        self.introspections = 0
        self.refreshes = 0
        self.server = _Server(self)
        self.server.register_grant(_CodeGrant, [CodeChallenge(required=True)])
        self.server.register_grant(_RefreshGrant)
        self.server.register_endpoint(_Revocation)
        self.server.register_endpoint(_Introspection)
        self._httpd: ThreadingHTTPServer | None = None

    # ------------------------------------------------------------- endpoints
    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def authorization_url(self) -> str:
        return self.base_url + "/authorize"

    @property
    def token_url(self) -> str:
        return self.base_url + "/token"

    @property
    def revocation_url(self) -> str:
        return self.base_url + "/revoke"

    @property
    def introspection_url(self) -> str:
        return self.base_url + "/introspect"

    # ------------------------------------------------------------- set-up
    def add_client(self, client_id: str, secret: str, *, resource_server: bool = False) -> Client:
        client = Client(client_id, secret)
        self.clients[client_id] = client
        if resource_server:
            self.resource_servers.add(client_id)
        return client

    def _store_token(self, client_id: str, user: str, token: dict[str, Any]) -> None:
        with self.lock:
            stored = Token(
                client_id,
                user,
                token["access_token"],
                token.get("refresh_token"),
                token.get("scope", ""),
                time.time(),
                int(token.get("expires_in", self.access_lifetime)),
            )
            self.by_access[stored.access_token] = stored
            if stored.refresh_token:
                self.by_refresh[stored.refresh_token] = stored

    # ------------------------------------------------------------- test controls
    def expire_access_tokens(self, user: str | None = None) -> None:
        """Age every access token (of ``user``) past its lifetime; refresh tokens stay good."""
        with self.lock:
            for token in self.by_access.values():
                if user is None or token.user == user:
                    token.issued_at -= token.expires_in + 1

    def revoke_user(self, user: str) -> None:
        """The user withdrew the grant at the provider: every token of theirs stops working."""
        with self.lock:
            for token in [*self.by_access.values(), *self.by_refresh.values()]:
                if token.user == user:
                    token.revoked = token.refresh_revoked = True

    def revoke_grant(self, token: Token) -> None:
        # RFC 7009 section 2.1: revoking a refresh token also invalidates its access tokens.
        with self.lock:
            token.revoked = token.refresh_revoked = True

    def active_tokens(self, user: str) -> int:
        return sum(
            1 for t in self.by_access.values() if t.user == user and not t.revoked and not t.is_expired()
        )

    # ------------------------------------------------------------- HTTP
    def handle(self, method: str, path: str, headers: Any, body: bytes) -> tuple[int, dict[str, str], bytes]:
        parts = urlsplit(path)
        query = dict(parse_qsl(parts.query))
        form = dict(parse_qsl(body.decode("utf-8", "replace"))) if method == "POST" else {}
        request = _Request(method, self.base_url + path, headers, query, form)
        if parts.path == "/authorize":
            grant = self.server.get_consent_grant(request, end_user=self.approve_as)
            if self.approve_as is None:
                denied = AccessDeniedError(redirect_uri=grant.redirect_uri, state=query.get("state"))
                result = self.server.handle_error_response(request, denied)
            else:
                result = self.server.create_authorization_response(
                    request, grant_user=self.approve_as, grant=grant
                )
        elif parts.path == "/token":
            result = self.server.create_token_response(request)
        elif parts.path == "/revoke":
            result = self.server.create_endpoint_response("revocation", request)
        elif parts.path == "/introspect":
            result = self.server.create_endpoint_response("introspection", request)
        else:
            return 404, {"Content-Type": "text/plain"}, b"not found"
        status, payload, out_headers = result
        headers_out = dict(out_headers or [])
        if isinstance(payload, dict):
            data = json.dumps(payload).encode()
            headers_out.setdefault("Content-Type", "application/json")
        else:
            data = (payload or "").encode() if isinstance(payload, str) else (payload or b"")
        return status, headers_out, data

    def start(self) -> OAuthServer:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                try:
                    status, headers, data = owner.handle(method, self.path, self.headers, body)
                except Exception as exc:  # a bug here must show in the test, not hang it
                    status, headers, data = 500, {"Content-Type": "text/plain"}, repr(exc).encode()
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._serve("GET")

            def do_POST(self) -> None:
                self._serve("POST")

            def log_message(self, format: str, *args: Any) -> None:
                pass  # tokens travel in these requests: nothing is logged

        self._httpd = ThreadingHTTPServer((self.host, self.port), Handler)
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, name="oauth-server", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
