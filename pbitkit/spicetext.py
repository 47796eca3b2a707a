"""Checks for text that data (cards, specs, configs) puts into a SPICE netlist.

Data never executes (docs/security.md). A netlist is line-oriented: a newline in a string that lands in a
netlist starts a new SPICE line, which can open a ``.control`` block and run ``shell`` commands. So every
string from a data file that is written into a netlist goes through one of these functions:

- :func:`check_single_line`: a label (cell name, process description) is one line of printable text;
  use it when *loading* data, so a hostile file is rejected with a message naming the field;
- :func:`check_label`: a label that exports also write into generated *code* (the PySpice export writes a
  Python module): one printable line without quotes, backslashes, back-ticks, ``$`` or braces, so it
  cannot leave a string literal or a comment in any of the languages it is written into;
- :func:`spice_comment`: the text of a ``*`` comment line, with anything that is not printable replaced
  (defence in depth for writers);
- :func:`check_spice_name`: a subcircuit/instance/node name is one SPICE token;
- :func:`check_spice_path`: a file name quoted in a netlist (``.include``, ``filesource``);
- :func:`control_lines`: the lines of a netlist that run ngspice commands (``.control`` blocks, ``shell``),
  for checking templates that are not allowed to contain them.
"""

from __future__ import annotations

import re

from pbitkit.errors import ConfigError

__all__ = ["check_single_line", "check_label", "LABEL_FORBIDDEN", "spice_comment", "check_spice_name", "check_spice_path", "control_lines",
           "MAX_LABEL_CHARS"]

#: Longest label accepted from a data file.
MAX_LABEL_CHARS = 200

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.$\-]*\Z")
_CONTROL = re.compile(r"^\s*(\.control\b|\.endc\b|shell\b|\.exec\b)", re.IGNORECASE)


def check_single_line(value: object, where: str, *, error: type[Exception] = ConfigError,
                      max_chars: int = MAX_LABEL_CHARS) -> str:
    """Return ``value`` if it is a non-empty string of at most ``max_chars`` printable characters.

    Printable excludes every line break (``\\n``, ``\\r``, ``\\x0b``, ``\\x0c``, ``\\x85``, U+2028, ...) and
    control character, so the text cannot start a new netlist line.

    Raises
    ------
    error
        (default :class:`~pbitkit.errors.ConfigError`) naming ``where`` and showing the bad value.
    """
    if not isinstance(value, str) or not value:
        raise error(f"{where}: expected a non-empty string, got {value!r}")
    if len(value) > max_chars:
        raise error(f"{where}: {len(value)} characters, at most {max_chars} allowed: {value[:40]!r}...")
    if not value.isprintable():
        bad = next(c for c in value if not c.isprintable())
        raise error(f"{where}: must be one line of printable text, found {bad!r} in {value!r}")
    return value


#: Characters a label may not contain (see :func:`check_label`).
LABEL_FORBIDDEN = "\"'`\\${}"


def check_label(value: object, where: str, *, error: type[Exception] = ConfigError,
                max_chars: int = MAX_LABEL_CHARS) -> str:
    """Return ``value`` if it passes :func:`check_single_line` and holds none of :data:`LABEL_FORBIDDEN`
    (quotes, back-tick, backslash, ``$``, braces).

    Raises
    ------
    error
        Naming ``where`` and the offending character.
    """
    text = check_single_line(value, where, error=error, max_chars=max_chars)
    bad = [c for c in text if c in LABEL_FORBIDDEN]
    if bad:
        raise error(f"{where}: {bad[0]!r} is not allowed in a label (no quotes, back-ticks, backslashes, '$' or "
                    f"braces), got {text!r}")
    return text


def spice_comment(text: str) -> str:
    """``text`` made safe for the body of a ``*`` comment line: every non-printable character (line
    breaks included) becomes ``?``."""
    return "".join(c if c.isprintable() else "?" for c in str(text))


def check_spice_name(name: object, where: str, *, error: type[Exception] = ConfigError) -> str:
    """Return ``name`` if it is one SPICE token (letter or ``_`` first, then letters, digits, ``_.$-``)."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise error(f"{where}: {name!r} is not a SPICE name (letters, digits, '_', '.', '$', '-'; "
                    "a letter or '_' first)")
    return name


def check_spice_path(path: object, where: str, *, error: type[Exception] = ConfigError) -> str:
    """Return ``path`` if it can be quoted in a netlist: printable, no quotes, no whitespace."""
    text = str(path)
    if not text or not text.isprintable() or any(c.isspace() or c in "\"'" for c in text):
        raise error(f"{where}: {text!r} cannot be written into a netlist (use a path without spaces, quotes "
                    "or control characters)")
    return text


def control_lines(netlist: str) -> list[tuple[int, str]]:
    """The ``(line number, line)`` pairs of ``netlist`` that start an ngspice control block or run a
    command (``.control``, ``.endc``, ``shell``, ``.exec``); line numbers start at 1."""
    return [(i, ln) for i, ln in enumerate(netlist.splitlines(), 1) if _CONTROL.match(ln)]
