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
