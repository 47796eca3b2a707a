"""The worker process of the shared-mode runner: ngspice's shared library loaded through PySpice.

Started by :mod:`pbitkit.circuits.shared_runner` as ``python <this file> PACKAGE LIBRARY`` (the PySpice
package name and the libngspice path, both resolved by :mod:`pbitkit.circuits.pyspice_interop` in the
parent); run as a script it imports neither pbitkit nor SciPy, so it starts in a fraction of a second.
Protocol on its stdin/stdout: length-prefixed pickles (4-byte big-endian length).

* On start it sends ``{"ok": True, "version": "39", "pyspice": "PySpice 1.5"}``, or ``{"ok": False,
  "error": "..."}`` when PySpice or libngspice is missing (then exits).
* Per request ``{"workdir": DIR, "netlist": TEXT, "control": bool, "raw": NAME}`` it changes into ``DIR``
  (where the job's files are), loads the netlist (a ``.control`` block runs as it loads; without one it
  issues ``run`` and writes every plot in run order, as ``ngspice -b -r`` does), and answers
  ``{"stdout", "stderr", "exception", "fatal", "cpu_s"}``. Every ngspice message is also appended to
  ``DIR/ngspice.log`` as it arrives, so that the parent can quote ngspice's last words after killing a
  runaway simulation.
* After a fatal error (ngspice "cannot recover", or the load itself failing) it answers and exits: a
  fresh process takes the next job, so no broken library state carries over.
"""

from __future__ import annotations

import importlib
import logging
import os
import pickle
import resource
import struct
import sys
from typing import Any, BinaryIO

LOG_FILE = "ngspice.log"


def _send(out: BinaryIO, obj: Any) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    out.write(struct.pack(">I", len(data)) + data)
    out.flush()


def _recv(inp: BinaryIO) -> Any:
    head = inp.read(4)
    if len(head) < 4:
        return None
    (n,) = struct.unpack(">I", head)
    return pickle.loads(inp.read(n))


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _make_engine(package: str, library: str) -> tuple[Any, dict[str, Any]]:
    mod = importlib.import_module(package)
    base = importlib.import_module(f"{package}.Spice.NgSpice.Shared").NgSpiceShared
    base.LIBRARY_PATH = library.replace("{", "{{").replace("}", "}}")  # PySpice formats it with the id

    class Engine(base):  # type: ignore[misc, valid-type]
        """NgSpiceShared that keeps every console line (PySpice clears its own copy per command)."""

        lines: list[str] = []
        log: Any = None

        def send_char(self, message: str, ngspice_id: int) -> int:  # noqa: ARG002 - PySpice's signature
            Engine.lines.append(message)
            if Engine.log is not None:
                Engine.log.write(message + "\n")
                Engine.log.flush()
            return 0

    ng = Engine.new_instance()
    for cmd in ("set num_threads=1", "set filetype=binary", "set appendwrite"):
        ng.exec_command(cmd)
    return ng, {"version": str(ng.ngspice_version), "pyspice": f"{package} {getattr(mod, '__version__', '?')}"}


def _command(ng: Any, cmd: str) -> str:
    """Run a control command; PySpice raises on any error text, which ngspice's output then explains."""
    try:
        ng.exec_command(cmd)
        return ""
    except Exception as exc:  # noqa: BLE001 - the console lines carry the reason
        return f"{cmd}: {type(exc).__name__}: {exc}"


def _job(ng: Any, engine: type, req: dict[str, Any]) -> dict[str, Any]:
    os.chdir(req["workdir"])
    engine.lines = []
    engine.log = open(LOG_FILE, "w")  # noqa: SIM115 - closed below
    cpu0 = _cpu()
    exception, fatal = "", False
    try:
        _command(ng, "destroy all")
        try:
            ng.load_circuit(req["netlist"])
        except Exception as exc:  # noqa: BLE001 - NameError("ngSpice_Circ returned 1") etc.
            exception, fatal = f"loading the circuit: {type(exc).__name__}: {exc}", True
        if not fatal and not req["control"]:
            exception = _command(ng, "run")
            if not exception:
                for plot in reversed([p for p in ng.plot_names if p != "const"]):  # oldest first = run order
                    exception = _command(ng, f"setplot {plot}") or _command(ng, f"write {req['raw']}")
                    if exception:
                        break
        fatal = fatal or any("cannot recover" in line for line in engine.lines)
        if not fatal:
            _command(ng, "remcirc")
            _command(ng, "destroy all")
    finally:
        engine.log.close()
        engine.log = None
    out = [ln.partition(" ")[2] for ln in engine.lines if ln.startswith("stdout")]
    err = [ln.partition(" ")[2] for ln in engine.lines if not ln.startswith("stdout")]
    return {"stdout": "\n".join(out), "stderr": "\n".join(err), "exception": exception, "fatal": fatal,
            "cpu_s": _cpu() - cpu0}


def main(argv: list[str]) -> None:
    """Serve jobs until stdin closes (see the module docstring). ``argv = [PACKAGE, LIBRARY]``."""
    logging.disable(logging.CRITICAL)  # PySpice logs every ngspice stderr line as an error
    inp = sys.stdin.buffer
    out = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)  # anything the library prints must not corrupt the protocol
    try:
        package, library = argv
        ng, info = _make_engine(package, library)
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which raises it
        _send(out, {"ok": False, "error": f"{type(exc).__name__}: {exc}"})
        return
    _send(out, {"ok": True, **info})
    while True:
        req = _recv(inp)
        if req is None:
            return
        reply = _job(ng, type(ng), req)
        _send(out, reply)
        if reply["fatal"]:
            return


if __name__ == "__main__":
    main(sys.argv[1:])
