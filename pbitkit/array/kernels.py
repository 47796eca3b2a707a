"""Compiled sampling kernels (numba, ``cache=True``, ``nogil``). Pure functions over arrays; no I/O.

Layout: states are stored internally as ``(N, C)`` int8 (nodes x chains, chains contiguous), so the
neighbour sum of one node over a block of chains is a contiguous, vectorizable loop. Threads (in
:mod:`pbitkit.array.sampler`) run disjoint blocks of chains on the same arrays (no synchronisation inside
a call), or share the nodes of every colour class and meet at a barrier after each class
(:func:`gibbs_sweeps_nodesplit`, and :func:`gibbs_single` for one chain).

Random numbers: counter-based. Each (sweep, colour) gets a fresh 64-bit key derived from a base key that
the caller draws from its ``numpy.random.Generator``. Lane (node, chain) = (``t``, ``c``), ``t`` = position
of the node in the colour-sorted free-node list: a row key ``splitmix64(key + t * 0x9E3779B97F4A7C15)``
(the SplitMix64 output function, Steele et al., OOPSLA 2014; one per node, shared by its chains), then a
keyed 32-bit hash of ``c`` (Wellons' ``triple32`` mixer, computed in i32 so 16 lanes fit one AVX-512
register) whose top 23 bits give the float32 uniform ``u = (m + 1/2) 2^-23`` (exact in float32).
Results are reproducible bit for bit and independent of the number of threads. Exception for a call with
a single chain (``C = 1``, :func:`gibbs_single`): the uniform of position ``t`` is the keyed 32-bit hash
of ``t`` itself under the (sweep, colour) key (no 64-bit row key), still a deterministic function of the
seed, and the same whether the chain runs on one thread or its colour classes are split between threads.

Update rule of one p-bit (node ``i``, chain ``c``) with local field ``f = sum_j W_ij s_j + h_i``:

    V   = clip(c0_i + g_i f, v_lo, v_hi)          # bias-network output (ideal: c0 = 0, g = 2 beta)
    x   = (V - v0_i) / vs_i                       # cell's own sigmoid offset and slope (ideal: 0, 1)
    p   = 1 / (1 + exp(-x))                       # P(s = +1) of a freshly drawn cell output
    p'  = p + lam_i ([s_old = +1] - p)            # telegraph memory, lam_i = exp(-t_update / tau_i)
    s   = +1 if u < p' else -1          # evaluated as (u - lam_i [s_old=+1]) (1 + exp(-x)) < 1 - lam_i

With ``lam = 0`` this is the Gibbs conditional ``P(s_i=+1 | rest) = sigmoid(2 beta f)`` (docs/theory.md §2);
with ``lam > 0`` it is the exact transition probability of a two-state telegraph process with occupancy
``p`` and correlation time ``tau`` observed after ``t_update`` with the bias held (docs/theory.md §1).

Precision: the Gibbs kernel computes in float32 (16 lanes per AVX-512 vector). ``exp`` is a branch-free
range-reduced polynomial (:func:`_exp_neg32`) because numba has no vector ``exp`` without Intel SVML;
the resulting conditional probabilities differ from exact float64 ones by < 2e-6, and the uniform has
2^-23 resolution (both tested, the decision rule over the whole uniform grid) — biases far below the
Monte-Carlo error of any feasible run (1e-6 needs
~1e12 samples to see). The async kernel computes in float64 (error < 1e-12).
"""

from __future__ import annotations

import numba as nb
import numpy as np
from llvmlite import ir as _ir
from numba.core import types as _nbt
from numba.core import cgutils as _cgutils
from numba.extending import intrinsic as _intrinsic

__all__ = [
    "gibbs_sweeps",
    "async_run",
    "sigmoid32",
    "splitmix64",
    "uniform_from_counter",
    "sigmoid_fast",
    "lane_uniform",
    "gibbs_decide",
    "gibbs_sweeps_nodesplit",
    "single_layout",
    "gibbs_single_record",
    "gibbs_single",
    "store_transposed",
    "all_spins",
]

GOLDEN = np.uint64(0x9E3779B97F4A7C15)
M1 = np.uint64(0xBF58476D1CE4E5B9)
M2 = np.uint64(0x94D049BB133111EB)
S30 = np.uint64(30)
S27 = np.uint64(27)
S31 = np.uint64(31)
S32 = np.uint64(32)
TWO_M23 = np.float32(2.0**-23)
TWO_M32 = 2.0**-32
X_CLIP = 40.0  # sigmoid(-40) = 4e-18 << 2^-32: clipping x here changes no decision


@nb.njit(inline="always", cache=True)
def splitmix64(z):
    """SplitMix64 output function (a bijective 64-bit mixer)."""
    z = (z ^ (z >> S30)) * M1
    z = (z ^ (z >> S27)) * M2
    return z ^ (z >> S31)


@nb.njit(inline="always", cache=True)
def uniform_from_counter(key, counter):
    """Uniform in (0, 1) with 32-bit resolution from a 64-bit key and a lane counter."""
    h = splitmix64(key + np.uint64(counter) * GOLDEN)
    return (np.float64(h >> S32) + 0.5) * TWO_M32


@nb.njit(inline="always", cache=True, error_model="numpy")
def _exp_neg(x):
    """exp(-x) for |x| <= 40 by range reduction r = x / 64, degree-11 Taylor, six squarings.

    Taylor truncation |r|^12/12! < 1e-13 relative for |r| <= 0.625; six squarings multiply the relative
    error by 64: < 1e-11 (plus float64 rounding ~1e-14 per step).
    """
    r = -x * (1.0 / 64.0)
    p = 1.0 + r * (1.0 + r * (0.5 + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (
        1.0 / 720.0 + r * (1.0 / 5040.0 + r * (1.0 / 40320.0 + r * (1.0 / 362880.0 + r * (
            1.0 / 3628800.0 + r * (1.0 / 39916800.0)))))))))))
    p = p * p
    p = p * p
    p = p * p
    p = p * p
    p = p * p
    p = p * p
    return p


