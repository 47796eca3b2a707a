"""Two transistor-level ``native_latch`` cells coupled through transistors: the two-spin Boltzmann test.

Each cell's readout decision is held by an SR latch (two 0.45 V NOR gates: the comparator's outputs reset
low between reads, the latch keeps the bit) whose rail-to-rail output is the other cell's neighbour bit in
that cell's charge-domain bias network (:mod:`pbitkit.circuits.bias_network_nl`, the fan-in-12 design with
the coupling on input 0, the field on the field input and the other ten inputs at code 0). Nothing but
transistors, the DAC and parasitic capacitors, the cells' noise injection and port sources sits between the
two cores.

**Two clock phases.** If both cells read on the same edge, each update uses the other's *previous* bit:
a synchronous (parallel) Gibbs update of two connected spins, whose stationary law is not the Boltzmann
distribution. The pair therefore uses the array's checkerboard colouring: cell 1's read clock is delayed
by half a period, so reads alternate A, B, A, B and each cell's bias holds the other's latest bit. Between
two reads of a cell its bias changes once (when the other cell reads, half a period earlier); the read is
a heat-bath draw from the new bias only when the core forgets the old one within that half period, so the
period is chosen with ``T/2`` several times the core's correlation time (1 µs against ≈ 80 ns: a residual
memory of ``exp(-5) < 1 %``).

**Prediction.** With the card's ``(V0, Vs)`` and the network's measured transfer (the coupling per code
``Delta V(k)``, its zero-code offset), a cell sees ``V_b = vreset + offset + sigma_h Delta V(k_h) / 2 +
sigma_J Delta V(k_J) s_other / 2`` and is read as ``P(1) = sigmoid((V_b - V0)/Vs)``, so the pair should
sample ``P(s1, s2) ∝ exp(J s1 s2 + h1 s1 + h2 s2)`` with ``J = Delta V(k_J) / (4 Vs)`` and
``h_i = (V_b,i(mean) - V0) / (2 Vs)``. :func:`simulate_coupled_pair` runs the pair, :func:`pair_chi2` tests the
four joint-state frequencies of the read pairs ``(A_k, B_k)`` (B read after A, seeing A's bit) against a
prediction, with the count scaled by the joint state's integrated autocorrelation time.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pbitkit.circuits import measure
from pbitkit.circuits.bias_network_nl import (
    CapNetworkDesign,
    NetworkInput,
    NetworkMeasurement,
    measure_network,
    native_latch_subckt,
    render_cap_network,
)
from pbitkit.circuits.elements import fmt_number, mos_device
from pbitkit.circuits.models import ModelLibrary, get_library
from pbitkit.circuits.ngspice import SimJob, run, write_command
from pbitkit.errors import ConfigError
from pbitkit.io import sha256_bytes
from pbitkit.rng import SeedLike, as_generator

__all__ = ["PairResult", "Chi2Result", "pair_boltzmann", "pair_chi2", "predicted_couplings", "card_couplings",
           "insitu_couplings",
           "native_latch_noise_sigmas", "render_coupled_pair", "sr_latch_lines", "simulate_coupled_pair"]

_f = fmt_number

#: The SR latch's pull-down (``nfet_01v8_lvt``) and pull-up (``pfet_01v8``) sizes (W, L in µm).
SR_LATCH_N = (0.42, 0.15)
SR_LATCH_P = (0.42, 0.15)


def pair_boltzmann(J: float, h1: float, h2: float) -> np.ndarray:
    """``P(s1, s2) ∝ exp(J s1 s2 + h1 s1 + h2 s2)``, a ``(2, 2)`` array indexed by ``(s + 1) / 2``."""
    s = np.array([-1.0, 1.0])
    e = J * s[:, None] * s[None, :] + h1 * s[:, None] + h2 * s[None, :]
    w = np.exp(e - e.max())
    return w / w.sum()


def native_latch_noise_sigmas(lib: ModelLibrary, params: Mapping[str, float], *, vdd_V: float,
                              temp_C: float = 27.0, timeout_s: float = 300.0) -> tuple[float, float]:
    """The cell's noise-source gains (A per unit sample) at ``q`` and ``qb``: the one-sided channel-noise
    PSD ``sum 2 q |I_D| coth(|V_DS| / 2 U_T)`` of the FETs on each node
    (:data:`pbitkit.circuits.builtin.native_latch.NATIVE_LATCH_NOISE_FETS`) at the metastable operating
    point (``bias = ref``, as the cell's own transient tier), ``sigma = sqrt(S / (2 noise_dt_s))``."""
    from pbitkit.circuits.builtin.native_latch import NATIVE_LATCH_NOISE_FETS, render_native_latch
    from pbitkit.circuits.noise import channel_noise_psd, sigma_for_psd

    circuit = render_native_latch(lib, params, vdd_V=vdd_V, temp_C=temp_C, bias_V=params["ref_V"], noise=False)
    vecs = [f"@m.x{nm.lower()}.m{lib.device(role)}[{qty}]" for fets in NATIVE_LATCH_NOISE_FETS.values()
            for nm, role in fets for qty in ("id", "vds")]
    ctl = [".control", f"nodeset v(q)={_f(vdd_V / 6)} v(qb)={_f(vdd_V / 6)}", "op", write_command(vecs), ".endc",
           ".end"]
    res = run(SimJob(netlist=circuit + "\n".join(ctl) + "\n", timeout_s=timeout_s, label="native_latch noise op"))
    out = []
    for fets in NATIVE_LATCH_NOISE_FETS.values():
        s = 0.0
        for nm, role in fets:
            key = f"@m.x{nm.lower()}.m{lib.device(role)}"
            i_d = float(np.real(res.vector(f"{key}[id]", 0))[0])
            v_ds = float(np.real(res.vector(f"{key}[vds]", 0))[0])
            s += float(channel_noise_psd(i_d, v_ds, 0.0, temp_C))
        out.append(float(sigma_for_psd(s * params["noise_scale"], params["noise_dt_s"])))
    return out[0], out[1]


def sr_latch_lines(lib: ModelLibrary, name: str, q: str, qb: str, *, set_node: str, reset_node: str,
                   vnet: str = "vnet") -> list[str]:
    """A NOR SR latch on ``vnet`` holding a comparator's decision (``q`` high after ``set_node`` rose, low
    after ``reset_node`` rose; both inputs low = hold). Its inputs come from the 0.45 V readout, so it is
    also the level shifter to ``vnet``: ``nfet_01v8_lvt`` pull-downs and ``pfet_01v8`` pull-ups (the one
    gated by a 0.45 V input sees ``|V_GS| = vnet - 0.45 V`` and stays nearly off), all minimum size
    (0.42/0.15). Minimum size on purpose: the latch's input gates load the comparator's outputs, and at
    0.45 V the comparator's cross-coupled ``nfet_01v8_lvt`` pair (``V_th`` ≈ 0.6 V) regenerates with
    ``tau = C_out / g_m`` ≈ 18 ns unloaded; the 1.68/0.15 + 0.84/0.15 inputs used before added several fF,
    so the outputs did not regenerate within the decision window and the latch never set."""
    out = []
    for o, a, b in ((q, reset_node, qb), (qb, set_node, q)):
        tag = f"{name}{'q' if o == q else 'b'}"
        out += [mos_device(lib, f"{tag}na", o, a, "0", "0", "nfet_lvt", *SR_LATCH_N),
                mos_device(lib, f"{tag}nb", o, b, "0", "0", "nfet_lvt", *SR_LATCH_N),
                mos_device(lib, f"{tag}pa", f"{tag}_m", a, vnet, vnet, "pfet", *SR_LATCH_P),
                mos_device(lib, f"{tag}pb", o, b, f"{tag}_m", vnet, "pfet", *SR_LATCH_P)]
    return out


def render_coupled_pair(lib: ModelLibrary, d: CapNetworkDesign, cell_params: Mapping[str, float], *,
                        code_J: tuple[int, int], code_h: tuple[int, int], vdd_V: float,
                        noise_sigmas_A: tuple[float, float], temp_C: float = 27.0, t_refresh_s: float = 20e-9,
                        t_edge_s: float = 0.2e-9) -> str:
    """The pair's circuit (no analysis): cells ``X0`` (read clock as the cell's own) and ``X1`` (delayed by
    half a period), SR latches ``l0``/``l0b``, ``l1``/``l1b`` on the network supply, and the two networks
    (``n0`` drives ``b0`` from ``l1``, ``n1`` drives ``b1`` from ``l0``) with codes ``code_J[i]`` on input 0 and
    ``code_h[i]`` on the field input; one refresh at ``t = 0``. Noise tables ``c0_noise_q.txt`` ... """
    ts = cell_params["sample_period_s"]
    vn = d.vnet_V
    lines = [f"* pbitkit two coupled native_latch cells through charge-domain bias networks ({lib.source})",
             lib.include_line, f".temp {_f(temp_C)}"]
    for k in (0, 1):
        lines.append(native_latch_subckt(lib, cell_params, f"nlcell{k}", vdd_V=vdd_V, temp_C=temp_C,
                                         noise_sigmas_A=noise_sigmas_A, noise_prefix=f"c{k}_",
                                         clock_delay_s=k * ts / 2))
        lines.append(f"X{k} b{k} outp{k} outn{k} q{k} qb{k} nlcell{k}")
        lines += sr_latch_lines(lib, f"L{k}", f"l{k}", f"l{k}b", set_node=f"outp{k}", reset_node=f"outn{k}")
    for k in (0, 1):
        other = 1 - k
        inputs = [NetworkInput(f"l{other}", f"l{other}b", int(code_J[k]))]
        inputs += [NetworkInput("0", "vnet", 0) for _ in range(d.fan_in - 1)]
        inputs.append(NetworkInput("vnet", "0", int(code_h[k])))
        lines += render_cap_network(lib, d, inputs, out=f"b{k}", prefix=f"n{k}", prune_static=True)
    tr = t_edge_s
    lines += [f"Vnet vnet 0 {_f(vn)}", f"Vvreset vreset 0 {_f(d.vreset_V)}",
              f"Vrst rst 0 PWL(0 {_f(vn)} {_f(t_refresh_s)} {_f(vn)} {_f(t_refresh_s + tr)} 0)",
              f"Vrstb rstb 0 PWL(0 0 {_f(t_refresh_s)} 0 {_f(t_refresh_s + tr)} {_f(vn)})",
              f"Vrsth rsth 0 PWL(0 {_f(d.v_refresh_V)} {_f(t_refresh_s - 2e-9)} {_f(d.v_refresh_V)} "
              f"{_f(t_refresh_s - 2e-9 + tr)} 0)",
              ".nodeset " + " ".join(f"v({n})={_f(vdd_V / 6)}" for n in ("q0", "qb0", "q1", "qb1"))]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class PairResult:
    """Reads of a simulated coupled pair.

    Attributes
    ----------
    bits : (n, 2) int array, the read pairs ``(A_k, B_k)`` (1 = high), B read half a period after A.
    counts : (2, 2) joint-state counts indexed ``[A, B]``.
    n_reads, n_eff : read pairs and their effective number (``n / tau_int``, the largest integrated
        autocorrelation time of ``A``, ``B`` and the joint state, in read pairs).
    v_bias_V : ``[[V_b0 | B = 0, V_b0 | B = 1], [V_b1 | A = 0, V_b1 | A = 1]]``, each cell's summing-node
        voltage at its reads (mean), split by the other cell's bit: the network's in-situ output.
    code_J, code_h : the programmed codes; ``period_s`` the read period; ``cpu_time_s``; ``netlist_sha256``
        and ``job_sha256`` of the run; ``seed``.
    """

    bits: np.ndarray
    counts: np.ndarray
    n_reads: int
    n_eff: float
    v_bias_V: np.ndarray
    code_J: tuple[int, int]
    code_h: tuple[int, int]
    period_s: float
    cpu_time_s: float
    netlist_sha256: str
    job_sha256: str
    seed: int
    extra: dict[str, Any] = field(default_factory=dict)

    def merged(self, other: PairResult) -> PairResult:
        """Two independent records of the same pair pooled (counts and effective numbers add)."""
        if (self.code_J, self.code_h, self.period_s) != (other.code_J, other.code_h, other.period_s):
            raise ConfigError("PairResult.merged: records of different pairs")
        n = self.n_reads + other.n_reads
        vb = (self.v_bias_V * self.n_reads + other.v_bias_V * other.n_reads) / n
        return PairResult(np.concatenate([self.bits, other.bits]), self.counts + other.counts, n,
                          self.n_eff + other.n_eff, vb, self.code_J, self.code_h, self.period_s,
                          self.cpu_time_s + other.cpu_time_s, self.netlist_sha256,
                          sha256_bytes((self.job_sha256 + other.job_sha256).encode()), self.seed,
                          {"records": [self.job_sha256, other.job_sha256]})


def simulate_coupled_pair(d: CapNetworkDesign, *, code_J: tuple[int, int], code_h: tuple[int, int],
                          n_reads: int, seed: SeedLike = 0, cell_params: Mapping[str, float] | None = None,
                          vdd_V: float | None = None, period_s: float = 1.5e-6, temp_C: float = 27.0,
                          library: ModelLibrary | None = None, timeout_s: float = 7200.0) -> PairResult:
    """Simulate the coupled pair for ``n_reads`` read pairs (+ 2 periods to settle) and return its reads.

    ``cell_params`` override the ``native_latch`` defaults (``sample_period_s`` is set to ``period_s``);
    ``vdd_V`` defaults to the cell's core supply. Each cell gets its own seeded noise tables.
    """
    from pbitkit.circuits.noise import noise_files
    from pbitkit.circuits.registry import get_cell

    if not isinstance(n_reads, int) or n_reads < 20:
        raise ConfigError(f"simulate_coupled_pair: n_reads must be an integer >= 20, got {n_reads!r}")
    cell = get_cell("native_latch")
    p = cell.params({**(cell_params or {}), "sample_period_s": period_s})
    vdd = cell.default_vdd_V if vdd_V is None else float(vdd_V)
    lib = library or get_library("sky130", "tt")
    sig = native_latch_noise_sigmas(lib, p, vdd_V=vdd, temp_C=temp_C)
    dt = p["noise_dt_s"]
    t_settle = 2 * period_s
    t_stop = t_settle + (n_reads + 1.5) * period_s
    n_steps = int(math.ceil(t_stop / dt)) + 2
    rng = as_generator(seed)
    files: dict[str, str] = {}
    for k, r in enumerate(rng.spawn(2)):
        for name, txt in noise_files(["q", "qb"], r, dt, n_steps).items():
            files[f"c{k}_{name}"] = txt
    circuit = render_coupled_pair(lib, d, p, code_J=code_J, code_h=code_h, vdd_V=vdd, noise_sigmas_A=sig,
                                  temp_C=temp_C)
    vecs = ["v(l0)", "v(l1)", "v(b0)", "v(b1)"]
    ctl = [".control", f"save {' '.join(vecs)}", f"tran {_f(dt)} {_f(t_stop)} 0 {_f(dt)}", write_command(vecs),
           ".endc", ".end"]
    job = SimJob(netlist=circuit + "\n".join(ctl) + "\n", files=files, timeout_s=timeout_s,
                 label=f"native_latch coupled pair J codes {code_J}, h codes {code_h}")
    res = run(job)
    t = np.real(res.vector("time"))
    half = d.vnet_V / 2
    k = np.arange(math.ceil(t_settle / period_s) + 1, math.floor((t[-1] - period_s) / period_s + 1e-9) + 1)
    t_a = k * period_s - 1e-9                 # end of A's decision window
    t_b = t_a + period_s / 2                  # end of B's
    # the latched bits a quarter period after each window (the comparator has resolved, the latch holds)
    a = (np.interp(t_a + period_s / 4, t, np.real(res.vector("v(l0)"))) > half).astype(np.int64)
    b = (np.interp(t_b + period_s / 4, t, np.real(res.vector("v(l1)"))) > half).astype(np.int64)
    vb0 = np.interp(t_a, t, np.real(res.vector("v(b0)")))  # A's bias at its read: set by B's previous bit
    vb1 = np.interp(t_b, t, np.real(res.vector("v(b1)")))  # B's bias at its read: set by A's bit
    b_prev = np.concatenate([[b[0]], b[:-1]])
    v_bias = np.array([[np.mean(vb0[b_prev == s]) if np.any(b_prev == s) else math.nan for s in (0, 1)],
                       [np.mean(vb1[a == s]) if np.any(a == s) else math.nan for s in (0, 1)]])
    counts = np.zeros((2, 2))
    np.add.at(counts, (a, b), 1.0)
    taus = [measure.integrated_autocorr_time(x.astype(float)) for x in (a, b, 2 * a + b)]
    fin = [x for x in taus if math.isfinite(x)]
    tau = max(1.0, max(fin)) if fin else float(a.size)
    seed_int = int(seed) if isinstance(seed, (int, np.integer)) else -1
    return PairResult(np.stack([a, b], axis=1), counts, int(a.size), float(a.size / tau), v_bias,
                      (int(code_J[0]), int(code_J[1])), (int(code_h[0]), int(code_h[1])), period_s,
                      res.cpu_time_s, sha256_bytes(circuit.encode()), job.content_hash(), seed_int,
                      {"tau_int_reads": tau, "noise_sigmas_A": list(sig), "vdd_V": vdd, "models": lib.source})


@dataclass(frozen=True)
class Chi2Result:
    """χ² test of four joint-state counts against ``P`` (dof 3: nothing fitted), the statistic scaled by
    ``n_eff / n`` for the chain's autocorrelation; ``p_value`` from the χ²₃ tail."""

    chi2: float
    p_value: float
    n: int
    n_eff: float
    expected: np.ndarray
    observed: np.ndarray


def pair_chi2(result: PairResult, P: np.ndarray) -> Chi2Result:
    """Test the pair's joint frequencies against the (2, 2) distribution ``P`` (indexed ``[A, B]``)."""
    from scipy.stats import chi2 as chi2_dist

    P = np.asarray(P, dtype=float)
    if P.shape != (2, 2) or np.any(P <= 0) or not math.isclose(float(P.sum()), 1.0, rel_tol=1e-9):
        raise ConfigError("pair_chi2: P must be a positive (2, 2) distribution")
    n = float(result.counts.sum())
    e = n * P
    x2 = float(np.sum((result.counts - e) ** 2 / e)) * result.n_eff / n
    return Chi2Result(x2, float(chi2_dist.sf(x2, 3)), int(n), result.n_eff, e, result.counts.copy())


def predicted_couplings(*, lsb_V: float, offset_V: float, vreset_V: float, v0_V: float, vs_V: float,
                        code_J: tuple[int, int], code_h: tuple[int, int]) -> tuple[float, float, float]:
    """``(J, h1, h2)`` the card and the network's measured transfer predict (spin units of
    :func:`pair_boltzmann`): ``J = k_J lsb / (4 Vs)``, ``h_i = (vreset + offset + k_h,i lsb / 2 - V0) / (2 Vs)``
    (``lsb_V``/``offset_V`` from :class:`pbitkit.circuits.bias_network_nl.NetworkMeasurement`, ``v0_V``/``vs_V``
    the card's logistic centre and slope).

    Raises
    ------
    ConfigError
        Different coupling codes in the two cells (the pair's ``J`` must be symmetric) or ``vs_V <= 0``.
    """
    if code_J[0] != code_J[1]:
        raise ConfigError(f"predicted_couplings: asymmetric coupling codes {code_J}")
    if not vs_V > 0:
        raise ConfigError(f"predicted_couplings: vs_V must be > 0, got {vs_V}")
    J = code_J[0] * lsb_V / (4 * vs_V)
    h = [(vreset_V + offset_V + k * lsb_V / 2 - v0_V) / (2 * vs_V) for k in code_h]
    return float(J), float(h[0]), float(h[1])


def card_couplings(d: CapNetworkDesign, *, v0_V: float, vs_V: float, code_J: tuple[int, int],
                   code_h: tuple[int, int], library: ModelLibrary | None = None,
                   cell_params: Mapping[str, float] | None = None
                   ) -> tuple[tuple[float, float, float], NetworkMeasurement]:
    """The couplings the card predicts *before* the pair runs: the network's transfer measured on its own
    (:func:`pbitkit.circuits.bias_network_nl.measure_network` with the cell as load, codes 0 and the pair's
    ``|code_J|``, ``|code_h|``, one neighbour input rendered in the step session: ~7 s of ngspice CPU) and
    the card's ``(V0, Vs)``, through :func:`predicted_couplings`.

    Returns
    -------
    ((J, h1, h2), NetworkMeasurement)
    """
    codes = sorted({0, *(abs(int(k)) for k in (*code_J, *code_h))})
    m = measure_network(d, codes=codes, step_inputs=1, cell_params=cell_params, library=library)
    return predicted_couplings(lsb_V=m.lsb_V, offset_V=m.offset_V, vreset_V=d.vreset_V, v0_V=v0_V, vs_V=vs_V,
                               code_J=code_J, code_h=code_h), m


def insitu_couplings(result: PairResult, *, v0_V: float, vs_V: float) -> tuple[float, float, float]:
    """``(J, h1, h2)`` from the summing-node voltages the networks actually produced in the run
    (``result.v_bias_V``) and the card's ``(V0, Vs)``: ``J`` the mean over the two cells of
    ``(V_b | other = 1) - (V_b | other = 0)`` over ``4 Vs``, ``h_i`` the cell's mid level minus ``V0`` over ``2 Vs``."""
    vb = np.asarray(result.v_bias_V, dtype=float)
    J = float(np.mean(vb[:, 1] - vb[:, 0])) / (4 * vs_V)
    h = (vb.mean(axis=1) - v0_V) / (2 * vs_V)
    return J, float(h[0]), float(h[1])
