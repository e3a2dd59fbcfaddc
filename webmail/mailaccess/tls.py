"""TLS contexts: certificates are verified unless an admin explicitly opts out."""

from __future__ import annotations

import ssl

from .types import Endpoint


def tls_context(endpoint: Endpoint) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=endpoint.ca_file)
    if not endpoint.tls_verify:
        # An explicit per-server admin choice (shown as a warning in the admin).
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def external_tls_context(endpoint: Endpoint) -> ssl.SSLContext:
    """Certificates always verified, against the system CAs *plus* the admin's extra bundle.

    (``tls_context`` with a CA file trusts only that file: right for the
    admin's own servers, wrong for a user's provider with a public certificate.)
    """
    context = ssl.create_default_context()
    if endpoint.ca_file:
        context.load_verify_locations(cafile=endpoint.ca_file)
    return context
