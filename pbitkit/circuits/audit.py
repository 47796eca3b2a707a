"""Audit a rendered cell netlist against the all-transistor rule.

A cell is *all-transistor* when every element of its netlist is one of:

* a MOSFET of the foundry library (an ``X`` subcircuit instance of one of the allowed models);
* a **port voltage source**: a ``V`` source from one of the cell's declared port nodes (supplies, bias
  inputs, clock input) to ground;
* part of a **noise-injection block** (:func:`pbitkit.circuits.elements.noise_injection_lines`): the
  XSPICE ``filesource`` instance ``A…`` writing unit-variance samples to its sample node ``nz…``, that
  node's load resistor ``R… nz… 0``, and the VCCS ``G… 0 <node> nz… 0`` that injects the samples as a
  current;
* an explicit capacitor ``C…`` (parasitic or load).

Anything else — a resistor outside a noise block, a controlled source (E, F, H, or a G not driven by a
noise sample node), a behavioural source (B), an inductor, a voltage source between two circuit nodes or
from a node that is not a declared port, a MOSFET of another model — is a violation. The latch cell (bias
through 1 TΩ resistors) fails; the ``native_latch`` cell passes (``tests/circuits/test_native_latch.py``).

The audit reads the netlist text only (no simulation): ``.``-commands, comments and ``+`` continuation
lines of dot-commands (the ``filesource`` ``.model``) are skipped; a ``.control`` block is skipped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["audit_all_transistor"]

_NOISE_SAMPLE = re.compile(r"^nz", re.IGNORECASE)
_A_OUTPUT = re.compile(r"%vd?\s*\(\s*\[\s*([^\s\]]+)", re.IGNORECASE)


def _elements(netlist: str) -> list[list[str]]:
    """Element lines (tokenized, continuation lines joined), without the title, comments, dot-commands
    and any ``.control`` block."""
    out: list[list[str]] = []
    in_control = False
    prev_is_element = False
    for k, raw in enumerate(netlist.splitlines()):
        line = raw.split("$", 1)[0].strip() if " $" in raw else raw.strip()
        if k == 0 or not line or line.startswith("*"):
            continue
        low = line.lower()
        if low.startswith(".control"):
            in_control = True
            continue
        if low.startswith(".endc"):
            in_control = False
            continue
        if in_control:
            continue
        if line.startswith("+"):
            if prev_is_element:
                out[-1] += line[1:].split()
            continue
        if line.startswith("."):
            prev_is_element = False
            continue
        out.append(line.split())
        prev_is_element = True
    return out


def audit_all_transistor(netlist: str, ports: Iterable[str], transistor_models: Iterable[str]) -> list[str]:
    """Violations of the all-transistor rule in ``netlist`` (empty list: the netlist passes).

    Parameters
    ----------
    netlist : the rendered cell netlist (title line first).
    ports : the node names that may be driven by a voltage source to ground (supplies, bias, clock).
    transistor_models : the MOSFET model (subcircuit) names allowed for ``X`` instances.

    Returns
    -------
    list of str, one message per offending element (``"Rin bias q 1e+12: resistor outside a noise block"``).
    """
    port_set = {p.lower() for p in ports}
    models = {m.lower() for m in transistor_models}
    elements = _elements(netlist)
    # sample nodes: the output node of every XSPICE filesource instance "A… %vd([nz… 0]) model"
    sample_nodes = set()
    for tok in elements:
        m = _A_OUTPUT.search(" ".join(tok)) if tok[0][0] in "Aa" else None
        if m and _NOISE_SAMPLE.match(m.group(1)):
            sample_nodes.add(m.group(1).lower())
    violations: list[str] = []
    for tok in elements:
        kind, text = tok[0][0].upper(), " ".join(tok)
        if kind == "X":
            if len(tok) < 6 or tok[5].lower() not in models:
                violations.append(f"{text}: not a MOSFET of the allowed models {sorted(models)}")
        elif kind == "V":
            if len(tok) < 3 or tok[2] != "0" or tok[1].lower() not in port_set:
                violations.append(f"{text}: voltage source that is not a port source (port node to ground; "
                                  f"ports: {sorted(port_set)})")
        elif kind == "A":
            m = _A_OUTPUT.search(text)
            if m is None or m.group(1).lower() not in sample_nodes:
                violations.append(f"{text}: XSPICE instance that is not a noise-sample filesource")
        elif kind == "R":
            nodes = {tok[1].lower(), tok[2].lower()} if len(tok) > 2 else set()
            if not (len(nodes) == 2 and "0" in nodes and (nodes - {"0"}) <= sample_nodes):
                violations.append(f"{text}: resistor outside a noise block")
        elif kind == "G":
            ok = (len(tok) >= 6 and tok[1] == "0" and tok[3].lower() in sample_nodes and tok[4] == "0"
                  and tok[2].lower() not in sample_nodes)
            if not ok:
                violations.append(f"{text}: controlled source not driven by a noise sample node")
        elif kind == "C":
            continue
        else:
            violations.append(f"{text}: element type {kind} is not allowed in an all-transistor cell")
    return violations
