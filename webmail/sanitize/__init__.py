"""Make mail bodies safe to display: HTML through one policy, plain text to HTML.

The policy (tags, attributes, URL schemes, CSS) lives in `webmail.sanitize.policy`.
"""

from .html import SanitizedHtml, sanitize_html
from .limits import HtmlTooComplex
from .text import render_plain_text

__all__ = ["HtmlTooComplex", "SanitizedHtml", "render_plain_text", "sanitize_html"]
