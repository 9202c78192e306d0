"""SM3 (GB/T 32905-2016), the Chinese national hash: OpenSSL's through :mod:`hashlib` where
the local OpenSSL provides it, else this pure-Python implementation (checked against the
standard's test vectors in the tests; slow, about 1 MB/s, but never missing)."""

from __future__ import annotations

import hashlib
import struct

IV = (0x7380166F, 0x4914B2B9, 0x172442D7, 0xDA8A0600, 0xA96F30BC, 0x163138AA, 0xE38DEE4D, 0xB0FB0E4E)
MASK = 0xFFFFFFFF


def _rotl(x: int, n: int) -> int:
    n %= 32
    return ((x << n) | (x >> (32 - n))) & MASK


def _p0(x: int) -> int:
    return x ^ _rotl(x, 9) ^ _rotl(x, 17)


def _p1(x: int) -> int:
    return x ^ _rotl(x, 15) ^ _rotl(x, 23)


def _compress(v: tuple[int, ...], block: bytes) -> tuple[int, ...]:
    w = list(struct.unpack(">16I", block))
    for j in range(16, 68):
        w.append(_p1(w[j - 16] ^ w[j - 9] ^ _rotl(w[j - 3], 15)) ^ _rotl(w[j - 13], 7) ^ w[j - 6])
    w1 = [w[j] ^ w[j + 4] for j in range(64)]
    a, b, c, d, e, f, g, h = v
    for j in range(64):
        t = 0x79CC4519 if j < 16 else 0x7A879D8A
        ss1 = _rotl((_rotl(a, 12) + e + _rotl(t, j)) & MASK, 7)
        ss2 = ss1 ^ _rotl(a, 12)
        if j < 16:
            ff, gg = a ^ b ^ c, e ^ f ^ g
        else:
            ff, gg = (a & b) | (a & c) | (b & c), (e & f) | (~e & g)
        tt1 = (ff + d + ss2 + w1[j]) & MASK
        tt2 = (gg + h + ss1 + w[j]) & MASK
        d, c, b, a = c, _rotl(b, 9), a, tt1
        h, g, f, e = g, _rotl(f, 19), e, _p0(tt2)
    return tuple(x ^ y for x, y in zip(v, (a, b, c, d, e, f, g, h)))


class PureSM3:
    """A hashlib-style object (``update`` / ``hexdigest``)."""

    name = "sm3"

    def __init__(self, data: bytes = b"") -> None:
        self._v, self._buf, self._n = IV, b"", 0
        self.update(data)

    def update(self, data: bytes) -> None:
        self._n += len(data)
        buf = self._buf + bytes(data)
        full = len(buf) - len(buf) % 64
        for i in range(0, full, 64):
            self._v = _compress(self._v, buf[i : i + 64])
        self._buf = buf[full:]

    def digest(self) -> bytes:
        pad = b"\x80" + b"\x00" * ((55 - self._n) % 64) + struct.pack(">Q", self._n * 8)
        v, buf = self._v, self._buf + pad
        for i in range(0, len(buf), 64):
            v = _compress(v, buf[i : i + 64])
        return struct.pack(">8I", *v)

    def hexdigest(self) -> str:
        return self.digest().hex()


def new(data: bytes = b""):
    """An SM3 hash object: OpenSSL's if available, else :class:`PureSM3`."""
    try:
        return hashlib.new("sm3", data)
    except ValueError:
        return PureSM3(data)