@nb.njit(inline="always", cache=True, error_model="numpy")
def sigmoid_fast(x):
    """1 / (1 + exp(-x)) with x clipped to [-40, 40] (vectorizable)."""
    x = min(max(x, -X_CLIP), X_CLIP)
    return 1.0 / (1.0 + _exp_neg(x))


@nb.njit(cache=True)
def _sweep_key(base_key, step):
    return splitmix64(base_key ^ splitmix64(np.uint64(step) * GOLDEN + np.uint64(1)))


#: Lanes (node x chain pairs) processed per chunk; scratch per chunk is LANES * 13 bytes (L1 resident).
LANES = 1024


@nb.njit(inline="always", cache=True, error_model="numpy")
def _exp_neg32(x):
    """exp(-x) in float32 for |x| <= 20: r = -x/32, degree-8 Taylor (truncation < 5e-8), five squarings
    (relative error < ~2e-6 after squaring float32 rounding)."""
    r = np.float32(-x * np.float32(1.0 / 32.0))
    p = np.float32(1.0) + r * (np.float32(1.0) + r * (np.float32(0.5) + r * (np.float32(1.0 / 6.0) + r * (
        np.float32(1.0 / 24.0) + r * (np.float32(1.0 / 120.0) + r * (np.float32(1.0 / 720.0) + r * (
            np.float32(1.0 / 5040.0) + r * np.float32(1.0 / 40320.0))))))))
    p = p * p
    p = p * p
    p = p * p
    p = p * p
    p = p * p
    return p


@nb.njit(inline="always", cache=True, error_model="numpy")
def sigmoid32(x):
    """float32 ``1 / (1 + exp(-x))``, x clipped to [-20, 20] (sigmoid(-20) = 2e-9 < 2^-24: no decision changes)."""
    x = min(max(x, np.float32(-20.0)), np.float32(20.0))
    return np.float32(1.0) / (np.float32(1.0) + _exp_neg32(x))


@_intrinsic
def _hash32(typingctx, ka, kb, c):
    """Keyed 32-bit hash of a chain index, in i32 arithmetic (numba would widen uint32 to 64 bits and
    LLVM would then vectorize 8 lanes per AVX-512 register instead of 16).

    ``x = ka + c * 0x9E3779B9`` (a bijection of ``c``), then Wellons' ``triple32`` mixer (three
    multiply-xorshift rounds, a bijection of 32-bit words with low avalanche bias) with ``kb`` xored in
    after the first round. Returns the top 23 bits.
    """
    sig = _nbt.uint32(_nbt.uint32, _nbt.uint32, _nbt.uint32)

    def codegen(context, builder, signature, args):
        a, b, cc = args
        i32 = _ir.IntType(32)

        def k(v):
            return _ir.Constant(i32, v)

        x = builder.add(a, builder.mul(cc, k(0x9E3779B9)))
        x = builder.xor(x, builder.lshr(x, k(17)))
        x = builder.mul(x, k(0xED5AD4BB))
        x = builder.xor(x, b)
        x = builder.xor(x, builder.lshr(x, k(11)))
        x = builder.mul(x, k(0xAC4C1B51))
        x = builder.xor(x, builder.lshr(x, k(15)))
        x = builder.mul(x, k(0x31848BAB))
        x = builder.xor(x, builder.lshr(x, k(14)))
        return builder.lshr(x, k(9))

    return sig, codegen


MASK32 = np.uint64(0xFFFFFFFF)


@nb.njit(inline="always", cache=True)
def _row_key(key, t):
    """64-bit key of lane row ``t`` (position in the colour-sorted free-node list) within one (sweep, colour)."""
    return splitmix64(key + np.uint64(t) * GOLDEN)


@nb.njit(inline="always", cache=True)
def _u24(rk, c):
    """float32 uniform ``(m + 1/2) 2^-23``, ``m`` = top 23 bits of the keyed 32-bit hash of chain ``c``.

    ``m + 1/2`` needs 24 significant bits, so every step is exact in float32 (with 24 bits, ``m 2^-24 +
    2^-25`` would round to even above 1/2 and could reach 1.0)."""
    m = _hash32(np.uint32(rk & MASK32), np.uint32(rk >> S32), np.uint32(c))
    return (np.float32(np.int32(m)) + np.float32(0.5)) * TWO_M23


@nb.njit(cache=True)
def lane_uniform(key, t, c):
    """The Gibbs kernel's uniform for lane (row ``t``, chain ``c``) under the (sweep, colour) key ``key``."""
    return _u24(_row_key(key, t), c)


@nb.njit(inline="always", cache=True, error_model="numpy")
def _decide(u, x, a, b):
    """``True`` (s = +1) iff ``u < a + b sigmoid(x)``, evaluated without a division as
    ``(u - a)(1 + exp(-x)) < b`` (``1 + exp(-x) > 0``); ``x`` clipped to [-20, 20] like :func:`sigmoid32`.
    Ideal Gibbs: ``a = 0, b = 1``; telegraph memory: ``a = lam [s_old = +1], b = 1 - lam``."""
    x = min(max(x, np.float32(-20.0)), np.float32(20.0))
    return (u - a) * (np.float32(1.0) + _exp_neg32(x)) < b


@nb.njit(cache=True, error_model="numpy")
def gibbs_decide(u, x, a, b):
    """Compiled :func:`_decide` for tests: the Gibbs kernel's decision for one lane (float32 inputs)."""
    return _decide(np.float32(u), np.float32(x), np.float32(a), np.float32(b))


