"""On-chip calibration of per-cell offsets, as a chip's calibration routine would do it.

Procedure (only what a chip can observe is used to compute the trim):

1. program all couplings to 0 and a common field ``h_k`` on every cell (through the bias DAC), for a
   sweep of ``K`` field values; read every cell ``n_sweeps x n_chains`` times at each point;
2. fit each cell's response ``P_i(+1 | h) = sigmoid(a_i h + b_i)`` by maximum likelihood (binomial
   likelihood on the counts; vectorized Newton-Raphson over cells);
3. the cell's zero crossing ``h*_i = -b_i / a_i`` is its offset in field units; the bias network maps a
   field ``h`` to ``2 beta Vs_nom h`` volts, so the trim voltage that cancels it is
   ``trim_i += 2 beta Vs_nom h*_i``, quantized by the trim DAC (finite resolution and range);
4. optionally repeat (``rounds``) to remove the error of the nominal-gain assumption;
5. gain compensation (``gain=True``): the same fits give each cell's slope ``a_i`` (logit per unit field);
   the nominal cell has ``a = 2 beta``, so the cell's input is ``a_i / (2 beta)`` times too strong. Each cell
   has its own input network (weight DACs of row ``i`` of ``J``, field DAC of ``h_i``), so programming that
   row and field multiplied by ``input_gain_i = 2 beta / a_i`` (mean slope over the rounds) makes the cell's
   effective input the ideal one. It corrects the cell's slope spread ``Vs_i / Vs_nom`` and the bias
   network's gain error ``1 + eps_i`` together. The effective coupling matrix is symmetric again even though
   the programmed one is not. Limits: each DAC's range and resolution (a fixed full scale saturates the
   scaled values beyond it, an auto-ranging DAC coarsens its LSB; :func:`pbitkit.array.device.program_rows`).
   It is a reprogramming of the existing DACs: no extra hardware, energy or ledger entry. A cell whose crossing lies outside the sweep (slope not
   measurable) keeps gain 1.

Reported: the estimated offsets, the true residual offset ``V0_i(T) - V0_nom - trim_i`` (known to the
simulator, not to the chip), and the marginals ``<s_i>`` of the unbiased array (J = 0, h = 0) before and
after trimming, with the reduction factor of their spread.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass

import numpy as np

from pbitkit.array.device import HardwareInstance
from pbitkit.array.graphs import Graph
from pbitkit.array.sampler import GibbsSampler, random_state
from pbitkit.errors import ConfigError
from pbitkit.progress import ProgressCallback
from pbitkit.rng import SeedLike, as_generator

__all__ = ["CalibrationResult", "bounded_offsets", "calibrate", "measure_marginals", "fit_logistic_cells"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CalibrationResult:
    """Outcome of :func:`calibrate`.

    Attributes
    ----------
    hardware : HardwareInstance
        The trimmed chip.
    fields : (K,) float
        Field sweep actually applied (after the bias DAC).
    slope_est : (N,) float
        Fitted ``a_i`` (logit per unit field), mean over the rounds (NaN where not measurable).
    input_gain : (N,) float or None
        Programmed per-cell input scale ``2 beta / a_i`` (``gain=True``), else None.
    offset_est_field : (N,) float
        Fitted zero crossing ``h*_i`` in field units in the first round (the measured offset).
    trim_V : (N,) float
        Programmed trim (DAC-quantized).
    residual_V_before, residual_V_after : (N,) float
        True offset error ``V0_i(T) - V0_nom - trim_i`` before and after.
    marginals_before, marginals_after : (N,) float
        ``<s_i>`` of the unbiased array (J = 0, h = 0) before and after.
    spread_before, spread_after : float
        Standard deviation of those marginals over cells.
    n_reads_per_point : int
        Reads per cell per field point (sweeps x chains).
    """

    hardware: HardwareInstance
    fields: np.ndarray
    slope_est: np.ndarray
    input_gain: np.ndarray | None
    offset_est_field: np.ndarray
    trim_V: np.ndarray
    residual_V_before: np.ndarray
    residual_V_after: np.ndarray
    marginals_before: np.ndarray
    marginals_after: np.ndarray
    spread_before: float
    spread_after: float
    n_reads_per_point: int

    @property
    def spread_reduction(self) -> float:
        """``spread_before / spread_after`` (how much calibration narrowed the marginals)."""
        return float(self.spread_before / max(self.spread_after, 1e-300))

    def summary(self) -> dict[str, float]:
        """Scalar summary (JSON-ready); ``input_gain_log_sd`` is the spread (SD of ``ln``) of the programmed
        gain compensation (0 without it)."""
        ig = self.input_gain
        return {
            "input_gain_log_sd": float(np.std(np.log(ig))) if ig is not None else 0.0,
            "residual_rms_before_V": float(np.sqrt(np.mean(self.residual_V_before**2))),
            "residual_rms_after_V": float(np.sqrt(np.mean(self.residual_V_after**2))),
            "marginal_spread_before": float(self.spread_before),
            "marginal_spread_after": float(self.spread_after),
            "spread_reduction": self.spread_reduction,
            "n_reads_per_point": int(self.n_reads_per_point),
        }


def measure_marginals(
    graph: Graph, hardware: HardwareInstance, h: float | np.ndarray, *, beta: float = 1.0, n_sweeps: int = 200,
    n_chains: int = 16, burn_in: int = 5, rng: np.random.Generator,
) -> np.ndarray:
    """``<s_i>`` of every cell with all couplings at 0 and field ``h`` (scalar or ``(N,)``), from
    ``n_sweeps x n_chains`` reads after ``burn_in`` sweeps."""
    smp = GibbsSampler(graph, mode="device", hardware=hardware)
    hv = np.broadcast_to(np.asarray(h, dtype=np.float64), (graph.n_nodes,))
    s = random_state(n_chains, graph.n_nodes, rng)
    J0 = np.zeros(graph.n_edges)
    s, _ = smp.run(s, J0, hv, beta=beta, n_sweeps=burn_in, rng=rng, moments=False)
    _, mom = smp.run(s, J0, hv, beta=beta, n_sweeps=n_sweeps, rng=rng)
    assert mom is not None
    return mom.m1


def fit_logistic_cells(fields: np.ndarray, ones: np.ndarray, n: int, n_iter: int = 30) -> tuple[np.ndarray, np.ndarray]:
    """Per-cell maximum-likelihood fit of ``P(+1 | h) = sigmoid(a h + b)`` to binomial counts.

    Parameters
    ----------
    fields : (K,) field values
    ones : (K, N) number of +1 reads of each cell at each field
    n : reads per cell per field

    Returns
    -------
    a, b : (N,) slope and intercept. Newton-Raphson on the binomial log-likelihood with a tiny ridge
    (1e-6) that keeps cells whose reads are all +1 or all -1 finite.
    """
    x = np.asarray(fields, dtype=np.float64)[:, None]
    y = np.asarray(ones, dtype=np.float64)
    K, N = y.shape
    a = np.ones(N)
    b = np.zeros(N)
    for _ in range(n_iter):
        z = np.clip(a * x + b, -30, 30)
        p = 1.0 / (1.0 + np.exp(-z))
        r = y - n * p
        w = n * p * (1 - p) + 1e-9
        ga, gb = (r * x).sum(0) - 1e-6 * a, r.sum(0) - 1e-6 * b
        haa, hab, hbb = (w * x * x).sum(0) + 1e-6, (w * x).sum(0), w.sum(0) + 1e-6
        det = haa * hbb - hab * hab
        da = (hbb * ga - hab * gb) / det
        db = (haa * gb - hab * ga) / det
        a, b = a + da, b + db
        if np.max(np.abs(da)) < 1e-10 and np.max(np.abs(db)) < 1e-10:
            break
    return a, b


def bounded_offsets(a: np.ndarray, b: np.ndarray, ones: np.ndarray, n: int, f_max: float) -> np.ndarray:
    """Each cell's offset ``h* = -b / a`` (field units) from :func:`fit_logistic_cells`, kept within
    ``+-2 f_max`` (``f_max`` the largest calibration field).

    A cell whose centre lies far outside the field sweep reads all +1 (or all -1) at every field: its fitted
    slope is ~0 and ``-b / a`` meaningless (it can reach 1e17). Such a cell — and any cell whose estimate
    falls beyond ``2 f_max`` or whose slope is not positive — is moved by ``2 f_max`` towards its centre
    (the sign of its mean read), so the next calibration round sees it inside or nearer the sweep.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -b / a
    mean_read = np.asarray(ones, dtype=np.float64).sum(0) / (n * np.shape(ones)[0])
    direction = np.where(mean_read >= 0.5, -1.0, 1.0)
    bad = ~np.isfinite(h) | (a <= 0) | (np.abs(h) > 2.0 * f_max)
    return np.where(bad, direction * 2.0 * f_max, h)


