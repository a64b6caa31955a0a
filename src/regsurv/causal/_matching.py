"""Matching kernels: arrays in, arrays out (no frames). Public API in `regsurv.causal.matching`.

* `greedy_nearest`: MatchIt's greedy nearest-neighbour matching without replacement on a scalar
  distance, with "next available control" pointers (union-find with path halving), so each
  treated unit costs O(α(n)) instead of a scan: O(n log n) overall (the sort).
* `nearest_with_replacement`: the k nearest controls of every treated unit, vectorised.
* `greedy_triplets`: Rassen-style three-group matching on a cKDTree (`scipy.spatial`).
* `vector_matching`: Lopez & Gutman (2017) vector matching for three groups.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.cluster.vq import kmeans2
from scipy.spatial import cKDTree

NO_MATCH = -1


def _find(parent: list[int], x: int) -> int:
    """Root of ``x`` with path halving (the next still-available position)."""
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


def greedy_nearest(
    distance: np.ndarray,
    treated: np.ndarray,
    visit: np.ndarray,
    caliper_coord: np.ndarray,
    caliper: float | None,
    ratio: int = 1,
) -> np.ndarray:
    """Greedy 1:``ratio`` nearest-neighbour matching without replacement (MatchIt's algorithm).

    All units are sorted by ``distance`` (stable: ties keep row order). Treated units are visited
    in ``visit`` order (row indices), ``ratio`` passes. From the treated unit's sorted position the
    first still-available control to the left and to the right are found; a side whose
    ``|caliper_coord difference| > caliper`` is dropped; the closer on ``distance`` is taken, the
    left one on equal distance; the control becomes unavailable. A treated unit that finds no
    control in a pass is not visited again (no control can become available later).

    Returns an ``(len(visit), ratio)`` array of control row indices (``NO_MATCH`` = none), row
    ``i`` belonging to treated unit ``visit[i]``.
    """
    n = distance.shape[0]
    order = np.argsort(distance, kind="stable")
    is_control = ~treated[order]
    control_rows = order[is_control]
    n_controls = control_rows.shape[0]
    controls_before = np.cumsum(is_control) - is_control  # controls strictly left of a position
    position = np.empty(n, dtype=np.int64)
    position[order] = np.arange(n)
    # Right pointers over control slots 0..n_controls (n_controls = sentinel "none");
    # left pointers over slots shifted by one (0 = sentinel "none").
    right = list(range(n_controls + 1))
    left = list(range(n_controls + 1))
    start = controls_before[position[visit]].tolist()
    d_t = distance[visit].tolist()
    c_t = caliper_coord[visit].tolist()
    d_c = distance[control_rows].tolist()
    c_c = caliper_coord[control_rows].tolist()
    rows_c = control_rows.tolist()
    cal = math.inf if caliper is None else float(caliper)
    inf = math.inf
    result = np.full((len(d_t), ratio), NO_MATCH, dtype=np.int64)
    out = result.tolist()
    active = list(range(len(d_t)))
    for k in range(ratio):
        still = []
        for i in active:
            s = start[i]
            lo = _find(left, s) - 1  # slot of the first available control at or left of s - 1
            hi = _find(right, s)
            dt, ct = d_t[i], c_t[i]
            dl = dt - d_c[lo] if lo >= 0 and abs(ct - c_c[lo]) <= cal else inf
            dh = d_c[hi] - dt if hi < n_controls and abs(c_c[hi] - ct) <= cal else inf
            if dl == inf and dh == inf:
                continue
            j = lo if dl <= dh else hi
            out[i][k] = rows_c[j]
            right[j] = j + 1
            left[j + 1] = j
            still.append(i)
        active = still
    return np.asarray(out, dtype=np.int64).reshape(len(d_t), ratio)


def nearest_with_replacement(
    distance: np.ndarray,
    treated: np.ndarray,
    caliper_coord: np.ndarray,
    caliper: float | None,
    ratio: int = 1,
) -> tuple[np.ndarray, np.ndarray]:
    """The ``ratio`` nearest controls of every treated unit, controls reusable (vectorised).

    Same geometry and tie rules as `greedy_nearest` (stable sort, the left one on equal
    distance), without availability. Returns (treated rows in row order, (n_t, ratio) controls).
    """
    n = distance.shape[0]
    order = np.argsort(distance, kind="stable")
    is_control = ~treated[order]
    control_rows = order[is_control]
    n_controls = control_rows.shape[0]
    controls_before = np.cumsum(is_control) - is_control
    position = np.empty(n, dtype=np.int64)
    position[order] = np.arange(n)
    treated_rows = np.flatnonzero(treated)
    start = controls_before[position[treated_rows]]
    offsets = np.concatenate([-np.arange(1, ratio + 1), np.arange(ratio)])  # lefts, then rights
    slots = start[:, None] + offsets[None, :]
    valid = (slots >= 0) & (slots < n_controls)
    safe = np.clip(slots, 0, max(n_controls - 1, 0))
    cand_rows = control_rows[safe] if n_controls else np.zeros_like(safe)
    gap = np.abs(distance[cand_rows] - distance[treated_rows][:, None])
    if caliper is not None:
        valid &= np.abs(caliper_coord[cand_rows] - caliper_coord[treated_rows][:, None]) <= caliper
    gap = np.where(valid, gap, np.inf)
    rank = np.argsort(gap, axis=1, kind="stable")[:, :ratio]  # ties: left candidates come first
    chosen = np.take_along_axis(cand_rows, rank, axis=1)
    ok = np.take_along_axis(valid, rank, axis=1)
    return treated_rows, np.where(ok, chosen, NO_MATCH)


class _Positions:
    """Distinct score positions of one group, each with its rows in row order (a stack).

    Patients with identical scores (common with categorical covariates) share a position; the
    position stays available while it has rows left, and hands them out lowest row first.
    """

    def __init__(self, coords: np.ndarray, rows: np.ndarray) -> None:
        x = coords[rows]
        # sort by coordinates, then row (np.lexsort: last key first); equal rows -> one position
        order = np.lexsort((rows, *x.T[::-1]))
        xs = x[order]
        new = np.ones(rows.size, dtype=bool)
        new[1:] = np.any(xs[1:] != xs[:-1], axis=1)
        starts = np.flatnonzero(new)
        self.coords = xs[starts]
        self.row_array = rows[order]
        self.rows = self.row_array.tolist()
        counts = np.diff(np.append(starts, rows.size))
        ends = np.cumsum(counts)
        self.next = (ends - counts).tolist()  # next row to hand out, per position
        self.end = ends.tolist()
        # one flag per position: a bytearray for fast scalar reads in the greedy loop, with a
        # numpy view of the same memory for the vectorised ones
        self.used_up = bytearray(starts.size)
        self.exhausted = np.frombuffer(self.used_up, dtype=bool)

    def first_row(self, positions: np.ndarray) -> np.ndarray:
        """The row each position would hand out next (for tie-breaking)."""
        nexts = np.fromiter(
            map(self.next.__getitem__, positions.tolist()), np.int64, positions.size
        )
        return self.row_array[nexts]

    def take(self, position: int) -> int:
        nxt = self.next[position]
        self.next[position] = nxt + 1
        if nxt + 1 == self.end[position]:
            self.used_up[position] = 1
        return self.rows[nxt]


def greedy_triplets(
    coords: np.ndarray,
    group: np.ndarray,
    visit: np.ndarray,
    others: tuple[int, int],
    caliper: float,
    n_candidates: int = 8,
    chunk: int | None = None,
) -> np.ndarray:
    """Greedy matched triplets without replacement (Rassen et al. 2013, nearest neighbours).

    ``coords`` (n, d) are scaled so that the caliper is a radius in the max (Chebyshev) norm: a
    triplet is admissible when every pair of its members is within ``caliper`` on every
    coordinate. Patients of the two other groups are grouped by identical coordinates
    (positions; `_Positions`). Reference units (``visit``, in visiting order) each take, among
    the ``n_candidates`` nearest still-available positions of each other group, the admissible
    pair with the smallest triangle perimeter (Euclidean; ties: the nearer candidates first),
    and the lowest still-unused row of each position. The candidates come from one batched
    k-nearest query per chunk of reference units (k-d trees rebuilt on the still-available
    positions per chunk); when those are all taken or none pairs up, the search widens to the
    whole caliper ball (`_widen`). Returns (len(visit), 3) row indices: reference,
    ``others[0]``, ``others[1]`` (``NO_MATCH`` rows where no admissible triplet remains).
    """
    g1, g2 = others
    out = np.full((visit.shape[0], 3), NO_MATCH, dtype=np.int64)
    rows1 = np.flatnonzero(group == g1)
    rows2 = np.flatnonzero(group == g2)
    if rows1.size == 0 or rows2.size == 0 or visit.size == 0:
        return out
    out[:, 0] = visit
    pos1, pos2 = _Positions(coords, rows1), _Positions(coords, rows2)
    chunk = chunk or max(4096, visit.shape[0] // 32)
    for begin in range(0, visit.shape[0], chunk):
        ref = visit[begin : begin + chunk]
        x = coords[ref]
        # trees of the still-available positions, rebuilt per chunk of reference units
        live1 = np.flatnonzero(~pos1.exhausted)
        live2 = np.flatnonzero(~pos2.exhausted)
        if live1.size == 0 or live2.size == 0:
            out[begin:, :] = NO_MATCH
            break
        tree1 = cKDTree(pos1.coords[live1], balanced_tree=False, compact_nodes=False)
        tree2 = cKDTree(pos2.coords[live2], balanced_tree=False, compact_nodes=False)
        k1, k2 = min(n_candidates, live1.size), min(n_candidates, live2.size)
        # k nearest positions of each other group within the caliper (Chebyshev), in one batch.
        d1, i1 = tree1.query(x, k=k1, p=np.inf, distance_upper_bound=caliper * (1 + 1e-12))
        d2, i2 = tree2.query(x, k=k2, p=np.inf, distance_upper_bound=caliper * (1 + 1e-12))
        i1 = np.asarray(i1).reshape(ref.size, k1)
        i2 = np.asarray(i2).reshape(ref.size, k2)
        d1 = np.asarray(d1).reshape(ref.size, k1)
        d2 = np.asarray(d2).reshape(ref.size, k2)
        ok1 = np.isfinite(d1) & (d1 <= caliper)
        ok2 = np.isfinite(d2) & (d2 <= caliper)
        c1 = np.where(ok1, live1[np.minimum(i1, live1.size - 1)], NO_MATCH)
        c2 = np.where(ok2, live2[np.minimum(i2, live2.size - 1)], NO_MATCH)
        # every combination (a, b): admissible pair distance and perimeter, sorted per reference.
        pa = pos1.coords[np.maximum(c1, 0)]  # (ref, k1, d)
        pb = pos2.coords[np.maximum(c2, 0)]  # (ref, k2, d)
        ab = pa[:, :, None, :] - pb[:, None, :, :]
        admissible = ok1[:, :, None] & ok2[:, None, :] & (np.abs(ab).max(axis=-1) <= caliper)
        # the perimeter |r - a| + |r - b| + |a - b|, each side computed once per pair of points
        perim = (
            _norm(x[:, None, :] - pa)[:, :, None] + _norm(x[:, None, :] - pb)[:, None, :]
        ) + _norm(ab)
        perim = np.where(admissible, perim, np.inf).reshape(ref.size, k1 * k2)
        rank = np.argsort(perim, axis=1, kind="stable")
        idx = np.arange(ref.size)
        first_a = c1[idx, rank[:, 0] // k2].tolist()  # the best pair, if still available
        first_b = c2[idx, rank[:, 0] % k2].tolist()
        n_adm = admissible.reshape(ref.size, -1).sum(axis=1).tolist()
        # widening can help only if both groups have someone within the caliper and a candidate
        # list was cut by k rather than by the caliper
        widen = (ok1[:, 0] & ok2[:, 0] & (ok1[:, -1] | ok2[:, -1])).tolist()
        ex1, ex2 = pos1.used_up, pos2.used_up
        chosen_a, chosen_b = [NO_MATCH] * ref.size, [NO_MATCH] * ref.size
        for r in range(ref.size):
            found = False
            if n_adm[r]:
                a, b = first_a[r], first_b[r]
                found = not ex1[a] and not ex2[b]
                if not found:
                    ra, rb = c1[r].tolist(), c2[r].tolist()
                    for flat in rank[r, 1 : n_adm[r]].tolist():
                        a, b = ra[flat // k2], rb[flat % k2]
                        if not ex1[a] and not ex2[b]:
                            found = True
                            break
            if not found and widen[r]:
                a, b = _widen(x[r], pos1, pos2, live1, live2, tree1, tree2, caliper, n_candidates)
                found = a != NO_MATCH
            if found:
                chosen_a[r], chosen_b[r] = pos1.take(a), pos2.take(b)
        out[begin : begin + ref.size, 1] = chosen_a
        out[begin : begin + ref.size, 2] = chosen_b
    out[(out[:, 1:] == NO_MATCH).any(axis=1), :] = NO_MATCH
    return out


def _norm(v: np.ndarray) -> np.ndarray:
    """Euclidean norm over the last axis; the arithmetic of ``np.linalg.norm(v, axis=-1)``
    (sqrt of the reduced squares) without its per-call overhead."""
    return np.sqrt(np.add.reduce(v * v, axis=-1))


def _perimeter(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Perimeter of the triangles with vertices ``a, b, c`` (Euclidean; last axis = coordinates)."""
    return _norm(a - b) + _norm(a - c) + _norm(b - c)


def _available_near(
    x: np.ndarray,
    pos: _Positions,
    live: np.ndarray,
    tree: cKDTree,
    caliper: float,
    k: int | None,
) -> tuple[np.ndarray, bool]:
    """Still-available positions within the caliper of ``x``, sorted by (max-norm gap, next row).

    ``k``: look only among the k nearest (None: the whole caliper ball). Returns the sorted
    positions and whether they are all of them; a partial list is an exact prefix of the full
    one (positions tied with the k-th gap are left out, since others may share that gap).
    """
    complete = k is None or k >= live.size
    if complete:
        found = live[np.asarray(tree.query_ball_point(x, r=caliper, p=np.inf), dtype=np.int64)]
    else:
        d, i = tree.query(x, k=k, p=np.inf, distance_upper_bound=caliper * (1 + 1e-12))
        ok = np.isfinite(d) & (d <= caliper)
        complete = not ok[-1]
        found = live[i[ok]]
    gap = np.abs(pos.coords[found] - x).max(axis=1)
    if not complete:
        keep = gap < gap.max()
        found, gap = found[keep], gap[keep]
    free = ~pos.exhausted[found]
    found, gap = found[free], gap[free]
    return found[np.lexsort((pos.first_row(found), gap))], complete


def _best_pair(
    x: np.ndarray, ca: np.ndarray, cb: np.ndarray, caliper: float
) -> tuple[int, int] | None:
    """Indices (into ``ca``, ``cb``) of the admissible pair with the smallest perimeter."""
    pa, pb = ca[:, None, :], cb[None, :, :]
    adm = np.abs(pa - pb).max(axis=-1) <= caliper
    if not adm.any():
        return None
    perim = np.where(adm, _perimeter(x, pa, pb), np.inf).ravel()
    flat = int(np.argmin(perim))
    return flat // cb.shape[0], flat % cb.shape[0]


def _widen(
    x: np.ndarray,
    pos1: _Positions,
    pos2: _Positions,
    live1: np.ndarray,
    live2: np.ndarray,
    tree1: cKDTree,
    tree2: cKDTree,
    caliper: float,
    k: int,
) -> tuple[int, int]:
    """Best admissible still-available pair of positions for one reference unit at ``x``.

    Among the ``k`` nearest available positions of each group within the caliper, doubling
    ``k`` up to ``8 k``; then among all admissible pairs of the whole caliper ball (found with a
    k-d tree pair search, so a dense ball costs the admissible pairs, not all pairs).
    """
    groups = ((pos1, live1, tree1), (pos2, live2, tree2))
    lists = [list(_available_near(x, p, lv, t, caliper, 8 * k)) for p, lv, t in groups]
    m = k
    while m <= 8 * k:
        for j, (p, lv, t) in enumerate(groups):
            if not lists[j][1] and lists[j][0].size < m:
                lists[j] = list(_available_near(x, p, lv, t, caliper, None))
        (a_all, done_a), (b_all, done_b) = lists
        if a_all.size == 0 or b_all.size == 0:
            return NO_MATCH, NO_MATCH
        best = _best_pair(x, pos1.coords[a_all[:m]], pos2.coords[b_all[:m]], caliper)
        if best is not None:
            return int(a_all[best[0]]), int(b_all[best[1]])
        if done_a and done_b and m >= max(a_all.size, b_all.size):
            return NO_MATCH, NO_MATCH
        m *= 2
    for j, (p, lv, t) in enumerate(groups):
        if not lists[j][1]:
            lists[j] = list(_available_near(x, p, lv, t, caliper, None))
    a_all, b_all = lists[0][0], lists[1][0]
    if a_all.size == 0 or b_all.size == 0:
        return NO_MATCH, NO_MATCH
    ca, cb = pos1.coords[a_all], pos2.coords[b_all]
    found = cKDTree(ca).sparse_distance_matrix(
        cKDTree(cb), caliper * (1 + 1e-12), p=np.inf, output_type="ndarray"
    )
    ia, ib = found["i"], found["j"]
    ok = np.max(np.abs(ca[ia] - cb[ib]), axis=1) <= caliper
    ia, ib = ia[ok], ib[ok]
    if ia.size == 0:
        return NO_MATCH, NO_MATCH
    perim = _perimeter(x, ca[ia], cb[ib])
    best = np.lexsort((ib, ia, perim))[0]  # ties: the nearer positions (list order)
    return int(a_all[ia[best]]), int(b_all[ib[best]])


def vector_matching(
    logit_ps: np.ndarray,
    group: np.ndarray,
    reference: int,
    caliper: float,
    n_clusters: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, float]:
    """Vector matching (Lopez & Gutman, Stat Sci 2017) of reference units to two other groups.

    ``logit_ps`` (n, 3): logit of each generalized propensity score. Units outside the common
    support (a score outside [max over groups of the minimum, min over groups of the maximum]
    for any group) are not eligible. For each other group ``t'`` (the third being ``t''``):
    eligible units are clustered by k-means on ``logit r_t''`` into ``n_clusters`` clusters, and
    within each cluster every reference unit takes its nearest ``t'`` unit on ``logit r_ref``
    (with replacement; the left one on ties), within ``caliper × sd(logit r_ref)`` over the
    eligible units. A reference unit matched to both other groups forms a set.
    Returns (n_ref, 3) row indices (reference, then the other groups in index order) and the
    caliper width used.
    """
    n, n_groups = logit_ps.shape
    lows = np.array(
        [[logit_ps[group == g, k].min() for k in range(n_groups)] for g in range(n_groups)]
    )
    highs = np.array(
        [[logit_ps[group == g, k].max() for k in range(n_groups)] for g in range(n_groups)]
    )
    eligible = np.all((logit_ps >= lows.max(axis=0)) & (logit_ps <= highs.min(axis=0)), axis=1)
    ref_rows = np.flatnonzero(group == reference)
    others = [g for g in range(n_groups) if g != reference]
    out = np.full((ref_rows.size, 3), NO_MATCH, dtype=np.int64)
    out[:, 0] = ref_rows
    coord = logit_ps[:, reference]
    width = caliper * float(np.std(coord[eligible], ddof=1)) if eligible.sum() > 1 else 0.0
    for slot, target in enumerate(others, start=1):
        third = others[1 - others.index(target)]
        labels = np.full(n, -1, dtype=np.int64)
        x = logit_ps[eligible, third].reshape(-1, 1)
        k = int(min(n_clusters, np.unique(x).size))
        if k > 1:
            _, lab = kmeans2(x, k, minit="++", rng=rng, missing="raise")
        else:
            lab = np.zeros(x.shape[0], dtype=np.int64)
        labels[eligible] = lab
        for cluster in range(max(k, 1)):
            in_cluster = labels == cluster
            treated = np.zeros(n, dtype=bool)
            treated[in_cluster & (group == reference)] = True
            pool = (in_cluster & (group == target)) | treated
            if not treated.any() or pool.sum() == treated.sum():
                continue
            sub = np.flatnonzero(pool)
            t_rows, chosen = nearest_with_replacement(
                coord[sub], treated[sub], coord[sub], width, ratio=1
            )
            hit = chosen[:, 0] != NO_MATCH
            where = np.searchsorted(ref_rows, sub[t_rows[hit]])
            out[where, slot] = sub[chosen[hit, 0]]
    incomplete = (out[:, 1:] == NO_MATCH).any(axis=1)
    out[incomplete, 1:] = NO_MATCH
    out[incomplete, 0] = NO_MATCH
    out[~eligible[ref_rows], :] = NO_MATCH
    return out, width
