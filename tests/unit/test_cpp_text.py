"""The one escaping function for generated C++, and the identifier guard (pure Python; cling round trip in
``tests/integration/test_no_code_from_data.py``)."""

from __future__ import annotations

import random
import re

import pytest

from hepfm_root._cpp_text import check_identifier, cpp_string, is_identifier
from hepfm_root.errors import InvalidArgumentError, InvalidSpecError

HOSTILE = ['x\n#include <cstdlib>\nint p = std::system("touch /tmp/x");', 'a"b', "a'b", "*/", "/*", "a\\", "a\\\n",
           "#include <cstdlib>", "x;y", 'system("touch /tmp/x")', "}", "??/", "\x00", "\r", "\u2028", "é", "\ud800"]


def _decode(literal: str) -> bytes:
    """The bytes a C++ compiler puts into the narrow string literal ``literal`` (only the escapes we emit)."""
    assert literal.startswith('"') and literal.endswith('"') and len(literal) >= 2
    body, out, i = literal[1:-1], bytearray(), 0
    while i < len(body):
        ch = body[i]
        if ch == "\\":
            nxt = body[i + 1]
            if nxt in '"\\':
                out.append(ord(nxt))
                i += 2
            else:
                assert re.fullmatch(r"[0-7]{3}", body[i + 1:i + 4]), body[i:i + 4]
                out.append(int(body[i + 1:i + 4], 8))
                i += 4
        else:
            assert ch != '"', "an unescaped quote would end the literal"
            out.append(ord(ch))
            i += 1
    return bytes(out)


def _safe_shape(literal: str) -> None:
    assert all(0x20 <= ord(c) < 0x7F for c in literal), "only printable ASCII in the generated text"
    assert "?" not in literal, "no trigraph can form"
    assert not literal[1:-1].endswith("\\") or literal[1:-1].endswith("\\\\"), "the closing quote is not escaped"


@pytest.mark.parametrize("text", HOSTILE)
def test_cpp_string_holds_exactly_the_utf8_bytes_and_nothing_else(text):
    lit = cpp_string(text)
    _safe_shape(lit)
    assert _decode(lit) == text.encode("utf-8", "surrogatepass")


def test_cpp_string_round_trips_random_text_over_all_code_points():
    rng = random.Random(15)
    for _ in range(2000):
        text = "".join(chr(rng.choice([rng.randrange(0x80), rng.randrange(0x110000)])) for _ in range(rng.randrange(12)))
        lit = cpp_string(text)
        _safe_shape(lit)
        assert _decode(lit) == text.encode("utf-8", "surrogatepass")


def test_cpp_string_octal_escapes_never_absorb_a_following_digit():
    assert cpp_string("\n1") == '"\\0121"' and _decode(cpp_string("\n1")) == b"\n1"


@pytest.mark.parametrize("name", ["Jet_pt", "_x", "hepfm_", "a1"])
def test_identifiers_pass(name):
    assert is_identifier(name) and check_identifier(name, "x") == name


@pytest.mark.parametrize("name", [*HOSTILE, "", "1x", "x\n", "x ", "x-y", "x.y", "Jét", None, 3])
def test_anything_else_is_refused_with_the_callers_error_naming_the_field(name):
    assert not is_identifier(name)
    with pytest.raises(InvalidArgumentError, match=r"^define_score\(name=\) = .* not allowed; expected an identifier"):
        check_identifier(name, "define_score(name=)")
    with pytest.raises(InvalidSpecError) as err:
        check_identifier(name, "spec field", InvalidSpecError)
    assert "\n" not in str(err.value)
