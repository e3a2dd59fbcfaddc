"""Streaming quoted-printable: byte-exact against binascii/quopri, and a bounded carry on one long line."""

from __future__ import annotations

import binascii
import os
import quopri
import random
import tracemalloc

from webmail.mailaccess.message import CHUNK
from webmail.messages.transfer import QpStreamDecoder, decode_stream


def stream(data: bytes, sizes: list[int]) -> bytes:
    chunks, i, n = [], 0, 0
    while i < len(data):
        size = sizes[n % len(sizes)]
        chunks.append(data[i : i + size])
        i, n = i + size, n + 1
    return b"".join(decode_stream(iter(chunks), "quoted-printable"))


def test_random_splits_match_a2b_qp_exactly() -> None:
    # Escapes, "==", soft breaks with LF and CRLF, "=\r" without LF, stray "=" and non-hex.
    alphabet = [b"=", b"=", b"=", b"\r", b"\n", b"A", b"f", b"3", b"G", b" ", b"x"]
    rnd = random.Random(7)
    for _ in range(5000):
        data = b"".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 40)))
        sizes = [rnd.randint(1, 5) for _ in range(4)]
        assert stream(data, sizes) == binascii.a2b_qp(data), data


def test_multi_megabyte_single_line_stays_small_and_exact() -> None:
    payload = os.urandom(3 * 1024 * 1024)
    # Binary QP (LF as =0A) without its soft line breaks: one 8 MB line.
    encoded = binascii.b2a_qp(payload, quotetabs=True, istext=False).replace(b"=\n", b"")
    assert b"\n" not in encoded
    decoder = QpStreamDecoder()
    out = []
    tracemalloc.start()
    try:
        for i in range(0, len(encoded), CHUNK):
            out.append(decoder.feed(encoded[i : i + CHUNK]))
            assert len(decoder.pending) <= 2  # only a possibly incomplete "=X"
        out.append(decoder.finish())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    result = b"".join(out)
    assert result == payload == quopri.decodestring(encoded)
    # The decoded output is kept by the test (3 MB); the decoder adds a few chunks at most.
    assert peak < len(payload) + 6 * CHUNK, peak


def test_odd_split_points_inside_escapes() -> None:
    data = b"caf=C3=A9 ==3D =\r\nnext=\nline=4"
    for cut in range(1, len(data)):
        assert stream(data, [cut]) == binascii.a2b_qp(data), cut


def test_long_run_of_equals_is_linear() -> None:
    data = b"=" * (4 * 1024 * 1024) + b"41"
    assert stream(data, [CHUNK]) == binascii.a2b_qp(data)
