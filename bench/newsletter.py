"""The HTML newsletter the reading benchmarks open: the shape of issue 14's 300 KB one.

Nested layout tables (190), inline styles on almost every element, a `<style>`
block with media queries, and 500 remote images (tracking pixel, logos, product
shots, social icons), the way bulk mailers build them. Deterministic for a seed,
so both webmails open the same bytes.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime

_STYLE_BLOCK = """
body { margin: 0; padding: 0; background-color: #f2f4f6; }
table { border-collapse: collapse; mso-table-lspace: 0pt; }
img { border: 0; outline: none; text-decoration: none; display: block; }
a { color: #1a73e8; text-decoration: none; }
.wrapper { width: 100%; background-color: #f2f4f6; }
.container { width: 640px; margin: 0 auto; background: #ffffff; }
.headline { font-family: Georgia, 'Times New Roman', serif; font-size: 26px; color: #1b1b1b; }
.lead { font-family: Helvetica, Arial, sans-serif; font-size: 15px; line-height: 22px; color: #444; }
.price { font-weight: bold; color: #c0392b; }
.btn a { display: inline-block; padding: 10px 18px; border-radius: 4px; background: #1a73e8; color: #fff; }
.footer td { font-size: 11px; color: #8a8a8a; }
#preheader { display: none; max-height: 0; overflow: hidden; }
@media only screen and (max-width: 600px) {
  .container { width: 100% !important; }
  .col { display: block !important; width: 100% !important; }
  .hide-mobile { display: none !important; }
  .headline { font-size: 22px !important; }
}
"""

_WORDS = (
    "offer season collection limited new classic fresh design garden kitchen travel "
    "weekend member exclusive sale summer winter outdoor comfort style quality guide "
    "story recipe tips events local delivery free returns favourite picks this week"
).split()


def _sentence(rng: random.Random, words: int) -> str:
    text = " ".join(rng.choice(_WORDS) for _ in range(words))
    return text[0].upper() + text[1:] + "."


def _img(rng: random.Random, n: int, width: int, height: int, *, style: str = "") -> str:
    host = rng.choice(("cdn.shop.example", "img.mailer.example", "static.brand.example"))
    style = style or f"display:block;width:{width}px;max-width:100%;height:auto;border:0;"
    return (
        f'<img src="https://{host}/nl/2026/{n:04d}-{rng.randrange(10**8):08d}.jpg" '
        f'width="{width}" height="{height}" alt="{_sentence(rng, 3)}" style="{style}">'
    )


def _product(rng: random.Random, images: list[int], *, boxed: bool) -> str:
    """One product cell: image, name, price, button; `boxed` in a small table of its own."""
    images[0] += 1
    if not boxed:
        return (
            '<td class="col" width="33%" valign="top" style="padding:8px;">'
            f'<a href="https://shop.example/p/{rng.randrange(10**6)}?utm_source=nl&amp;utm_medium=email">'
            f"{_img(rng, images[0], 180, 180)}</a>"
            '<div style="padding:8px 0;font-family:Helvetica,Arial,sans-serif;font-size:14px;'
            f'line-height:18px;color:#333333;">{_sentence(rng, 4)}</div>'
            '<div class="price" style="font-family:Helvetica,Arial,sans-serif;font-size:15px;'
            f'color:#c0392b;font-weight:bold;">&euro;{rng.randrange(5, 300)},{rng.randrange(100):02d}</div>'
            "</td>"
        )
    return (
        '<td class="col" width="33%" valign="top" style="padding:8px;">'
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" '
        'style="border:1px solid #e5e5e5;border-radius:4px;">'
        f'<tr><td align="center" style="padding:10px 10px 0 10px;">'
        f'<a href="https://shop.example/p/{rng.randrange(10**6)}?utm_source=nl&amp;utm_medium=email" '
        f'target="_blank">{_img(rng, images[0], 180, 180)}</a></td></tr>'
        f'<tr><td style="padding:8px 10px;font-family:Helvetica,Arial,sans-serif;font-size:14px;'
        f'line-height:18px;color:#333333;">{_sentence(rng, 4)}</td></tr>'
        f'<tr><td class="price" style="padding:0 10px 8px 10px;font-family:Helvetica,Arial,'
        f'sans-serif;font-size:15px;color:#c0392b;font-weight:bold;">'
        f"&euro;{rng.randrange(5, 300)},{rng.randrange(100):02d}</td></tr>"
        '<tr><td class="btn" align="center" style="padding:0 10px 12px 10px;">'
        f'<a href="https://shop.example/cart/add/{rng.randrange(10**6)}" style="display:inline-block;'
        "padding:8px 14px;background-color:#1a73e8;color:#ffffff;border-radius:3px;"
        'font-family:Helvetica,Arial,sans-serif;font-size:13px;text-decoration:none;">Add to cart</a>'
        "</td></tr></table></td>"
    )


def _section(rng: random.Random, index: int, images: list[int]) -> str:
    """A story with a banner, a row of three products and social icons: 11 images."""
    images[0] += 1
    banner = _img(rng, images[0], 600, 240, style="display:block;width:100%;max-width:600px;height:auto;")
    # Four tables a section (five in every seventh): 190 in all with the frame.
    boxed = (True, index % 7 == 0, False)
    products = "".join(_product(rng, images, boxed=b) for b in boxed)
    icons = ""
    for name in ("facebook", "x", "instagram", "youtube", "pinterest", "linkedin", "tiktok"):
        images[0] += 1
        icons += (
            f'<td style="padding:0 4px;"><a href="https://social.example/{name}">'
            f"{_img(rng, images[0], 24, 24, style='display:block;width:24px;height:24px;border:0;')}"
            "</a></td>"
        )
    return (
        f'<tr><td class="section-{index}" style="padding:20px 20px 0 20px;">'
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0">'
        f'<tr><td style="padding:0 0 12px 0;">{banner}</td></tr>'
        f'<tr><td class="headline" style="font-family:Georgia,\'Times New Roman\',serif;'
        f'font-size:24px;line-height:30px;color:#1b1b1b;padding:0 0 8px 0;">{_sentence(rng, 6)}</td></tr>'
        f'<tr><td class="lead" style="font-family:Helvetica,Arial,sans-serif;font-size:15px;'
        f'line-height:22px;color:#444444;padding:0 0 12px 0;"><p style="margin:0 0 10px 0;">'
        f"{_sentence(rng, 45)} <b>{_sentence(rng, 5)}</b> {_sentence(rng, 40)}</p>"
        f'<p style="margin:0;"><span style="color:#777777;font-size:13px;">{_sentence(rng, 12)}</span> '
        f'<a href="https://brand.example/story/{index}?utm_campaign=weekly" '
        f'style="color:#1a73e8;text-decoration:underline;">Read more&nbsp;&rsaquo;</a></p></td></tr>'
        '<tr><td><table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0">'
        f"<tr>{products}</tr></table></td></tr>"
        '<tr><td align="center" class="hide-mobile" style="padding:8px 0 16px 0;">'
        '<table role="presentation" cellpadding="0" cellspacing="0" border="0" align="center">'
        f"<tr>{icons}</tr></table></td></tr>"
        "</table></td></tr>"
    )


def newsletter_html(seed: int = 14, *, sections: int = 45) -> str:
    """About 300 KB: 45 sections of 5 tables and 11 images, plus the frame around them."""
    rng = random.Random(seed)
    images = [0]
    images[0] += 1
    pixel = (
        f'<img src="https://track.mailer.example/open/{rng.randrange(10**12)}.gif" width="1" '
        'height="1" alt="" style="display:block;width:1px;height:1px;border:0;">'
    )
    head = (
        '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" '
        '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">'
        '<html xmlns="http://www.w3.org/1999/xhtml"><head>'
        '<meta http-equiv="Content-Type" content="text/html; charset=UTF-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1.0">'
        f'<title>Weekly picks #{seed}</title><style type="text/css">{_STYLE_BLOCK}</style></head>'
    )
    body = "".join(_section(rng, i, images) for i in range(sections))
    # Header (logo + menu) and footer, each two more tables; four images.
    for _ in range(4):
        images[0] += 1
    header = (
        '<tr><td style="padding:16px 20px;"><table role="presentation" width="100%" cellpadding="0" '
        'cellspacing="0" border="0"><tr>'
        f'<td width="50%"><a href="https://brand.example/">{_img(rng, 1, 160, 40)}</a></td>'
        '<td width="50%" align="right" style="font-family:Helvetica,Arial,sans-serif;font-size:12px;">'
        '<a href="https://brand.example/web-version" style="color:#888888;">View in browser</a>'
        "</td></tr></table></td></tr>"
    )
    footer = (
        '<tr><td class="footer" style="padding:20px;background-color:#fafafa;">'
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0">'
        f'<tr><td align="center">{"".join(_img(rng, n, 120, 30) for n in (2, 3, 4))}</td></tr>'
        f'<tr><td align="center" style="font-family:Helvetica,Arial,sans-serif;font-size:11px;'
        f'color:#8a8a8a;line-height:16px;">{_sentence(rng, 25)}<br>'
        '<a href="https://brand.example/unsubscribe?u=12345&amp;l=67890" style="color:#8a8a8a;">'
        "Unsubscribe</a> &middot; "
        '<a href="mailto:help@brand.example" style="color:#8a8a8a;">Contact us</a></td></tr>'
        "</table></td></tr>"
    )
    return (
        f'{head}<body style="margin:0;padding:0;background-color:#f2f4f6;" bgcolor="#f2f4f6">'
        f'<div id="preheader">{_sentence(rng, 12)}</div>{pixel}'
        '<table role="presentation" class="wrapper" width="100%" cellpadding="0" cellspacing="0" '
        'border="0" bgcolor="#f2f4f6"><tr><td align="center">'
        '<table role="presentation" class="container" width="640" cellpadding="0" cellspacing="0" '
        f'border="0" style="width:640px;background-color:#ffffff;">{header}{body}{footer}'
        "</table></td></tr></table></body></html>"
    )


def newsletter_message(to: str, *, seed: int = 14, when: datetime | None = None) -> bytes:
    html = newsletter_html(seed)
    msg = EmailMessage()
    msg["From"] = "Brand Weekly <news@brand.example>"
    msg["To"] = to
    msg["Subject"] = f"Weekly picks #{seed}: 135 new arrivals"
    msg["Date"] = format_datetime(when or datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    msg["Message-ID"] = f"<weekly-{seed}@brand.example>"
    msg.set_content("Weekly picks. View this newsletter in a browser: https://brand.example/web-version\n")
    msg.add_alternative(html, subtype="html", cte="quoted-printable")
    return bytes(msg)


def _no_part(cid: str) -> str | None:
    return None


def _stages(markup: str) -> dict[str, float]:
    """CPU ms of `sanitize_html` on `markup`, then of each of its stages in turn."""
    from selectolax.lexbor import LexborHTMLParser

    from webmail.sanitize import css, html, limits, sanitize_html

    times: dict[str, float] = {}
    clock = time.process_time
    started = clock()
    sanitize_html(markup, cid_url=_no_part, allow_remote=False)
    times["total"] = clock() - started
    started = clock()
    limits.check_parse_cost(markup)
    times["pre-check"] = clock() - started
    started = clock()
    document = LexborHTMLParser(markup)
    times["lexbor parse"] = clock() - started
    resources = html._Resources(cid_url=_no_part, allow_remote=False)
    started = clock()
    for sheet in html._stylesheets(document):
        css.sanitize_stylesheet(sheet, resolve_url=resources.css_url)
    times["style sheet"] = clock() - started
    rewriter = html._Rewriter(resources)
    started = clock()
    written = rewriter.render(document.body)
    times["rewriter (pass 1)"] = clock() - started
    started = clock()
    html._verifier(rewriter.written).clean(written)
    times["nh3 (pass 2)"] = clock() - started
    return {name: seconds * 1000 for name, seconds in times.items()}


def main(argv: list[str]) -> None:
    """``./dev bench newsletter``: CPU time of the sanitizer alone on this newsletter, by stage.

    The first message a process sanitizes finds its caches empty; a web worker lives
    on, so the medians over `--runs` newsletters of other seeds (the same templates,
    other words and URLs) are what most first opens cost.
    """
    parser = argparse.ArgumentParser(prog="bench newsletter")
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args(argv)
    first = newsletter_html(1000)
    cold = _stages(first)["total"]
    runs = [_stages(newsletter_html(seed)) for seed in range(1001, 1001 + args.runs)]
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"sanitizing the {len(first) / 1000:.0f} kB newsletter: CPU ms (load average {load})")
    print(f"{'first message of the process (caches empty)':44} {cold:6.1f}")
    for name in runs[0]:
        times = [run[name] for run in runs]
        label = f"{name}, median of {args.runs}"
        print(f"{label:44} {statistics.median(times):6.1f}  (min {min(times):.1f})")
