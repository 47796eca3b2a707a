"""Every sweep point sees its own noise realization (issue 3/5: honest uncertainties).

Before, every bias point of an ngspice session replayed the same seeded noise table, so the P(1) errors of
a sweep's points were correlated (Pearson chi2/dof ~ 0.15 in sigmoid fits). Now each point's noise is
seeded from the sweep's ``noise_seed`` and the point's identity, and each point's table is copied over
the one the ``filesource`` reads before its transient. The ngspice tests use the StrongARM comparator
(decisions ~independent, 5 ms of CPU per sample) with short records.
"""

from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from scipy import stats

from pbitkit.circuits.bits import BITS_KEY, decode_bits
from pbitkit.circuits.cell_base import SweepPoint
from pbitkit.circuits.ngspice import SimJob, run
from pbitkit.circuits.noise import point_seed_sequence, session_noise_files
from pbitkit.circuits.registry import get_cell
from pbitkit.circuits.sweep import group_points


def _state(ss: np.random.SeedSequence) -> list[int]:
    return ss.generate_state(8).tolist()


def test_point_seed_depends_on_identity_and_noise_seed_only():
    a = SweepPoint("latch", 0.05)
    assert _state(a.noise_seed_sequence()) == _state(SweepPoint("latch", 0.05).noise_seed_sequence())
    others = [dataclasses.replace(a, bias_V=0.0500001), dataclasses.replace(a, replica=1),
              dataclasses.replace(a, noise_seed=1), dataclasses.replace(a, mc_seed=0),
              dataclasses.replace(a, temp_C=28.0), dataclasses.replace(a, vdd_V=0.085),
              dataclasses.replace(a, params={"t_stop_s": 0.1}), dataclasses.replace(a, corner="ss")]
    states = [_state(p.noise_seed_sequence()) for p in [a, *others]]
    assert len({tuple(s) for s in states}) == len(states)
    with pytest.raises(ValueError, match="noise_seed"):
        point_seed_sequence(-1, "x")
    for bad in ({"replica": -1}, {"noise_seed": -2}):
        with pytest.raises(Exception, match=next(iter(bad))):
            SweepPoint("latch", 0.05, **bad)


def test_session_noise_files_give_each_point_its_own_table():
    seeds = [point_seed_sequence(0, f"p{k}") for k in range(3)]
    files, pre = session_noise_files(["a", "b"], seeds, 1e-9, 200)
    assert sorted(files) == ["noise_a.p1.txt", "noise_a.p2.txt", "noise_a.txt",
                             "noise_b.p1.txt", "noise_b.p2.txt", "noise_b.txt"]
    assert pre == [[], ["shell cp -f noise_a.p1.txt noise_a.txt", "shell cp -f noise_b.p1.txt noise_b.txt"],
                   ["shell cp -f noise_a.p2.txt noise_a.txt", "shell cp -f noise_b.p2.txt noise_b.txt"]]
    # point 2's tables do not depend on the other points of the session
    alone, _ = session_noise_files(["a", "b"], seeds[2:], 1e-9, 200)
    assert alone["noise_a.txt"] == files["noise_a.p2.txt"] and alone["noise_b.txt"] == files["noise_b.p2.txt"]
    # independent streams: sample correlation between two points' tables ~ N(0, 1/n); |r| < 4/sqrt(n)
    x = [np.loadtxt(files[f].splitlines())[:, 1] for f in ("noise_a.txt", "noise_a.p1.txt", "noise_b.p1.txt")]
    for u, v in ((x[0], x[1]), (x[1], x[2])):
        assert abs(np.corrcoef(u, v)[0, 1]) < 4 / np.sqrt(u.size)


def _without_copies(job: SimJob) -> SimJob:
    """The old behaviour: every point of the session replays point 0's table (no copies)."""
    net = "\n".join(ln for ln in job.netlist.splitlines() if not ln.startswith("shell cp")) + "\n"
    return dataclasses.replace(job, netlist=net)


def _bits(row) -> np.ndarray:
    return decode_bits(row[BITS_KEY]).bits