@nb.njit(inline="always", cache=True, error_model="numpy")
def _update_chunk(S, free_nodes, t0, t1, c_lo, c_hi, nbr, W, H, c0, g, v0, ivs, lam, v_lo, v_hi, key, has_lam, plain,
                  F, A, B, X):
    """Update free nodes ``free_nodes[t0:t1]`` in chains ``c_lo:c_hi`` (module docstring has the rule).

    Two passes: (1) local fields into ``F`` for every node of the chunk (contiguous over chains; with one
    chain also the bias/cell transform); (2) bias/cell transform, vectorized sigmoid, telegraph mix and
    counter-based uniform, written
    straight into the state (nodes of one colour class are never neighbours, so pass 1 of the chunk has
    read everything it needs). With one chain pass 2 runs flat over the nodes (``A``, ``B`` hold the
    telegraph terms, ``X`` the decisions) so it still vectorizes. The RNG counter of
    a lane is ``t * C + c`` (``t`` = position in ``free_nodes``, ``c`` = global chain), so the bits do not
    depend on how the chains are split between threads.
    """
    C = S.shape[1]
    Cw = c_hi - c_lo
    D = nbr.shape[1]
    n = t1 - t0
    per_chain_h = H.shape[1] > 1
    if Cw == 1:  # one chain: scalar field pass; pass 2 then vectorizes over nodes
        c = c_lo
        for tt in range(n):
            i = free_nodes[t0 + tt]
            x = np.float32(H[i, c]) if per_chain_h else np.float32(H[i, 0])
            for d in range(D):
                x += W[i, d] * S[nbr[i, d], c]
            F[tt] = (min(max(c0[i] + g[i] * x, v_lo), v_hi) - v0[i]) * ivs[i]
            if has_lam:
                # branch-free lam [s_old = +1] (a random spin is an unpredictable branch): (s + 1) / 2 in {0, 1}
                A[tt] = lam[i] * (np.float32(0.5) * (np.float32(S[i, c]) + np.float32(1.0)))
                B[tt] = np.float32(1.0) - lam[i]
    else:
        D4 = D - D % 4
        for tt in range(n):
            i = free_nodes[t0 + tt]
            f = F[tt * Cw : (tt + 1) * Cw]
            if per_chain_h:
                hrow = H[i, c_lo:c_hi]
                for c in range(Cw):
                    f[c] = hrow[c]
            else:
                hi0 = np.float32(H[i, 0])
                for c in range(Cw):
                    f[c] = hi0
            # four neighbours per pass over the chains: a quarter of the loop overhead and scratch traffic
            for d in range(0, D4, 4):
                w0 = W[i, d]
                w1 = W[i, d + 1]
                w2 = W[i, d + 2]
                w3 = W[i, d + 3]
                r0 = S[nbr[i, d], c_lo:c_hi]
                r1 = S[nbr[i, d + 1], c_lo:c_hi]
                r2 = S[nbr[i, d + 2], c_lo:c_hi]
                r3 = S[nbr[i, d + 3], c_lo:c_hi]
                for c in range(Cw):
                    f[c] += (w0 * r0[c] + w1 * r1[c]) + (w2 * r2[c] + w3 * r3[c])
            for d in range(D4, D):
                w = W[i, d]
                srow = S[nbr[i, d], c_lo:c_hi]
                for c in range(Cw):
                    f[c] += w * srow[c]
    if Cw == 1:  # single chain: one flat vectorized pass over the nodes, then scatter
        one = np.float32(1.0)
        zero = np.float32(0.0)
        for q in range(n):
            # one chain in all (C = 1): the (sweep, colour) key hashes the row position directly (32-bit
            # hash only, vectorizes); a one-chain block of a wider batch keeps the per-row key
            u = _u24(key, t0 + q) if C == 1 else _u24(_row_key(key, t0 + q), c_lo)
            if has_lam:
                X[q] = np.int8(1) if _decide(u, F[q], A[q], B[q]) else np.int8(-1)
            else:
                X[q] = np.int8(1) if _decide(u, F[q], zero, one) else np.int8(-1)
        for tt in range(n):
            S[free_nodes[t0 + tt], c_lo] = X[tt]
        return
    for tt in range(n):  # several chains: vectorize over chains, write the node's row directly
        i = free_nodes[t0 + tt]
        row = S[i, c_lo:c_hi]
        f = F[tt * Cw : (tt + 1) * Cw]
        rk = _row_key(key, t0 + tt)
        ci = c0[i]
        gi = g[i]
        v0i = v0[i]
        ivsi = ivs[i]
        if has_lam:
            li = lam[i]
            bi = np.float32(1.0) - li
            for c in range(Cw):
                x = (min(max(ci + gi * f[c], v_lo), v_hi) - v0i) * ivsi
                a = li if row[c] > 0 else np.float32(0.0)
                row[c] = np.int8(1) if _decide(_u24(rk, c_lo + c), x, a, bi) else np.int8(-1)
        elif plain:  # ideal: c0 = v0 = 0, ivs = 1, no rails, so x = g f exactly (same bits, fewer operations)
            one = np.float32(1.0)
            zero = np.float32(0.0)
            for c in range(Cw):
                row[c] = np.int8(1) if _decide(_u24(rk, c_lo + c), gi * f[c], zero, one) else np.int8(-1)
        else:
            one = np.float32(1.0)
            zero = np.float32(0.0)
            for c in range(Cw):
                x = (min(max(ci + gi * f[c], v_lo), v_hi) - v0i) * ivsi
                row[c] = np.int8(1) if _decide(_u24(rk, c_lo + c), x, zero, one) else np.int8(-1)


