"""The only ways text from data enters generated C++: identifiers checked, everything else a string literal.

Generated C++ (``hepfm_root.rdf``, ``hepfm_root.corrections``) is built from specs,
model metadata and corrections configs, i.e. from files a user may have been sent.
Two rules keep such a file from ever becoming code:

* a name that C++ sees as a *token* (a branch in a ``Define`` expression, a column
  name, a prefix) must be a plain identifier: :func:`check_identifier` refuses
  anything else with the caller's error class (``InvalidArgumentError`` for a user
  argument, ``InvalidSpecError``/``InvalidConfigError`` for file content);
* any other text (a file path, a correctionlib key, the input's description, even in
  a comment) goes through :func:`cpp_string`, which returns a C++ string literal that
  holds exactly the UTF-8 bytes of the text and nothing a compiler could read as code.
  Comments carry the literal too (``// on "x.root"``), because a comment ending in a
  backslash would swallow the next line and a newline would end it.

Example:
    >>> print(cpp_string('say "hi" */ ?? é'))
    "say \\"hi\\" */ \\077\\077 \\303\\251"
    >>> check_identifier("hepfm_", "prefix")
    'hepfm_'
"""

from __future__ import annotations

import re

from .errors import HepfmError, InvalidArgumentError

__all__ = ["check_identifier", "cpp_string", "is_identifier"]

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
#: Printable ASCII that stands for itself inside a C++ string literal.  Not ``"`` and ``\``
#: (they need escapes) nor ``?`` (``??/`` is a trigraph for a backslash before C++17).
_PLAIN = frozenset(range(0x20, 0x7F)) - {ord('"'), ord("\\"), ord("?")}


def is_identifier(name: object) -> bool:
    """True for a str that is a plain C/C++ identifier (ASCII letters, digits, ``_``; no leading digit).

    Example:
        >>> is_identifier("Jet_pt"), is_identifier("1x"), is_identifier("x\\n"), is_identifier("x;y")
        (True, False, False, False)
    """
    return isinstance(name, str) and _IDENTIFIER.fullmatch(name) is not None


def check_identifier(name: object, what: str, error: type[HepfmError] = InvalidArgumentError) -> str:
    """Return ``name`` if it is a plain identifier, else raise ``error`` naming ``what``.

    Args:
        name: the value to check.
        what: the field or argument, for the message (``"define_score(name=)"``).
        error: the family member to raise (the caller knows whether it is an argument or file content).

    Example:
        >>> check_identifier("score;x", "define_score(name=)")
        Traceback (most recent call last):
        ...
        hepfm_root.errors.InvalidArgumentError: define_score(name=) = 'score;x' is not allowed; expected an \
identifier (ASCII letters, digits and '_', not starting with a digit), because it becomes C++ code
    """
    if not is_identifier(name):
        shown = repr(name) if len(repr(name)) <= 80 else repr(name)[:77] + "..."
        raise error(f"{what} = {shown} is not allowed; expected an identifier (ASCII letters, digits and '_', "
                    "not starting with a digit), because it becomes C++ code")
    return name  # type: ignore[return-value]


def cpp_string(text: str) -> str:
    """``text`` as a C++ narrow string literal (quotes included) holding exactly its UTF-8 bytes.

    Every byte outside printable ASCII, and every ``"``, ``\\`` and ``?``, is written
    as an escape (three-digit octal, which never absorbs a following digit); so the
    result contains no newline, no unescaped quote and no backslash at its end, and
    is inert wherever a literal may stand, comments included.

    Example:
        >>> cpp_string("Jet_pt")
        '"Jet_pt"'
        >>> print(cpp_string('"); system("touch /tmp/x"); ("'))
        "\\"); system(\\"touch /tmp/x\\"); (\\""
        >>> print(cpp_string("line\\nbreak\\\\"))
        "line\\012break\\\\"
    """
    out = ['"']
    for byte in str(text).encode("utf-8", "surrogatepass"):
        if byte in _PLAIN:
            out.append(chr(byte))
        elif byte in (0x22, 0x5C):
            out.append("\\" + chr(byte))
        else:
            out.append(f"\\{byte:03o}")
    out.append('"')
    return "".join(out)
