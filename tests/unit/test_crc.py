from __future__ import annotations

import os

from pgrewindkit.formats import crc


def test_known_vector() -> None:
    assert crc.crc32c(b"123456789") == 0xE3069283
    assert crc.extend_python(0, b"123456789") == 0xE3069283


def test_fast_and_fallback_agree_and_extend() -> None:
    data = os.urandom(10000)
    assert crc.extend(0, data) == crc.extend_python(0, data)
    assert crc.extend(crc.extend(0, data[:123]), data[123:]) == crc.crc32c(data)


def test_implementation_is_reported() -> None:
    assert crc.IMPLEMENTATION in {"c", "python"}