@nb.njit(inline="always", cache=True, error_model="numpy")
def _accumulate(S, edges, c_lo, c_hi, acc_m1, acc_m2, col):
    """Add the current states of chains ``c_lo:c_hi`` to the moment sums: ``acc_m1[i, c] += s_i``;
    ``acc_m2[e, c] += s_i s_j`` per chain when ``col < 0``, else summed over the chains into ``acc_m2[e, col]``."""
    N = S.shape[0]
    for i in range(N):
        for c in range(c_lo, c_hi):
            acc_m1[i, c] += S[i, c]
    for e in range(edges.shape[0]):
        a = edges[e, 0]
        b = edges[e, 1]
        if col < 0:
            for c in range(c_lo, c_hi):
                acc_m2[e, c] += S[a, c] * S[b, c]
        else:
            tot = 0
            for c in range(c_lo, c_hi):
                tot += S[a, c] * S[b, c]
            acc_m2[e, col] += tot


_M32 = np.uint64(0x00000000FFFFFFFF)
_M16 = np.uint64(0x0000FFFF0000FFFF)
_M8 = np.uint64(0x00FF00FF00FF00FF)
_S32 = np.uint64(32)
_S16 = np.uint64(16)
_S8 = np.uint64(8)
_TB = 8  # blocks per tile side


@nb.njit(cache=True, nogil=True)
def _transpose_8x8(Sv, Ov, nb_i, nb_c):
    """Transpose 8 x 8 byte blocks held as uint64 words (``Sv`` = ``S`` viewed ``(N, C/8)``, ``Ov`` =
    ``out`` viewed ``(C, N/8)``): three rounds of masked swaps (4-, 2-, 1-byte sub-blocks) per block."""
    for ti in range(0, nb_i, _TB):  # tiles of _TB x _TB blocks: few pages and cache lines in flight
        for tc in range(0, nb_c, _TB):
            for bi in range(ti, min(ti + _TB, nb_i)):
                for bc in range(tc, min(tc + _TB, nb_c)):
                    _block_8x8(Sv, Ov, bi, bc)


@nb.njit(inline="always", cache=True)
def _block_8x8(Sv, Ov, bi, bc):
    """Transpose the 8 x 8 byte block (rows ``8 bi..``, columns ``8 bc..``) in uint64 registers."""
    i0 = bi * 8
    a0 = Sv[i0, bc]
    a1 = Sv[i0 + 1, bc]
    a2 = Sv[i0 + 2, bc]
    a3 = Sv[i0 + 3, bc]
    a4 = Sv[i0 + 4, bc]
    a5 = Sv[i0 + 5, bc]
    a6 = Sv[i0 + 6, bc]
    a7 = Sv[i0 + 7, bc]
    t = ((a0 >> _S32) ^ a4) & _M32
    a4 ^= t
    a0 ^= t << _S32
    t = ((a1 >> _S32) ^ a5) & _M32
    a5 ^= t
    a1 ^= t << _S32
    t = ((a2 >> _S32) ^ a6) & _M32
    a6 ^= t
    a2 ^= t << _S32
    t = ((a3 >> _S32) ^ a7) & _M32
    a7 ^= t
    a3 ^= t << _S32
    t = ((a0 >> _S16) ^ a2) & _M16
    a2 ^= t
    a0 ^= t << _S16
    t = ((a1 >> _S16) ^ a3) & _M16
    a3 ^= t
    a1 ^= t << _S16
    t = ((a4 >> _S16) ^ a6) & _M16
    a6 ^= t
    a4 ^= t << _S16
    t = ((a5 >> _S16) ^ a7) & _M16
    a7 ^= t
    a5 ^= t << _S16
    t = ((a0 >> _S8) ^ a1) & _M8
    a1 ^= t
    a0 ^= t << _S8
    t = ((a2 >> _S8) ^ a3) & _M8
    a3 ^= t
    a2 ^= t << _S8
    t = ((a4 >> _S8) ^ a5) & _M8
    a5 ^= t
    a4 ^= t << _S8
    t = ((a6 >> _S8) ^ a7) & _M8
    a7 ^= t
    a6 ^= t << _S8
    c0 = bc * 8
    Ov[c0, bi] = a0
    Ov[c0 + 1, bi] = a1
    Ov[c0 + 2, bi] = a2
    Ov[c0 + 3, bi] = a3
    Ov[c0 + 4, bi] = a4
    Ov[c0 + 5, bi] = a5
    Ov[c0 + 6, bi] = a6
    Ov[c0 + 7, bi] = a7


@nb.njit(cache=True, nogil=True)
def _transpose_tiles(S, out, i_start, c_start):
    """``out[c, i] = S[i, c]`` for ``i >= i_start`` or ``c >= c_start`` (the edges the 8 x 8 blocks miss)."""
    N, C = S.shape
    for i in range(N):
        c_lo = 0 if i >= i_start else c_start
        for c in range(c_lo, C):
            out[c, i] = S[i, c]