@pytest.mark.ngspice
def test_same_bias_points_get_independent_noise_and_rows_do_not_depend_on_the_session():
    cell = get_cell("strongarm")
    params = {"n_samples": 40}
    pts = [SweepPoint("strongarm", 0.0, params=params, replica=r) for r in (0, 1)]
    pts.append(SweepPoint("strongarm", 0.004, params=params))
    job = cell.jobs(pts)[0]
    alone = cell.jobs([pts[1]])[0]  # replica 1 in a session of its own
    with ThreadPoolExecutor(2) as pool:
        res, res_old, res_alone = pool.map(run, [job, _without_copies(job), alone])
    new, old = cell.rows(job, res), cell.rows(job, res_old)
    # two points at the same bias in one session: different bit sequences
    assert not np.array_equal(_bits(new[0]), _bits(new[1]))
    assert [r["noise_replica"] for r in new] == [0, 1, 0]
    # negative control: replaying one table (the old mechanism) gives identical ones
    np.testing.assert_array_equal(_bits(old[0]), _bits(old[1]))
    # rows do not depend on the session: replica 1 alone gives the bit-identical row
    row_alone = cell.rows(alone, res_alone)[0]
    np.testing.assert_array_equal(_bits(row_alone), _bits(new[1]))
    skip = {"cpu_time_s", BITS_KEY}
    assert {k: v for k, v in row_alone.items() if k not in skip} == {k: v for k, v in new[1].items() if k not in skip}


@pytest.mark.ngspice
def test_p1_scatter_over_independent_points_is_binomial():
    """N points at one bias (replicas), n decisions each: the counts' dispersion statistic
    D = sum (k_i - n p)^2 / (n p (1 - p)) (p the pooled mean) is chi2(N - 1) for independent binomial
    counts. The comparator's decisions are independent (each clock cycle's input-pair noise is drawn afresh
    inside its evaluation window), so D must lie between the 0.05 % and 99.95 % points of chi2(N - 1)."""
    cell = get_cell("strongarm")
    n_pts, n = 25, 32
    pts = [SweepPoint("strongarm", 0.0, params={"n_samples": n}, noise_seed=7, replica=r) for r in range(n_pts)]
    sessions = group_points(pts, min_jobs=2)
    jobs = [cell.jobs(s)[0] for s in sessions]
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(run, jobs))
    rows = [r for j, res in zip(jobs, results) for r in cell.rows(j, res)]
    k = np.array([r["n_ones"] for r in rows], dtype=float)
    assert sorted(r["noise_replica"] for r in rows) == list(range(n_pts))

    def dispersion(counts: np.ndarray) -> float:
        p = counts.mean() / n
        return float(np.sum((counts - n * p) ** 2) / (n * p * (1 - p)))

    lo, hi = stats.chi2.ppf([0.0005, 0.9995], n_pts - 1)
    p_hat = k.mean() / n
    assert 0.3 < p_hat < 0.7, p_hat  # near the centre (nominal V0 ~ 0, sigma_n ~ 0.45 mV)
    assert lo < dispersion(k) < hi, (dispersion(k), lo, hi, k)
    # negative control: the old mechanism gives every replica the same count (previous test), D = 0
    assert not lo < dispersion(np.full(n_pts, k[0])) < hi


def test_rows_cached_before_the_change_are_not_reused():
    """The row cache key hashes the netlist and the noise tables (``SimJob.content_hash``). Before the
    change a session's tables came from ``noise_files(names, as_generator(noise_seed), ...)`` and no
    ``shell cp`` lines existed, so even a one-point session's key changes (old rows are not served; the
    key also holds the cell modules' source hashes, which changed too)."""
    from pbitkit.circuits.cache import job_key
    from pbitkit.circuits.noise import noise_files
    from pbitkit.rng import as_generator

    cell = get_cell("latch")
    pt = SweepPoint("latch", 0.05, params={"t_stop_s": 0.002})
    job = cell.jobs([pt])[0]
    dt = float(job.files["noise_q.txt"].splitlines()[1].split()[0])
    n_steps = len(job.files["noise_q.txt"].splitlines()) - 1
    old_files = noise_files(["q", "qb"], as_generator(pt.noise_seed), dt, n_steps)
    assert old_files.keys() == job.files.keys() and old_files != job.files
    old_job = dataclasses.replace(job, files=old_files)
    assert old_job.content_hash() != job.content_hash()
    # same simulator and code hashes: the key differs through the noise tables alone
    assert job_key(old_job, ngspice_version="39") != job_key(job, ngspice_version="39")