def calibrate(
    graph: Graph,
    hardware: HardwareInstance,
    *,
    beta: float = 1.0,
    fields: np.ndarray | None = None,
    n_sweeps: int = 200,
    n_chains: int = 16,
    rounds: int = 2,
    gain: bool = True,
    gain_max: float | None = None,
    seed: SeedLike = 0,
    progress: ProgressCallback | None = None,
) -> CalibrationResult:
    """Measure every cell's offset from the array and trim it through the trim DAC (module docstring).

    Parameters
    ----------
    graph, hardware : the array and the chip (its current trim is the starting point)
    beta : the inverse temperature the bias network is programmed for
    fields : (K,) field sweep (default ``linspace(-3, 3, 13) / beta``: +-6 in logit units)
    n_sweeps, n_chains : reads per field point = ``n_sweeps x n_chains``
    rounds : measure-and-trim iterations
    gain : also compensate each cell's slope by scaling its programmed input (module docstring, step 5)
    gain_max : largest input gain programmed (None: no limit). A cell that needs more (a slow, wide cell)
        keeps part of its slope error; in exchange an auto-ranging DAC loses at most ``log2(gain_max)`` bits
        to the range (measured on the DTM in docs/array.md, "Calibration"; no limit by default)
    seed : int or Generator

    Returns
    -------
    CalibrationResult
    """
    if rounds < 1:
        raise ConfigError(f"rounds must be >= 1, got {rounds}")
    if gain_max is not None and not (isinstance(gain_max, (int, float)) and np.isfinite(gain_max) and gain_max >= 1.0):
        raise ConfigError(f"gain_max must be a finite number >= 1 or None, got {gain_max!r}")
    rng = as_generator(seed)
    if fields is None:
        fields = np.linspace(-3.0, 3.0, 13) / beta
    f_q = hardware.config.bias_dac.quantize(np.asarray(fields, dtype=np.float64))
    if np.unique(f_q).size < 2:
        raise ConfigError("the bias DAC maps the calibration fields to fewer than 2 distinct values")
    n_reads = n_sweeps * n_chains
    vs_nom = hardware.stats.vs_V
    hw0 = hardware.with_input_gain(None)  # measure with unscaled programming: the raw slopes
    total = rounds * f_q.size + 2
    done = 0
    m_before = measure_marginals(graph, hw0, 0.0, beta=beta, n_sweeps=n_sweeps, n_chains=n_chains, rng=rng)
    done += 1
    hw = hw0
    first_offset = None
    a_sum = np.zeros(graph.n_nodes)
    a_cnt = np.zeros(graph.n_nodes)
    f_max = float(np.max(np.abs(f_q)))
    for rnd in range(rounds):
        ones = np.empty((f_q.size, graph.n_nodes))
        for k, hk in enumerate(f_q):
            m = measure_marginals(graph, hw, hk, beta=beta, n_sweeps=n_sweeps, n_chains=n_chains, rng=rng)
            ones[k] = np.rint((m + 1.0) / 2.0 * n_reads)
            done += 1
            if progress:
                progress(done, total, f"round {rnd + 1} field {hk:+.3f}")
        a, b = fit_logistic_cells(f_q, ones, n_reads)
        h_star = bounded_offsets(a, b, ones, n_reads, f_max)
        with np.errstate(divide="ignore", invalid="ignore"):
            ok = np.isfinite(a) & (a > 0) & (np.abs(-b / a) <= f_max)  # crossing inside the sweep
        a_sum += np.where(ok, a, 0.0)
        a_cnt += ok
        if first_offset is None:
            first_offset = h_star.copy()
        hw = hw.with_trim(hw.trim_V + 2.0 * beta * vs_nom * h_star)
        log.info("calibration round %d: median |offset| %.3g (field units)", rnd + 1, float(np.median(np.abs(h_star))))
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(a_cnt > 0, a_sum / np.maximum(a_cnt, 1), np.nan)
    input_gain = np.where(np.isfinite(a), 2.0 * beta / a, 1.0) if gain else None
    if input_gain is not None and gain_max is not None:
        input_gain = np.minimum(input_gain, gain_max)
    hw = hw.with_input_gain(input_gain)
    m_after = measure_marginals(graph, hw, 0.0, beta=beta, n_sweeps=n_sweeps, n_chains=n_chains, rng=rng)
    if progress:
        progress(total, total, "done")
    res0 = hw0.v0_at_temp_V() - hw0.stats.v0_V - hw0.trim_V
    res1 = hw.v0_at_temp_V() - hw.stats.v0_V - hw.trim_V
    return CalibrationResult(
        hardware=hw, fields=f_q, slope_est=a, input_gain=input_gain, offset_est_field=first_offset, trim_V=hw.trim_V.copy(),
        residual_V_before=res0, residual_V_after=res1, marginals_before=m_before, marginals_after=m_after,
        spread_before=float(np.std(m_before)), spread_after=float(np.std(m_after)), n_reads_per_point=n_reads,
    )


def replace_trim(hw: HardwareInstance, trim_V: np.ndarray) -> HardwareInstance:
    """Set a trim without quantization (for studies of an ideal trim DAC)."""
    return dataclasses.replace(hw, trim_V=np.asarray(trim_V, dtype=np.float64))