def store_transposed(S: np.ndarray, out: np.ndarray) -> None:
    """``out[c, i] = S[i, c]`` for C-contiguous 2-D int8 arrays (``S (N, C)``, ``out (C, N)``), e.g. the
    internal state into a sample slot: 8 x 8 byte blocks transposed in uint64 registers (numpy's strided
    int8 copy moves about one byte per nanosecond), the edges element by element."""
    N, C = S.shape
    if out.shape != (C, N) or not (S.flags.c_contiguous and out.flags.c_contiguous):
        raise ValueError("store_transposed needs C-contiguous S (N, C) and out (C, N)")
    n8, c8 = N // 8 * 8, C // 8 * 8
    if N % 8 == 0 and C % 8 == 0:
        _transpose_8x8(S.view(np.uint64), out.view(np.uint64), N // 8, C // 8)
        return
    if n8 and c8:  # blocks on the (n8, c8) corner through contiguous copies of it
        Sb = np.ascontiguousarray(S[:n8, :c8])
        Ob = np.empty((c8, n8), dtype=np.int8)
        _transpose_8x8(Sb.view(np.uint64), Ob.view(np.uint64), n8 // 8, c8 // 8)
        out[:c8, :n8] = Ob
    _transpose_tiles(S, out, n8, c8)


@nb.njit(cache=True, nogil=True)
def all_spins(a):
    """Whether every entry of the 1-D int8 array ``a`` is -1 or +1 (one pass, no temporaries)."""
    ok = True
    for k in range(a.shape[0]):
        v = a[k]
        ok &= (v == 1) | (v == -1)
    return ok


@nb.njit(cache=True, nogil=True)
def single_layout(nbr, W, H, free_nodes, edges, c0, g, v0, ivs, lam):
    """Position-ordered tables of the single-chain kernel (built once per programmed sampler).

    The single-chain kernel keeps the state in POSITION order: position ``t < M`` is the ``t``-th free node
    of the colour-sorted list ``free_nodes`` (each colour class a contiguous run), the clamped nodes follow
    at ``M .. N-1``. Returns ``perm (N,)`` uint32 node of each position, ``NB (D, M)`` uint32 positions of
    the neighbours (unsigned: no negative-index wraparound select in the gather; padding points at the
    position itself with weight 0), ``WW (D, M)`` float32 couplings (slot-major), ``HH (M,)`` float32 fields
    (``H[:, 0]``), ``PP (5, M)`` float32 per-cell constants ``c0, g, v0, ivs, lam`` and ``EP (E, 2)`` uint32
    positions of the edges' end nodes (moments).
    """
    N, D = nbr.shape
    M = free_nodes.shape[0]
    E = edges.shape[0]
    perm = np.empty(N, dtype=np.uint32)
    pos = np.full(N, -1, dtype=np.int64)
    for t in range(M):
        perm[t] = free_nodes[t]
        pos[free_nodes[t]] = t
    t = M
    for i in range(N):
        if pos[i] < 0:
            perm[t] = i
            pos[i] = t
            t += 1
    NB = np.empty((D, M), dtype=np.uint32)
    WW = np.empty((D, M), dtype=np.float32)
    HH = np.empty(M, dtype=np.float32)
    PP = np.empty((5, M), dtype=np.float32)
    for t in range(M):
        i = free_nodes[t]
        for d in range(D):
            NB[d, t] = pos[nbr[i, d]]
            WW[d, t] = W[i, d]
        HH[t] = H[i, 0]
        PP[0, t] = c0[i]
        PP[1, t] = g[i]
        PP[2, t] = v0[i]
        PP[3, t] = ivs[i]
        PP[4, t] = lam[i]
    EP = np.empty((E, 2), dtype=np.uint32)
    for e in range(E):
        EP[e, 0] = pos[edges[e, 0]]
        EP[e, 1] = pos[edges[e, 1]]
    return perm, NB, WW, HH, PP, EP


@nb.njit(cache=True, nogil=True, error_model="numpy", fastmath={"contract", "arcp", "afn", "reassoc"})
def gibbs_single(
    Sp,  # (N,) float32 state +-1 of the one chain in position order (single_layout), updated in place
    NB, WW, HH, PP,  # position-ordered tables from single_layout
    free_ptr,  # (K+1,) int64 colour classes of free positions
    v_lo, v_hi,  # float32 bias-network rails
    n_sweeps, base_key, step0,
    perm, EP, acc_m1, acc_m2,  # moments: node of each position, edge end positions; acc_m1 (N, 1), acc_m2 (E, >= 1)
    do_moments, has_lam, plain,
    part,  # int64 this thread's part, 0 <= part < n_parts
    n_parts,  # int64 threads sharing the chain (1: serial, no barrier)
    bar,  # (>= 1,) int64 barrier counter shared by the parts, zero at the start of the call
):
    """``n_sweeps`` chromatic sweeps of ONE chain; with ``n_parts > 1`` the positions of every colour
    class are split between ``n_parts`` threads that wait for each other after each class.

    Per chunk of (a part of) a class: (1) fields ``f_t = h_t + sum_d W_td s_nbr(t,d)``, four neighbour
    slots per pass over the chunk (independent lanes, no FMA latency chain); (2) bias/cell transform,
    uniform, decision and the new state, flat over positions (vectorizes: the uniform is the keyed 32-bit
    hash of the position, ``u = _u24(key, t)`` under the (sweep, colour) key, and the state is in position
    order, so the write is contiguous). Every position's arithmetic is the same whatever the split, so the
    bits do not depend on ``n_parts``. Nodes of one class are never neighbours, so the parts of a class
    never read what another part writes; the barrier orders one class's writes before the next class's
    reads. Moments (column 0): part ``p`` adds nodes ``[p N / P, (p+1) N / P)`` and edges
    ``[p E / P, ...)`` after each sweep (then one more barrier).
    """
    N = Sp.shape[0]
    D = NB.shape[0]
    K = free_ptr.shape[0] - 1
    E = EP.shape[0]
    D4 = D - D % 4
    F = np.empty(LANES, dtype=np.float32)
    one = np.float32(1.0)
    zero = np.float32(0.0)
    half = np.float32(0.5)
    n_lo = (part * N) // n_parts
    n_hi = ((part + 1) * N) // n_parts
    e_lo = (part * E) // n_parts
    e_hi = ((part + 1) * E) // n_parts
    gen = 0
    for sweep in range(n_sweeps):
        for k in range(K):
            key = _sweep_key(base_key, step0 + sweep * K + k)
            nk = free_ptr[k + 1] - free_ptr[k]
            a_k = free_ptr[k] + (part * nk) // n_parts
            b_k = free_ptr[k] + ((part + 1) * nk) // n_parts
            for t0 in range(a_k, b_k, LANES):
                t1 = min(t0 + LANES, b_k)
                n = t1 - t0
                for q in range(n):
                    F[q] = HH[t0 + q]
                for d in range(0, D4, 4):
                    n0 = NB[d, t0:t1]
                    w0 = WW[d, t0:t1]
                    n1 = NB[d + 1, t0:t1]
                    w1 = WW[d + 1, t0:t1]
                    n2 = NB[d + 2, t0:t1]
                    w2 = WW[d + 2, t0:t1]
                    n3 = NB[d + 3, t0:t1]
                    w3 = WW[d + 3, t0:t1]
                    for q in range(n):
                        F[q] += (w0[q] * Sp[n0[q]] + w1[q] * Sp[n1[q]]) + (w2[q] * Sp[n2[q]] + w3[q] * Sp[n3[q]])
                for d in range(D4, D):
                    n0 = NB[d, t0:t1]
                    w0 = WW[d, t0:t1]
                    for q in range(n):
                        F[q] += w0[q] * Sp[n0[q]]
                out = Sp[t0:t1]
                if has_lam:
                    for q in range(n):
                        t = t0 + q
                        x = (min(max(PP[0, t] + PP[1, t] * F[q], v_lo), v_hi) - PP[2, t]) * PP[3, t]
                        a = PP[4, t] * (half * (out[q] + one))
                        out[q] = one if _decide(_u24(key, t), x, a, one - PP[4, t]) else -one
                elif plain:
                    for q in range(n):
                        t = t0 + q
                        out[q] = one if _decide(_u24(key, t), PP[1, t] * F[q], zero, one) else -one
                else:
                    for q in range(n):
                        t = t0 + q
                        x = (min(max(PP[0, t] + PP[1, t] * F[q], v_lo), v_hi) - PP[2, t]) * PP[3, t]
                        out[q] = one if _decide(_u24(key, t), x, zero, one) else -one
            if n_parts > 1:
                _barrier(bar, n_parts, gen)
                gen += 1
        if do_moments:
            for t in range(n_lo, n_hi):
                acc_m1[perm[t], 0] += np.int64(Sp[t])
            for e in range(e_lo, e_hi):
                acc_m2[e, 0] += np.int64(Sp[EP[e, 0]] * Sp[EP[e, 1]])
            if n_parts > 1:
                _barrier(bar, n_parts, gen)  # nobody updates the next sweep's states before all have read
                gen += 1


@nb.njit(cache=True, nogil=True)
def gibbs_single_record(Sp, NB, WW, HH, PP, free_ptr, v_lo, v_hi, thin, keys, step0, perm, EP, has_lam, plain, out):
    """``out.shape[0]`` samples of one chain on one thread, ``thin`` sweeps apart: for sample ``k``,
    :func:`gibbs_single` with base key ``keys[k]`` (exactly what successive calls with one key each do),
    then the state into ``out[k, 0, :]`` (node order). Saves the per-sample call overhead (~tens of µs,
    as long as a sweep of a few thousand nodes)."""
    K = free_ptr.shape[0] - 1
    z = np.zeros((1, 1), dtype=np.int64)
    bar = np.zeros(1, dtype=np.int64)
    for k in range(out.shape[0]):
        gibbs_single(Sp, NB, WW, HH, PP, free_ptr, v_lo, v_hi, thin, keys[k], step0 + k * thin * K, perm, EP, z, z,
                     False, has_lam, plain, np.int64(0), np.int64(1), bar)
        for t in range(perm.shape[0]):
            out[k, 0, perm[t]] = np.int8(Sp[t])


@nb.njit(cache=True, nogil=True, error_model="numpy", fastmath={"contract", "arcp", "afn", "reassoc"})
def gibbs_sweeps(
    S,  # (N, C) int8 state of all chains, updated in place (this call touches chains c_lo:c_hi only)
    nbr,  # (N, D) int32 neighbour table (padding -> self)
    W,  # (N, D) float32 slot couplings (padding -> 0)
    H,  # (N, Ch) float32 fields, Ch in {1, C}
    free_ptr,  # (K+1,) int64 colour classes of FREE (unclamped) nodes
    free_nodes,  # (M,) int32
    c0,  # (N,) float32 bias-network centre (+ trim) in volts (ideal: 0)
    g,  # (N,) float32 bias-network gain V per unit field (ideal: 2 beta)
    v0,  # (N,) float32 cell sigmoid offset (ideal: 0)
    ivs,  # (N,) float32 1 / cell sigmoid slope (ideal: 1)
    lam,  # (N,) float32 telegraph memory exp(-t_update / tau) (ideal: 0)
    v_lo,  # float32 bias-network lower rail (ideal: -inf)
    v_hi,  # float32 upper rail (ideal: +inf)
    n_sweeps,  # int
    base_key,  # uint64
    step0,  # int64 index of the first (sweep * K + colour) step: continues a stream across calls
    c_lo,  # int64 first chain of this call's block
    c_hi,  # int64 end of this call's block
    edges,  # (E, 2) int32, used when accumulating moments
    acc_m1,  # (N, C) int64 sum over sweeps of s (if do_moments)
    acc_m2,  # (E, C) per chain (col < 0) or (E, n_blocks) int64 sums of s_i s_j
    do_moments,  # bool
    col,  # int64 column of acc_m2 for summed edge moments, or -1 for per-chain
):
    """``n_sweeps`` chromatic sweeps of chains ``c_lo:c_hi`` (serial; releases the GIL, so callers run
    disjoint blocks of chains in threads on the same arrays). See the module docstring for the rule."""
    N, C = S.shape
    K = free_ptr.shape[0] - 1
    has_lam = False
    plain = v_lo == -np.inf and v_hi == np.inf
    for i in range(N):
        if lam[i] != 0.0:
            has_lam = True
        if c0[i] != 0.0 or v0[i] != 0.0 or ivs[i] != 1.0:
            plain = False
    if C == 1:
        perm, NB, WW, HH, PP, EP = single_layout(nbr, W, H, free_nodes, edges, c0, g, v0, ivs, lam)
        Sp = np.empty(N, dtype=np.float32)
        for t in range(N):
            Sp[t] = np.float32(S[perm[t], 0])
        gibbs_single(Sp, NB, WW, HH, PP, free_ptr, v_lo, v_hi, n_sweeps, base_key, step0, perm, EP, acc_m1, acc_m2,
                     do_moments, has_lam, plain, np.int64(0), np.int64(1), np.zeros(1, np.int64))
        for t in range(N):
            S[perm[t], 0] = np.int8(Sp[t])
        return
    Cw = c_hi - c_lo
    chunk = max(1, LANES // Cw)
    cap = chunk * Cw
    F = np.empty(cap, dtype=np.float32)
    A = np.empty(cap, dtype=np.float32)
    B = np.empty(cap, dtype=np.float32)
    X = np.empty(cap, dtype=np.int8)
    for sweep in range(n_sweeps):
        for k in range(K):
            key = _sweep_key(base_key, step0 + sweep * K + k)
            for t0 in range(free_ptr[k], free_ptr[k + 1], chunk):
                t1 = min(t0 + chunk, free_ptr[k + 1])
                _update_chunk(S, free_nodes, t0, t1, c_lo, c_hi, nbr, W, H, c0, g, v0, ivs, lam, v_lo, v_hi,
                              key, has_lam, plain, F, A, B, X)
        if do_moments:
            _accumulate(S, edges, c_lo, c_hi, acc_m1, acc_m2, col)


@_intrinsic
def _atomic_add(typingctx, arr, idx, val):
    """``arr[idx] += val`` as one sequentially consistent atomic read-modify-write; returns the old value
    (``arr``: 1-D C-contiguous int64)."""
    sig = _nbt.int64(arr, _nbt.intp, _nbt.int64)

    def codegen(context, builder, signature, args):
        a = context.make_array(signature.args[0])(context, builder, args[0])
        ptr = builder.gep(a.data, [args[1]])
        return builder.atomic_rmw("add", ptr, args[2], "seq_cst")

    return sig, codegen


@_intrinsic
def _atomic_load(typingctx, arr, idx):
    """``arr[idx]`` as an acquire load (never hoisted out of a spin loop)."""
    sig = _nbt.int64(arr, _nbt.intp)

    def codegen(context, builder, signature, args):
        a = context.make_array(signature.args[0])(context, builder, args[0])
        ptr = builder.gep(a.data, [args[1]])
        return builder.load_atomic(ptr, "acquire", 8)

    return sig, codegen


@_intrinsic
def _sched_yield(typingctx):
    """POSIX ``sched_yield()``: give the core to another runnable thread (resolved by the JIT linker)."""
    sig = _nbt.int32()

    def codegen(context, builder, signature, args):
        fnty = _ir.FunctionType(_ir.IntType(32), [])
        fn = _cgutils.get_or_insert_function(builder.module, fnty, "sched_yield")
        return builder.call(fn, [])

    return sig, codegen


@_intrinsic
def _usleep(typingctx, us):
    """POSIX ``usleep(us)``: sleep, freeing the core (resolved by the JIT linker)."""
    sig = _nbt.int32(_nbt.uint32)

    def codegen(context, builder, signature, args):
        fnty = _ir.FunctionType(_ir.IntType(32), [_ir.IntType(32)])
        fn = _cgutils.get_or_insert_function(builder.module, fnty, "usleep")
        return builder.call(fn, [args[0]])

    return sig, codegen


#: Barrier waiting: poll the counter ``SPIN`` times (a partner that is running arrives within
#: microseconds), then ``sched_yield`` ``YIELDS`` times, then sleep ``SLEEP_US`` per poll, so that on a
#: loaded machine a waiting thread frees its core for a preempted partner instead of burning it.
SPIN = 2000
YIELDS = 8
SLEEP_US = 20


@nb.njit(inline="always", cache=True)
def _barrier(bar, n_parts, gen):
    """Wait until all ``n_parts`` threads have arrived at barrier number ``gen`` (0, 1, 2, ...).

    ``bar[0]`` counts arrivals and only grows: barrier ``gen`` is passed when it reaches
    ``n_parts (gen + 1)``. Waiting: ``SPIN`` polls, then ``sched_yield``, then short sleeps. The
    sequentially consistent atomic add and the acquire load order the state writes of one colour class
    before the next class reads them.
    """
    _atomic_add(bar, 0, 1)
    target = n_parts * (gen + 1)
    k = 0
    n_yield = 0
    while _atomic_load(bar, 0) < target:
        k += 1
        if k >= SPIN:
            k = 0
            if n_yield < YIELDS:
                _sched_yield()
                n_yield += 1
            else:
                _usleep(np.uint32(SLEEP_US))


@nb.njit(cache=True, nogil=True, error_model="numpy", fastmath={"contract", "arcp", "afn", "reassoc"})
def gibbs_sweeps_nodesplit(
    S, nbr, W, H, free_ptr, free_nodes, c0, g, v0, ivs, lam, v_lo, v_hi, n_sweeps, base_key, step0,
    edges, acc_m1, acc_m2, do_moments,
    part,  # int64 this thread's part, 0 <= part < n_parts
    n_parts,  # int64 number of threads sharing the call
    bar,  # (>= 1,) int64 barrier counter shared by the parts, zero at the start of the call
):
    """``n_sweeps`` chromatic sweeps of ALL chains, the nodes of each colour class split between
    ``n_parts`` threads that wait for each other after every class (one barrier per colour class, one
    more per sweep when accumulating moments). Same arguments as :func:`gibbs_sweeps` (without the chain
    block), same lanes and random counters, so the result is bit-identical to it.

    Worth it when there are few chains per thread (the per-node overhead of short chain rows dominates the
    chain-split kernel) and each class has many nodes per thread (the barrier cost is amortized).
    Moments: part ``p`` adds nodes ``[p N / P, (p+1) N / P)`` to ``acc_m1`` and edges ``[p E / P, ...)``
    summed over chains into ``acc_m2[:, 0]``.
    """
    N, C = S.shape
    K = free_ptr.shape[0] - 1
    E = edges.shape[0]
    has_lam = False
    plain = v_lo == -np.inf and v_hi == np.inf
    for i in range(N):
        if lam[i] != 0.0:
            has_lam = True
        if c0[i] != 0.0 or v0[i] != 0.0 or ivs[i] != 1.0:
            plain = False
    chunk = max(1, LANES // C)
    cap = chunk * C
    F = np.empty(cap, dtype=np.float32)
    A = np.empty(cap, dtype=np.float32)
    B = np.empty(cap, dtype=np.float32)
    X = np.empty(cap, dtype=np.int8)
    n_lo = (part * N) // n_parts
    n_hi = ((part + 1) * N) // n_parts
    e_lo = (part * E) // n_parts
    e_hi = ((part + 1) * E) // n_parts
    gen = 0
    for sweep in range(n_sweeps):
        for k in range(K):
            key = _sweep_key(base_key, step0 + sweep * K + k)
            nk = free_ptr[k + 1] - free_ptr[k]
            a = free_ptr[k] + (part * nk) // n_parts
            b = free_ptr[k] + ((part + 1) * nk) // n_parts
            for t0 in range(a, b, chunk):
                t1 = min(t0 + chunk, b)
                _update_chunk(S, free_nodes, t0, t1, 0, C, nbr, W, H, c0, g, v0, ivs, lam, v_lo, v_hi,
                              key, has_lam, plain, F, A, B, X)
            _barrier(bar, n_parts, gen)
            gen += 1
        if do_moments:
            for i in range(n_lo, n_hi):
                for c in range(C):
                    acc_m1[i, c] += S[i, c]
            for e in range(e_lo, e_hi):
                u = edges[e, 0]
                v = edges[e, 1]
                tot = 0
                for c in range(C):
                    tot += S[u, c] * S[v, c]
                acc_m2[e, 0] += tot
            _barrier(bar, n_parts, gen)  # nobody updates the next sweep's states before all have read
            gen += 1


@nb.njit(cache=True, nogil=True, error_model="numpy")
def async_run(
    S,  # (N, C) int8 state, updated in place
    nbr, W, H, free_nodes,
    clock,  # (N,) float64 clock rate Lambda_i of each cell (uniformization bound; 0 for clamped cells)
    law,  # 0: redraw law (r_up = p Lambda, r_down = (1 - p) Lambda); 1: exponential law (below)
    r0, ku, kd,  # (N,) float64 exponential law r_up = r0 exp(ku x), r_down = r0 exp(-kd x), x = cell logit
    c0, g, v0, ivs, v_lo, v_hi,
    t_grid,  # (T,) float64 increasing sample times (s) relative to the start
    out,  # (T, C, N) int8 recorded states
    base_key,  # uint64
    chain_offset,  # int64 global index of chain 0 (streams per chain)
):
    """Exact event-driven continuous-time dynamics (uniformization), one event loop per chain.

    Each free cell ``i`` carries a Poisson clock of rate ``Lambda_i``; when it ticks, the cell's current
    logit ``x_i`` (device sigmoid of its present bias) gives its flip rates and it flips with probability
    ``r_up / Lambda_i`` (if at -1) or ``r_down / Lambda_i`` (if at +1). With ``Lambda_i >= max(r_up, r_down)``
    over every reachable bias this is an exact simulation of the telegraph process with bias-dependent
    rates (uniformization; Jensen 1953). Law 0 (``Lambda_i = 1/tau_i``, ``r_up = p Lambda_i``) is "redraw
    the output from its conditional at rate 1/tau_i". Law 1 is the DeviceModel card's exponential rate
    model. Both satisfy ``r_up / r_down = exp(x_i)``: the stationary distribution is the cell's sigmoid.
    The superposition of the clocks is simulated exactly (Gillespie): next tick after ``Exp(sum Lambda)``,
    the cell chosen with probability ``Lambda_i / sum Lambda``.
    """
    N, C = S.shape
    D = nbr.shape[1]
    M = free_nodes.shape[0]
    T = t_grid.shape[0]
    Ch = H.shape[1]
    cum = np.empty(M, dtype=np.float64)
    tot = 0.0
    for m in range(M):
        tot += clock[free_nodes[m]]
        cum[m] = tot
    for c in range(C):
        ckey = splitmix64(base_key ^ splitmix64(np.uint64(chain_offset + c) * GOLDEN + np.uint64(7)))
        t = 0.0
        ev = np.uint64(0)
        k = 0
        while k < T:
            u1 = uniform_from_counter(ckey, ev)
            ev += np.uint64(1)
            t_next = t - np.log(u1) / tot if M > 0 else np.inf
            while k < T and t_grid[k] < t_next:
                for n in range(N):
                    out[k, c, n] = S[n, c]
                k += 1
            if k >= T:
                break
            t = t_next
            u2 = uniform_from_counter(ckey, ev) * tot
            ev += np.uint64(1)
            lo = 0
            hi = M - 1
            while lo < hi:  # first m with cum[m] > u2
                mid = (lo + hi) // 2
                if cum[mid] > u2:
                    hi = mid
                else:
                    lo = mid + 1
            i = free_nodes[lo]
            hc = H[i, 0] if Ch == 1 else H[i, c]
            f = hc
            for d in range(D):
                f += W[i, d] * S[nbr[i, d], c]
            v = min(max(c0[i] + g[i] * f, v_lo), v_hi)
            x = (v - v0[i]) * ivs[i]
            up = S[i, c] < 0
            if law == 0:
                pr = sigmoid_fast(x)
                q = pr if up else 1.0 - pr
            else:
                q = (r0[i] * np.exp(ku[i] * x) if up else r0[i] * np.exp(-kd[i] * x)) / clock[i]
            u3 = uniform_from_counter(ckey, ev)
            ev += np.uint64(1)
            if u3 < q:
                S[i, c] = np.int8(1) if up else np.int8(-1)
