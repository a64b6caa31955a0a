"""The structural model that draws synthetic PUF rows (vectorised; one call per chunk of rows).

Every row first gets a class (`_parameters.CLASSES`): the first of the paper's criteria it fails,
or its cohort group. Cohort-like rows (the three groups and the rows that fail only the late
criteria: prior malignancy, incomplete treatment, incomplete survival) draw their covariates from
the published per-group distributions; the other rows from a simpler population model. The PUF
fields are then written from these latent values. See docs/synthetic_puf.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import polars as pl
from scipy.special import ndtr, ndtri

from regsurv.cohort import get_recode
from regsurv.synth._parameters import (
    CLASSES,
    GROUPS,
    Categorical,
    GroupTable,
    load_parameters,
)
from regsurv.synth._study import combination_levels, definitive_surgery_codes
from regsurv.synth._survival import draw_event_times

COHORT_LIKE_FIRST = CLASSES.index("prior_malignancy")
FIRST_COHORT = CLASSES.index("cohort_sp_alone")
_C = {name: i for i, name in enumerate(CLASSES)}

# Analysis levels of the latent covariates: the cohort's recodes (one vocabulary for the
# generator, the hazard model, Tables 1/2 and the analysis).
HISTOLOGY_LEVELS = get_recode("histology").levels
GRADE_LEVELS = get_recode("grade").levels
GRADE_OF_CODE = {
    code: GRADE_LEVELS.index(level) for code, level in get_recode("grade").mapping.items()
}
SIZE_LEVELS = get_recode("tumor_size").levels
MARGIN_LEVELS = get_recode("margins").levels
FACILITY_TYPE_LEVELS = get_recode("facility_type").levels
SP_CODES = definitive_surgery_codes()
TREATMENT8 = combination_levels()


@dataclass(frozen=True, slots=True)
class _Model:
    """Distributions precomputed from the parameter file."""

    params: dict
    tables: dict[str, GroupTable]
    codes: dict[str, Categorical]
    treatment: tuple[Categorical, ...]
    log_hr: dict[str, float]
    knots: np.ndarray
    rates: np.ndarray


@cache
def model() -> _Model:
    """The generator's distributions (built once from `studies/sts_metastasectomy.synth.toml`)."""
    p = load_parameters()
    c = p["cohort"]
    tables = {
        name: GroupTable.from_toml(c[name])
        for name in (
            "year_group",
            "sex",
            "race",
            "charlson_deyo",
            "insurance",
            "facility_type",
            "facility_location",
            "histology",
            "grade",
            "tumor_size",
            "margins",
        )
    }
    if tables["histology"].labels != HISTOLOGY_LEVELS:
        raise ValueError("[cohort.histology] must list the eight histology groups in order")
    codes: dict[str, Categorical] = {}
    for key, value in c["codes"].items():
        if isinstance(value, dict):
            codes[key] = Categorical.from_weights(value)
    for section in ("race_codes", "facility_type_codes", "facility_location_codes", "margin_codes"):
        for label, weights in c[section].items():
            codes[f"{section}:{label}"] = Categorical.from_weights(weights)
    for label, weights in c["histology_codes"].items():
        codes[f"histology_codes:{label}"] = Categorical.from_weights(weights)
    pop = p["population"]
    for key in (
        "sites",
        "extremity_sites",
        "non_sarcoma_histology",
        "stage",
        "stage_other_sites",
        "sequence_number",
        "class_of_case",
    ):
        codes[f"population:{key}"] = Categorical.from_weights(
            {k: v for k, v in pop[key].items() if v > 0}
        )
    codes["population:resected"] = Categorical.from_weights(pop["surgery"]["resected"])
    codes["population:not_resected"] = Categorical.from_weights(pop["surgery"]["not_resected"])
    for key, weights in p["fields"].items():
        codes[f"fields:{key}"] = Categorical.from_weights(weights)
    codes["tumor_size:unknown"] = Categorical.from_weights(c["tumor_size_mm"]["unknown_codes"])
    treatment = tuple(Categorical.from_weights(c["treatment"][g]) for g in GROUPS)
    s = p["survival"]
    knots = np.asarray(s["knots"], dtype=float)
    rates = np.asarray(s["baseline_hazard"], dtype=float)
    if knots.shape != rates.shape or knots[0] != 0 or (np.diff(knots) <= 0).any():
        raise ValueError("[survival] knots must start at 0, increase, and match baseline_hazard")
    log_hr = {term: float(np.log(hr)) for term, hr in s["hazard_ratios"].items()}
    return _Model(p, tables, codes, treatment, log_hr, knots, rates)


class _Rows:
    """Full-length latent and field arrays being filled block by block."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.strings: dict[str, np.ndarray] = {}
        self.ints: dict[str, np.ndarray] = {}
        self.floats: dict[str, np.ndarray] = {}

    def s(self, name: str, width: int = 4) -> np.ndarray:
        if name not in self.strings:
            self.strings[name] = np.full(self.n, "", dtype=f"<U{width}")
        return self.strings[name]

    def i(self, name: str) -> np.ndarray:
        if name not in self.ints:
            self.ints[name] = np.full(self.n, -1, dtype=np.int64)
        return self.ints[name]


def _pick(labels: tuple[str, ...] | list[str], idx: np.ndarray) -> np.ndarray:
    return np.asarray(labels)[idx]


def _lookup(mapping: dict, keys: np.ndarray) -> np.ndarray:
    """`mapping[k]` for every element of `keys` (vectorised through the unique keys)."""
    unique, inverse = np.unique(keys, return_inverse=True)
    if unique.size == 0:  # keep the values' dtype (an index array stays an integer array)
        return np.asarray(list(mapping.values()))[:0]
    return np.asarray([mapping[k] for k in unique])[inverse]


def _zfill(values: np.ndarray, width: int) -> np.ndarray:
    """Integers as text, zero-padded to `width` (``np.char.zfill`` of their decimal text)."""
    if values.size == 0:
        return np.empty(0, dtype=f"<U{width}")
    if values.min() < 0 or values.max() >= 10**width:  # signs and longer numbers: numpy's way
        return np.char.zfill(values.astype(str), width)
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    digits = (values[:, None] // powers) % 10 + ord("0")
    return np.ascontiguousarray(digits, dtype=np.uint32).view(f"<U{width}").reshape(-1)


def _draw_codes(rng: np.random.Generator, dist: Categorical, n: int) -> np.ndarray:
    return _pick(dist.labels, dist.draw(rng, n))


def _draw_by_index(
    rng: np.random.Generator, m: _Model, section: str, levels: tuple[str, ...], idx: np.ndarray
) -> np.ndarray:
    """A PUF code per row, drawn from the code distribution of the row's analysis label
    ``levels[idx]``: the labels present taken in sorted order (as ``np.unique`` of the label
    strings would give them), each label's rows in row order."""
    if len(set(levels)) != len(levels):
        raise ValueError(f"{section}: analysis labels must be distinct, got {levels}")
    out = np.full(idx.shape[0], "", dtype="<U4")
    present = np.flatnonzero(np.bincount(idx, minlength=len(levels)))
    for k in sorted(present.tolist(), key=lambda k: levels[k]):
        rows = np.flatnonzero(idx == k)
        out[rows] = _draw_codes(rng, m.codes[f"{section}:{levels[k]}"], rows.size)
    return out


# -- cohort-like rows --------------------------------------------------------------------------


def _cohort_block(
    rng: np.random.Generator, m: _Model, r: _Rows, idx: np.ndarray, cls: np.ndarray
) -> np.ndarray:
    """Rows that satisfy the paper's criteria up to SP (the cohort and its late exclusions);
    returns their linear predictor (Table 3's log hazard ratios)."""
    n = idx.size
    c = m.params["cohort"]
    group = cls - FIRST_COHORT
    late = group < 0
    n_g = m.tables["sex"].counts.sum(axis=0)
    group[late] = rng.choice(len(GROUPS), size=int(late.sum()), p=n_g / n_g.sum())
    r.i("group")[idx] = group

    # Age: band (< 40, 40-55, > 55) from the published shares, then a power-shaped uniform.
    under_40 = np.asarray(c["age"]["under_40"]) / n_g
    le_55 = np.asarray(c["age"]["le_55"]) / n_g
    u = rng.random(n)
    band = (u >= under_40[group]).astype(np.int64) + (u >= le_55[group])
    bands = np.asarray(c["age"]["bands"], dtype=float)
    shape = np.asarray(c["age"]["shape"], dtype=float)[group, band]
    lo, hi = bands[band, 0], bands[band, 1]
    age = np.minimum(lo + np.floor((hi - lo + 1) * rng.random(n) ** shape), 90).astype(np.int64)
    r.i("AGE")[idx] = age

    year_group = m.tables["year_group"].draw(rng, group)
    first = np.asarray([2004, 2007, 2010])[year_group]
    width = np.asarray([3, 3, 4])[year_group]  # 2010-2013: 2014 has no outcome
    year = first + np.floor(rng.random(n) * width).astype(np.int64)
    r.i("YEAR_OF_DIAGNOSIS")[idx] = year

    r.s("SEX")[idx] = _pick(m.tables["sex"].labels, m.tables["sex"].draw(rng, group))
    race = m.tables["race"].draw(rng, group)
    r.s("RACE")[idx] = _draw_by_index(rng, m, "race_codes", m.tables["race"].labels, race)
    cd = _pick(m.tables["charlson_deyo"].labels, m.tables["charlson_deyo"].draw(rng, group))
    r.s("CDCC_TOTAL")[idx] = cd
    ins = m.tables["insurance"]
    r.s("INSURANCE_STATUS")[idx] = _pick(ins.labels, ins.draw(rng, group))
    ft = m.tables["facility_type"].draw(rng, group)
    r.i("facility_type")[idx] = ft
    r.s("FACILITY_TYPE_CD")[idx] = _draw_by_index(
        rng, m, "facility_type_codes", FACILITY_TYPE_LEVELS, ft
    )
    loc = m.tables["facility_location"]
    r.s("FACILITY_LOCATION_CD")[idx] = _draw_by_index(
        rng, m, "facility_location_codes", loc.labels, loc.draw(rng, group)
    )

    # Histology, size and margins: the group's published distribution, ranked by prognosis and
    # tied to age through a Gaussian copula (older patients, more aggressive tumours).
    biology = _BiologyByAge(m, c["tumor_biology"], age)
    hist = biology.draw(rng, "histology", m.tables["histology"], group, _histology_by_prognosis(m))
    r.i("histology")[idx] = hist
    r.s("HISTOLOGY")[idx] = _draw_by_index(rng, m, "histology_codes", HISTOLOGY_LEVELS, hist)
    r.s("BEHAVIOR")[idx] = "3"
    grade_code = _pick(m.tables["grade"].labels, m.tables["grade"].draw(rng, group))
    r.s("GRADE")[idx] = grade_code

    # Size and margins: latent category from the known counts, masked at the published rates.
    size_table = m.tables["tumor_size"]
    known = size_table.counts[: len(SIZE_LEVELS)]
    size = biology.draw(
        rng, "tumor_size", GroupTable(SIZE_LEVELS, known), group, np.arange(len(SIZE_LEVELS))
    )
    size_unknown = rng.random(n) < (size_table.counts[-1] / size_table.counts.sum(axis=0))[group]
    r.i("tumor_size")[idx] = size
    r.i("size_mm")[idx] = _size_codes(rng, m, size, size_unknown)
    margin_table = m.tables["margins"]
    margins = biology.draw(
        rng, "margins", GroupTable(MARGIN_LEVELS, margin_table.counts[:2]), group, np.arange(2)
    )
    margin_unknown = (
        rng.random(n) < (margin_table.counts[2] / margin_table.counts.sum(axis=0))[group]
    )
    r.i("margins")[idx] = margins
    margin_label = np.where(margin_unknown, len(MARGIN_LEVELS), margins)
    r.s("RX_SUMM_SURGICAL_MARGINS")[idx] = _draw_by_index(
        rng, m, "margin_codes", (*MARGIN_LEVELS, "unknown"), margin_label
    )

    ln = c["lymph_nodes"]
    clinical = rng.random(n) < ln["clinically_positive_rate"]
    r.i("nodes_clinical")[idx] = clinical
    examined = rng.random(n) < ln["examined_rate"]
    r.i("nodes_examined")[idx] = examined
    p_pos = ln["pathologically_positive_rate"] / ln["examined_rate"]
    r.i("nodes_pathological")[idx] = examined & (rng.random(n) < p_pos)

    r.s("PRIMARY_SITE")[idx] = _draw_codes(rng, m.codes["population:extremity_sites"], n)
    # AJCC 6th edition (2004-2009): some node-positive stage IV rows are N1 M0.
    n1m0_share = m.params["population"]["nodal_stage"]["sixth_edition_n1m0_share"]
    stage_n1m0 = clinical & (year < 2010) & (rng.random(n) < n1m0_share)
    r.s("stage")[idx] = "4"
    r.i("m1")[idx] = ~stage_n1m0

    # Treatment: combination within the group, then the codes of each component.
    combo = np.empty(n, dtype=np.int64)
    for g in range(len(GROUPS)):
        rows = np.flatnonzero(group == g)
        dist = m.treatment[g]
        to_index = np.asarray([TREATMENT8.index(label) for label in dist.labels])
        combo[rows] = to_index[dist.draw(rng, rows.size)]
    labels = _pick(TREATMENT8, combo)
    r.i("treatment8")[idx] = combo
    r.s("RX_SUMM_SURG_PRIM_SITE")[idx] = _draw_codes(rng, m.codes["surgery"], n)
    r.i("metastasectomy")[idx] = np.char.find(labels, "+M") >= 0
    r.i("chemo")[idx] = np.char.find(labels, "+C") >= 0
    r.i("radiation")[idx] = np.char.endswith(labels, "R")
    seq = _draw_codes(rng, m.codes["sequence"], n)
    prior = cls == _C["prior_malignancy"]
    seq[prior] = _draw_codes(rng, m.codes["prior_sequence"], int(prior.sum()))
    r.s("SEQUENCE_NUMBER")[idx] = seq

    lp = (
        _levels_lhr(m, "treatment", GROUPS)[group]
        + (age > 55) * m.log_hr["age_group:>55"]
        + (r.s("SEX")[idx] == "1") * m.log_hr["sex:Male"]
        + (cd != "0") * m.log_hr["charlson_deyo:1+"]
        + _levels_lhr(m, "facility_type", FACILITY_TYPE_LEVELS)[ft]
        + _levels_lhr(m, "tumor_size", SIZE_LEVELS)[size]
        + _levels_lhr(m, "grade", GRADE_LEVELS)[_lookup(GRADE_OF_CODE, grade_code)]
        + _levels_lhr(m, "histology", HISTOLOGY_LEVELS)[hist]
        + margins * m.log_hr["margins:Positive"]
    )
    return lp


def _histology_by_prognosis(m: _Model) -> np.ndarray:
    """Histology group indices from the lowest Table 3 hazard ratio to the highest."""
    return np.argsort(_levels_lhr(m, "histology", HISTOLOGY_LEVELS), kind="stable")


def _age_distribution(c: dict) -> np.ndarray:
    """P(age = a) for a = 0..90 per group (rows = groups), as `_cohort_block` draws ages."""
    n_g = np.asarray(c["sex"]["1"], dtype=float) + np.asarray(c["sex"]["2"], dtype=float)
    band_p = np.diff(
        np.column_stack(
            [
                np.zeros(n_g.size),
                np.asarray(c["age"]["under_40"]) / n_g,
                np.asarray(c["age"]["le_55"]) / n_g,
                np.ones(n_g.size),
            ]
        ),
        axis=1,
    )
    out = np.zeros((len(n_g), 91))
    for b, (lo, hi) in enumerate(c["age"]["bands"]):
        width = hi - lo + 1
        k = np.arange(width)
        for g in range(len(n_g)):
            inv = 1.0 / c["age"]["shape"][g][b]
            pk = ((k + 1) / width) ** inv - (k / width) ** inv  # P(floor(width U^shape) = k)
            np.add.at(out[g], np.minimum(lo + k, 90), band_p[g, b] * pk)
    return out


class _BiologyByAge:
    """Categories drawn through a Gaussian copula with age: the latent score of a row is
    L = rho z + sqrt(1 - rho^2) e, z = (age - center) / scale, e ~ N(0, 1) fresh per covariate;
    u = F_g(L), with F_g the exact distribution of L in the row's group (the mixture over the
    group's age distribution), so u ~ U(0, 1) within each group and the covariate keeps the
    group's published distribution exactly; categories ordered best prognosis first are cut at
    the group's cumulative proportions, so older patients get the worse categories."""

    def __init__(self, m: _Model, spec: dict, age: np.ndarray) -> None:
        self.rho_of = spec["age_correlation"]
        self.z = (age - spec["age_center"]) / spec["age_scale"]
        self.p_age = _age_distribution(m.params["cohort"])
        self.z_age = (np.arange(91) - spec["age_center"]) / spec["age_scale"]

    def draw(
        self,
        rng: np.random.Generator,
        covariate: str,
        table: GroupTable,
        group: np.ndarray,
        order: np.ndarray,
    ) -> np.ndarray:
        """One index into `table.labels` per row; `order`: level indices, best prognosis first."""
        rho = float(self.rho_of[covariate])
        if rho == 0.0:
            return table.draw(rng, group)
        noise = np.sqrt(1.0 - rho**2)
        latent = rho * self.z + noise * rng.standard_normal(self.z.size)
        u = np.empty(latent.size)
        for g in np.unique(group):
            rows = np.flatnonzero(group == g)
            # F_g(l) = sum_a P_g(a) Phi((l - rho z_a) / noise), in blocks (bounded memory)
            for block in np.array_split(rows, rows.size // 65_536 + 1):
                shifted = (latent[block, None] - rho * self.z_age) / noise
                u[block] = ndtr(shifted) @ self.p_age[g]
        cum = np.cumsum(table.counts[order] / table.counts.sum(axis=0), axis=0)[:, group]
        k = np.minimum((u[None, :] > cum).sum(axis=0), len(order) - 1)
        return order[k]


def _levels_lhr(m: _Model, variable: str, levels: tuple[str, ...]) -> np.ndarray:
    """Log hazard ratio per level (0 for the reference level)."""
    return np.asarray([m.log_hr.get(f"{variable}:{level}", 0.0) for level in levels])


def _size_codes(
    rng: np.random.Generator, m: _Model, size: np.ndarray, unknown: np.ndarray
) -> np.ndarray:
    """TUMOR_SIZE as numbers: exact mm within the category, 991-995 ranges, 999/000 unknown."""
    spec = m.params["cohort"]["tumor_size_mm"]
    bounds = np.asarray([spec[level] for level in SIZE_LEVELS])
    lo, hi = bounds[size, 0], bounds[size, 1]
    mm = lo + np.floor(rng.random(size.size) * (hi - lo + 1)).astype(np.int64)
    ranged = (size == 0) & (rng.random(size.size) < spec["range_codes_rate"])
    mm[ranged] = 991 + np.minimum(mm[ranged] // 10, 4)
    unknown_codes = _draw_codes(rng, m.codes["tumor_size:unknown"], int(unknown.sum()))
    mm[unknown] = unknown_codes.astype(np.int64)
    return mm


# -- population rows ---------------------------------------------------------------------------


def _overall(m: _Model, key: str) -> Categorical:
    """The cohort's all-groups distribution of a covariate (used for the population rows)."""
    table = m.tables[key]
    return Categorical(table.labels, table.counts.sum(axis=1) / table.counts.sum())


def _population_block(
    rng: np.random.Generator, m: _Model, r: _Rows, idx: np.ndarray, cls: np.ndarray
) -> np.ndarray:
    """Rows that fail one of the early criteria (site, histology, age, stage IV, SP)."""
    q = m.params["rates"]
    n = idx.size
    p = m.params["population"]
    other = cls == _C["other_site"]
    site = _draw_codes(rng, m.codes["population:extremity_sites"], n)
    site[other] = _draw_codes(rng, m.codes["population:sites"], int(other.sum()))
    r.s("PRIMARY_SITE")[idx] = site

    # Histology: a sarcoma code (cohort mix of groups); non-sarcoma codes for that class and for
    # a tenth of the other-site rows (GIST, lymphoma, carcinoma at soft-tissue sites).
    hist = _overall(m, "histology").draw(rng, n)
    codes = _draw_by_index(rng, m, "histology_codes", HISTOLOGY_LEVELS, hist)
    non_sarcoma = (cls == _C["non_sarcoma_histology"]) | (
        other & (rng.random(n) < q["other_site_non_sarcoma"])
    )
    codes[non_sarcoma] = _draw_codes(
        rng, m.codes["population:non_sarcoma_histology"], int(non_sarcoma.sum())
    )
    r.s("HISTOLOGY")[idx] = codes
    r.i("histology")[idx] = np.where(non_sarcoma, -1, hist)
    behavior = np.where(non_sarcoma & np.isin(codes, p["borderline"]["codes"]), "1", "3")
    r.s("BEHAVIOR")[idx] = behavior

    age = np.clip(np.round(rng.normal(p["age"]["mean"], p["age"]["sd"], n)), 18, 90)
    age = age.astype(np.int64)
    pediatric = cls == _C["pediatric"]
    age[pediatric] = rng.integers(0, 18, int(pediatric.sum()))
    unknown_rate = np.where(pediatric, q["pediatric_age_unknown"], p["age"]["unknown_rate"])
    unknown_age = (other | (cls == _C["non_sarcoma_histology"]) | pediatric) & (
        rng.random(n) < unknown_rate
    )
    age[unknown_age] = 999
    r.i("AGE")[idx] = age

    years = np.arange(p["years"][0], p["years"][1] + 1)
    weights = np.asarray(p["year_weights"])
    r.i("YEAR_OF_DIAGNOSIS")[idx] = rng.choice(years, size=n, p=weights / weights.sum())

    stage = _draw_codes(rng, m.codes["population:stage_other_sites"], n)
    not_iv = cls == _C["not_stage_iv"]
    stage[not_iv] = _draw_codes(rng, m.codes["population:stage"], int(not_iv.sum()))
    stage_iv_no_sp = cls == _C["stage_iv_no_sp"]
    stage[stage_iv_no_sp] = "4"
    r.s("stage")[idx] = stage
    r.i("m1")[idx] = stage == "4"
    year = r.i("YEAR_OF_DIAGNOSIS")[idx]
    n1m0 = (
        (stage == "3")
        & (year >= 2010)
        & (rng.random(n) < p["nodal_stage"]["seventh_edition_n1m0_share"])
    )
    r.i("nodes_clinical")[idx] = n1m0 | (
        (stage == "4") & (rng.random(n) < q["stage_iv_node_positive"])
    )

    for key, field in (
        ("sex", "SEX"),
        ("charlson_deyo", "CDCC_TOTAL"),
        ("insurance", "INSURANCE_STATUS"),
        ("grade", "GRADE"),
    ):
        dist = _overall(m, key)
        r.s(field)[idx] = _pick(dist.labels, dist.draw(rng, n))
    r.s("SEX")[idx[rng.random(n) < q["sex_unknown"]]] = "9"
    race = _overall(m, "race").draw(rng, n)
    race_codes = _draw_by_index(rng, m, "race_codes", m.tables["race"].labels, race)
    race_codes[rng.random(n) < q["race_unknown"]] = "99"
    r.s("RACE")[idx] = race_codes
    ft = _overall(m, "facility_type").draw(rng, n)
    r.s("FACILITY_TYPE_CD")[idx] = _draw_by_index(
        rng, m, "facility_type_codes", FACILITY_TYPE_LEVELS, ft
    )
    loc = _overall(m, "facility_location")
    r.s("FACILITY_LOCATION_CD")[idx] = _draw_by_index(
        rng, m, "facility_location_codes", loc.labels, loc.draw(rng, n)
    )
    size = rng.choice(len(SIZE_LEVELS), size=n, p=np.asarray(q["size_categories"]))
    r.i("size_mm")[idx] = _size_codes(rng, m, size, rng.random(n) < q["size_unknown"])
    examined = rng.random(n) < q["nodes_examined"]
    r.i("nodes_examined")[idx] = examined
    r.i("nodes_pathological")[idx] = examined & (rng.random(n) < q["nodes_positive_if_examined"])

    surg = p["surgery"]
    resected = (rng.random(n) < surg["resection_rate_non_stage_iv"]) & ~stage_iv_no_sp
    surgery = _draw_codes(rng, m.codes["population:not_resected"], n)
    surgery[resected] = _draw_codes(rng, m.codes["population:resected"], int(resected.sum()))
    r.s("RX_SUMM_SURG_PRIM_SITE")[idx] = surgery
    positive = (rng.random(n) < q["margins_positive"]).astype(np.int64)
    margin_label = np.where(rng.random(n) < q["margins_unknown"], len(MARGIN_LEVELS), positive)
    margin_codes = _draw_by_index(rng, m, "margin_codes", (*MARGIN_LEVELS, "unknown"), margin_label)
    margin_codes[~resected] = "8"
    r.s("RX_SUMM_SURGICAL_MARGINS")[idx] = margin_codes
    r.i("metastasectomy")[idx] = rng.random(n) < np.where(
        stage == "4", q["metastasectomy_stage_iv"], q["metastasectomy_other"]
    )
    r.i("chemo")[idx] = rng.random(n) < np.where(
        stage == "4", q["chemo_stage_iv"], surg["chemo_rate"]
    )
    r.i("radiation")[idx] = rng.random(n) < surg["radiation_rate"]
    seq = _draw_codes(rng, m.codes["population:sequence_number"], n)
    seq[behavior == "1"] = "60"
    r.s("SEQUENCE_NUMBER")[idx] = seq

    s = p["survival"]
    stage_lhr = {k: s[f"stage_{k}"] for k in ("1", "2", "3", "4", "8", "9")}
    return (
        _lookup(stage_lhr, stage)
        + stage_iv_no_sp * s["stage_iv_no_sp"]
        + (age > 55) * (age != 999) * s["age_over_55"]
    )


# -- fields common to all rows -----------------------------------------------------------------


def _d(rng: np.random.Generator, key: str, n: int) -> np.ndarray:
    """`n` codes of the secondary field distribution `key` (`[fields]` of the parameters)."""
    return _draw_codes(rng, model().codes[f"fields:{key}"], n)


def _treatment_fields(rng: np.random.Generator, m: _Model, r: _Rows, cls: np.ndarray) -> None:
    q = m.params["rates"]
    n = r.n
    c = m.codes
    surgery = r.s("RX_SUMM_SURG_PRIM_SITE")
    sp = np.isin(surgery, SP_CODES)
    any_surgery = ~np.isin(surgery, ("00", "99"))
    cohort_like = cls >= COHORT_LIKE_FIRST
    early = ~cohort_like

    reason = _d(rng, "reason_no_surgery", n)
    reason[any_surgery] = "0"
    reason[surgery == "99"] = "9"
    r.s("REASON_FOR_NO_SURGERY")[:] = reason
    # The DX_*_STARTED_DAYS are drawn after survival (`_treatment_start_days`, own stream); the
    # draws marked "stream" keep the main stream, hence every other column, as it always was.
    rng.exponential(25.0, n)  # stream
    rng.integers(0, 30, n)  # stream
    r.s("RX_SUMM_SCOPE_REG_LN_SUR")[:] = np.where(r.i("nodes_examined") == 1, "1", "0")

    oth = np.full(n, "0", dtype="<U1")
    mets = r.i("metastasectomy") == 1
    oth[mets] = _draw_codes(rng, c["metastasectomy"], int(mets.sum()))
    r.s("RX_SUMM_SURG_OTH_REGDIS")[:] = oth

    chemo = r.i("chemo") == 1
    chemo_code = _draw_codes(rng, c["chemo_not_given"], n)
    chemo_code[chemo] = _draw_codes(rng, c["chemo_given"], int(chemo.sum()))
    unknown_chemo = early & (rng.random(n) < q["chemo_unknown"])
    chemo_code[unknown_chemo] = np.where(rng.random(int(unknown_chemo.sum())) < 0.5, "88", "99")
    r.s("RX_SUMM_CHEMO")[:] = chemo_code
    r.s("RX_SUMM_SYSTEMIC_SUR_SEQ")[:] = np.where(chemo & sp, _d(rng, "systemic_seq", n), "0")
    rng.integers(14, 180, n)  # stream

    # Radiation kind: 0 none, 1 soft tissue > 45 Gy, 2 soft tissue <= 45 Gy, 3 another volume.
    radiated = r.i("radiation") == 1
    kind = np.zeros(n, dtype=np.int64)
    kind[radiated & cohort_like] = 1
    other_rate = m.params["cohort"]["codes"]["non_definitive_radiation_rate"]
    other_rt = cohort_like & ~radiated & (rng.random(n) < other_rate)
    kind[other_rt] = 2 + (rng.random(n) < 0.5)[other_rt]
    pop_kind = rng.choice(3, size=n, p=q["population_radiation_kinds"]) + 1
    kind[radiated & early] = pop_kind[radiated & early]
    given = kind > 0
    r.s("RX_SUMM_RADIATION")[:] = np.where(given, _d(rng, "rx_radiation", n), "0")
    volume = np.where(kind == 3, _draw_codes(rng, c["other_volumes"], n), "31")
    r.s("RAD_TREAT_VOL")[:] = np.where(given, volume, "00")
    definitive = _draw_codes(rng, c["definitive_dose_cgy"], n).astype(np.int64)
    low = _draw_codes(rng, c["low_dose_cgy"], n).astype(np.int64)
    dose = np.where(kind == 1, definitive, np.where(kind == 2, low, 0))
    dose = np.where(kind == 3, np.where(rng.random(n) < 0.5, low, definitive), dose)
    r.i("RAD_REGIONAL_DOSE_CGY")[:] = dose
    boost = (kind == 1) & (rng.random(n) < m.params["cohort"]["codes"]["boost_rate"])
    boost_dose = np.where(boost, _d(rng, "boost_cgy", n).astype(np.int64), 0)
    brachy = early & (kind == 1) & (rng.random(n) < q["brachytherapy_boost"])
    boost_dose[brachy] = 88888
    r.i("RAD_BOOST_DOSE_CGY")[:] = boost_dose
    r.s("RAD_REGIONAL_RX_MODALITY")[:] = np.where(given, _d(rng, "modality", n), "00")
    boost_modality = np.where(boost, _d(rng, "modality", n), "00")
    boost_modality[brachy] = "50"
    r.s("RAD_BOOST_RX_MODALITY")[:] = boost_modality
    r.s("RAD_LOCATION_OF_RX")[:] = np.where(given, _d(rng, "rad_location", n), "0")
    seq = np.where(given & sp, _d(rng, "surgrad_seq", n), "0")
    seq[early & given & sp & (rng.random(n) < q["intraoperative_radiation"])] = "5"
    r.s("RX_SUMM_SURGRAD_SEQ")[:] = seq
    r.s("REASON_FOR_NO_RADIATION")[:] = np.where(given, "0", _d(rng, "reason_no_radiation", n))
    rng.integers(10, 200, n)  # stream
    r.i("radiation_kind")[:] = kind

    # Incomplete treatment records: one unknown field per row of that class.
    bad = np.flatnonzero(cls == _C["incomplete_treatment"])
    defect = _d(rng, "defect", bad.size)
    r.s("RX_SUMM_SURG_OTH_REGDIS")[bad[defect == "oth_regdis"]] = "9"
    r.s("RX_SUMM_CHEMO")[bad[defect == "chemo_88"]] = "88"
    r.s("RX_SUMM_CHEMO")[bad[defect == "chemo_99"]] = "99"
    rt9 = bad[defect == "radiation_9"]
    r.s("RX_SUMM_RADIATION")[rt9] = "9"
    r.s("RAD_TREAT_VOL")[rt9] = "99"
    r.i("RAD_REGIONAL_DOSE_CGY")[rt9] = 99999
    r.s("REASON_FOR_NO_RADIATION")[rt9] = "9"
    dose_unknown = bad[defect == "dose_99999"]
    r.s("RX_SUMM_RADIATION")[dose_unknown] = "1"
    r.s("RAD_TREAT_VOL")[dose_unknown] = "31"
    r.i("RAD_REGIONAL_DOSE_CGY")[dose_unknown] = 99999
    r.s("REASON_FOR_NO_RADIATION")[dose_unknown] = "0"


START_DAYS_STREAM = 15  # spawn-key word of the treatment start-day stream of a chunk
DAYS_PER_MONTH = 30.4375  # 365.25 / 12: DX_LASTCONTACT_DEATH_MONTHS x this = days


def _start_days_rng(rng: np.random.Generator) -> np.random.Generator:
    """A stream of its own, derived from the chunk's seed sequence (the chunk stream untouched)."""
    seq = rng.bit_generator.seed_seq
    child = np.random.SeedSequence(seq.entropy, spawn_key=(*seq.spawn_key, START_DAYS_STREAM))
    return np.random.Generator(np.random.PCG64(child))


def _delays(rng: np.random.Generator, spec: dict, limit: np.ndarray) -> np.ndarray:
    """Whole days of a lognormal delay (median, sigma) with a share on day 0, drawn below
    ``limit`` days (inverse CDF of the truncated law; no limit where ``limit`` is NaN)."""
    n = limit.size
    mu, sigma = np.log(spec["median"]), spec["sigma"]
    bounded = np.isfinite(limit)
    with np.errstate(divide="ignore"):
        top = np.where(bounded, ndtr((np.log(np.maximum(limit, 0.0)) - mu) / sigma), 1.0)
    u = rng.random(n) * top
    days = np.floor(np.exp(mu + sigma * ndtri(np.clip(u, 1e-300, None))))
    days = np.where(bounded, np.minimum(days, np.ceil(limit) - 1), days)
    day0 = (rng.random(n) < spec["day0_share"]) | (bounded & (limit <= 1))
    return np.where(day0, 0, np.maximum(days, 0)).astype(np.int64)


def _treatment_start_days(rng: np.random.Generator, m: _Model, r: _Rows) -> None:
    """DX_SURG/DEFSURG/CHEMO/RAD_STARTED_DAYS of the treated rows, each strictly before the end
    of follow-up in days (months x 30.4375) when it is known: treatment starts only while the
    patient is alive and followed (``[treatment_start_days]``)."""
    spec = m.params["treatment_start_days"]
    months = r.floats["DX_LASTCONTACT_DEATH_MONTHS"]
    limit = np.where(np.isnan(months) | (months == 9999.0), np.nan, months * DAYS_PER_MONTH)
    surgery = r.s("RX_SUMM_SURG_PRIM_SITE")
    treated = {
        "DX_SURG_STARTED_DAYS": ~np.isin(surgery, ("00", "99")),
        "DX_CHEMO_STARTED_DAYS": r.i("chemo") == 1,
        "DX_RAD_STARTED_DAYS": r.i("radiation_kind") > 0,
    }
    keys = {"DX_SURG_STARTED_DAYS": "surgery", "DX_CHEMO_STARTED_DAYS": "chemotherapy",
            "DX_RAD_STARTED_DAYS": "radiation"}  # fmt: skip
    for field, rows in treated.items():
        r.i(field)[rows] = _delays(rng, spec[keys[field]], limit)[rows]
    first = r.i("DX_SURG_STARTED_DAYS")
    definitive = np.isin(surgery, SP_CODES)
    extra = _delays(rng, spec["definitive_surgery"], limit - np.maximum(first, 0))
    r.i("DX_DEFSURG_STARTED_DAYS")[definitive] = (first + extra)[definitive]


def _stage_fields(rng: np.random.Generator, m: _Model, r: _Rows) -> None:
    """AJCC TNM (6th edition before 2010, 7th after), CS mets, regional nodes."""
    q = m.params["rates"]
    n = r.n
    stage = r.s("stage")
    year = r.i("YEAR_OF_DIAGNOSIS")
    m1 = r.i("m1") == 1
    na = stage == "8"
    unknown = stage == "9"
    edition = np.where(year < 2010, "06", "07")
    r.s("TNM_EDITION_NUMBER")[:] = np.where(na, "88", edition)
    r.s("ANALYTIC_STAGE_GROUP")[:] = stage

    mm = r.i("size_mm")
    r.s("TUMOR_SIZE")[:] = _zfill(mm, 3)
    size_known = (mm >= 1) & (mm <= 995)
    t = np.where((mm <= 50) | (mm >= 990), "c1", "c2")
    t = np.char.add(t, np.where(rng.random(n) < 0.75, "B", "A"))
    t = np.where(size_known, t, "cX")
    r.s("TNM_CLIN_T")[:] = np.where(na, "88", t)
    clinical_n = np.where(r.i("nodes_clinical") == 1, "c1", "c0")
    clinical_n[unknown & (rng.random(n) < 0.6)] = "cX"
    r.s("TNM_CLIN_N")[:] = np.where(na, "88", clinical_n)
    clinical_m = np.where(m1, "c1", "c0")
    clinical_m[unknown & (rng.random(n) < 0.5)] = "cX"
    r.s("TNM_CLIN_M")[:] = np.where(na, "88", clinical_m)
    sub = np.where(rng.random(n) < 0.5, "A", "B")
    group = np.where(np.isin(stage, ("1", "2")), np.char.add(stage, sub), stage)
    group = np.where(unknown, "99", np.where(na, "88", group))
    r.s("TNM_CLIN_STAGE_GROUP")[:] = group

    resected = np.isin(r.s("RX_SUMM_SURG_PRIM_SITE"), SP_CODES)
    examined = r.i("nodes_examined") == 1
    positive = r.i("nodes_pathological") == 1
    r.s("TNM_PATH_T")[:] = np.where(resected, np.char.replace(t, "c", "p"), "")
    path_n = np.where(positive, "p1", np.where(examined, "p0", "pX"))
    r.s("TNM_PATH_N")[:] = np.where(resected, path_n, "")
    r.s("TNM_PATH_M")[:] = np.where(resected & m1 & (rng.random(n) < q["pathologic_m1"]), "p1", "")
    path_group = np.where(resected & (rng.random(n) < q["pathologic_stage_recorded"]), group, "99")
    r.s("TNM_PATH_STAGE_GROUP")[:] = path_group
    for name in ("TNM_PATH_T", "TNM_PATH_N", "TNM_PATH_M", "TNM_PATH_STAGE_GROUP"):
        r.s(name)[na] = "88"

    mets = np.where(m1, _d(rng, "cs_mets", n), "00")
    mets[unknown & (rng.random(n) < q["cs_mets_unknown"])] = "99"
    r.s("CS_METS_AT_DX")[:] = mets
    recent = year >= 2010
    for name, rate in (("LUNG", 0.8), ("BONE", 0.15), ("LIVER", 0.1), ("BRAIN", 0.03)):
        site = np.where(m1 & (rng.random(n) < rate), "1", "0")
        site[unknown & (mets == "99")] = "9"
        r.s(f"CS_METS_DX_{name}")[:] = np.where(recent, site, "")

    counts = 1 + np.floor(rng.exponential(6.0, n)).astype(np.int64)
    n_positive = np.minimum(1 + np.floor(rng.exponential(1.5, n)).astype(np.int64), counts)
    r.s("REGIONAL_NODES_EXAMINED")[:] = np.where(examined, _zfill(np.minimum(counts, 89), 2), "00")
    nodes_positive = np.where(positive, _zfill(n_positive, 2), np.where(examined, "00", "98"))
    r.s("REGIONAL_NODES_POSITIVE")[:] = nodes_positive
    r.s("LYMPH_VASCULAR_INVASION")[:] = np.where(recent, _d(rng, "lvi", n), "")


def _patient_fields(rng: np.random.Generator, m: _Model, r: _Rows, first_row: int) -> None:
    q = m.params["rates"]
    n = r.n
    extremity = np.isin(r.s("PRIMARY_SITE"), ("C471", "C472", "C491", "C492"))
    r.s("LATERALITY")[:] = np.where(extremity, _d(rng, "laterality", n), "0")
    r.s("CLASS_OF_CASE")[:] = _draw_codes(rng, m.codes["population:class_of_case"], n)
    r.s("SPANISH_HISPANIC_ORIGIN")[:] = _d(rng, "hispanic", n)
    for name in ("MED_INC_QUAR_00", "NO_HSD_QUAR_00", "MED_INC_QUAR_12", "NO_HSD_QUAR_12"):
        r.s(name)[:] = np.where(rng.random(n) < q["area_blank"], "", _d(rng, "quartile", n))
    for name in ("UR_CD_03", "UR_CD_13"):
        r.s(name)[:] = np.where(rng.random(n) < q["area_blank"], "", _d(rng, "urban", n))
    r.s("REFERENCE_DATE_FLAG")[:] = np.where(rng.random(n) < q["reference_date_flag"], "1", "0")
    age = r.i("AGE")
    suppressed = age < 40  # facility type and location are blank for ages 0-39
    r.s("FACILITY_TYPE_CD")[suppressed] = ""
    r.s("FACILITY_LOCATION_CD")[suppressed] = ""
    r.ints["facility"] = rng.integers(1, q["facilities"] + 1, n)
    crowfly = np.round(rng.lognormal(2.5, 1.1, n), 1)
    crowfly[rng.random(n) < q["crowfly_blank"]] = np.nan
    r.floats["CROWFLY"] = crowfly
    r.ints["row"] = first_row + np.arange(n, dtype=np.int64)


def _survival_fields(
    rng: np.random.Generator, m: _Model, r: _Rows, lp: np.ndarray, cls: np.ndarray
) -> None:
    """Event times from the PH model, censored at the administrative end of follow-up."""
    q = m.params["rates"]
    n = r.n
    p = m.params["population"]
    year = r.i("YEAR_OF_DIAGNOSIS")
    dx_time = year + rng.random(n)
    event_time = draw_event_times(rng, lp, m.knots, m.rates)
    censor = np.minimum(
        p["follow_up_end"] - dx_time, rng.exponential(1.0 / p["loss_to_follow_up_rate"], n)
    )
    dead = event_time <= censor
    observed = np.minimum(event_time, censor)
    months = np.round(observed * 12.0, 2)
    vital = np.where(dead, "0", "1")
    no_outcome = year >= m.params["population"]["puf_year"]
    bad = cls == _C["incomplete_survival"]
    random_invalid = (cls < COHORT_LIKE_FIRST) & (rng.random(n) < q["vital_status_invalid"])
    invalid = (bad | random_invalid) & ~no_outcome
    months_9999 = invalid & (rng.random(n) < q["months_9999"])
    vital[(no_outcome | invalid) & ~months_9999] = ""
    months[(no_outcome | invalid) & ~months_9999] = np.nan
    months[months_9999] = 9999.0
    r.s("PUF_VITAL_STATUS")[:] = vital
    r.floats["DX_LASTCONTACT_DEATH_MONTHS"] = months
    r.floats["event_time"] = event_time
    r.floats["linear_predictor"] = lp

    surgery = r.s("RX_SUMM_SURG_PRIM_SITE")
    operated = np.isin(surgery, (*SP_CODES, "90")) & ~no_outcome
    days = observed * 365.25
    for name, window in (("PUF_30_DAY_MORT_CD", 30), ("PUF_90_DAY_MORT_CD", 90)):
        code = np.where(dead & (days <= window), "1", np.where(days < window, "9", "0"))
        r.s(name)[:] = np.where(operated, code, "")


def _late_defects(rng: np.random.Generator, m: _Model, r: _Rows, cls: np.ndarray) -> None:
    """Rows without outcome: most of the incomplete-survival class is diagnosed in 2014."""
    q = m.params["rates"]
    bad = np.flatnonzero(cls == _C["incomplete_survival"])
    in_2014 = bad[rng.random(bad.size) < q["incomplete_survival_2014"]]
    r.i("YEAR_OF_DIAGNOSIS")[in_2014] = 2014


# -- assembly ------------------------------------------------------------------------------------

# PUF 2014 fields written, in record order (the dictionary's 2013-shape layout).
COLUMNS = (
    "PUF_CASE_ID", "PUF_FACILITY_ID", "FACILITY_TYPE_CD", "FACILITY_LOCATION_CD", "AGE", "SEX",
    "RACE", "SPANISH_HISPANIC_ORIGIN", "INSURANCE_STATUS", "MED_INC_QUAR_00", "NO_HSD_QUAR_00",
    "UR_CD_03", "MED_INC_QUAR_12", "NO_HSD_QUAR_12", "UR_CD_13", "CROWFLY", "CDCC_TOTAL",
    "SEQUENCE_NUMBER", "CLASS_OF_CASE", "YEAR_OF_DIAGNOSIS", "PRIMARY_SITE", "LATERALITY",
    "HISTOLOGY", "BEHAVIOR", "GRADE", "TUMOR_SIZE", "REGIONAL_NODES_POSITIVE",
    "REGIONAL_NODES_EXAMINED", "TNM_CLIN_T", "TNM_CLIN_N", "TNM_CLIN_M", "TNM_CLIN_STAGE_GROUP",
    "TNM_PATH_T", "TNM_PATH_N", "TNM_PATH_M", "TNM_PATH_STAGE_GROUP", "TNM_EDITION_NUMBER",
    "ANALYTIC_STAGE_GROUP", "CS_METS_AT_DX", "CS_METS_DX_BONE", "CS_METS_DX_BRAIN",
    "CS_METS_DX_LIVER", "CS_METS_DX_LUNG", "LYMPH_VASCULAR_INVASION", "DX_SURG_STARTED_DAYS",
    "DX_DEFSURG_STARTED_DAYS", "RX_SUMM_SURG_PRIM_SITE", "RX_SUMM_SURGICAL_MARGINS",
    "RX_SUMM_SCOPE_REG_LN_SUR", "RX_SUMM_SURG_OTH_REGDIS", "REASON_FOR_NO_SURGERY",
    "DX_RAD_STARTED_DAYS", "RX_SUMM_RADIATION", "RAD_LOCATION_OF_RX", "RAD_TREAT_VOL",
    "RAD_REGIONAL_RX_MODALITY", "RAD_REGIONAL_DOSE_CGY", "RAD_BOOST_RX_MODALITY",
    "RAD_BOOST_DOSE_CGY", "RX_SUMM_SURGRAD_SEQ", "REASON_FOR_NO_RADIATION",
    "DX_CHEMO_STARTED_DAYS", "RX_SUMM_CHEMO", "RX_SUMM_SYSTEMIC_SUR_SEQ", "PUF_30_DAY_MORT_CD",
    "PUF_90_DAY_MORT_CD", "DX_LASTCONTACT_DEATH_MONTHS", "PUF_VITAL_STATUS",
    "REFERENCE_DATE_FLAG",
)  # fmt: skip
INTEGER_COLUMNS = (
    "AGE", "YEAR_OF_DIAGNOSIS", "DX_SURG_STARTED_DAYS", "DX_DEFSURG_STARTED_DAYS",
    "DX_RAD_STARTED_DAYS", "RAD_REGIONAL_DOSE_CGY", "RAD_BOOST_DOSE_CGY", "DX_CHEMO_STARTED_DAYS",
)  # fmt: skip
DECIMAL_COLUMNS = ("CROWFLY", "DX_LASTCONTACT_DEATH_MONTHS")
# Latent values kept with `truth=True` (prefixed "synth_"): the model's side of every row.
TRUTH_COLUMNS = (
    "synth_class", "synth_group", "synth_treatment8", "synth_histology", "synth_facility_type",
    "synth_tumor_size", "synth_margins", "synth_radiation_kind", "synth_event_time_years",
    "synth_linear_predictor",
)  # fmt: skip


def _levels_or_null(values: np.ndarray, levels: tuple[str, ...], known=None) -> pl.Series:
    labels = np.asarray(["", *levels])[values + 1]
    if known is not None:
        labels[known != 1] = ""
    return pl.Series(labels).replace("", None)


def _packed(values: np.ndarray) -> np.ndarray:
    """Each (ASCII, at most 8 characters) code of a numpy unicode array as one unsigned integer,
    its characters as bytes, first character in the lowest byte (cheap to sort and compare)."""
    width = values.dtype.itemsize // 4
    chars = values.view(np.uint32).astype(np.uint8)
    if width in (1, 2, 4, 8):
        return chars.view(f"<u{width}")
    padded = np.zeros((values.size, 8), dtype=np.uint8)
    padded[:, :width] = chars.reshape(-1, width)
    return padded.reshape(-1).view("<u8")


def _words(keys: np.ndarray, width: int) -> list[str]:
    """The codes packed by `_packed` (trailing NULs dropped)."""
    raw = keys.view(np.uint8).reshape(keys.size, -1)[:, :width]
    return [bytes(code).rstrip(b"\x00").decode("ascii") for code in raw]


def _string_series(name: str, values: np.ndarray) -> pl.Series:
    """A polars String column from a numpy unicode array ("" -> null), through its few uniques."""
    width = values.dtype.itemsize // 4
    if width > 8:
        raise ValueError(f"{name}: codes wider than 8 characters are built in polars")
    unique, inverse = _factorize(_packed(values))
    vocabulary = pl.Series(name, [w or None for w in _words(unique, width)], dtype=pl.String)
    return vocabulary.gather(inverse)


def _factorize(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(unique, inverse) with ``unique[inverse] == keys``, in O(n): the distinct keys (hashed)
    get distinct residues modulo the smallest m > 2 x their number that separates them, and a
    table of size m maps a residue to its key's position. Sorting (``np.unique``) for many keys.
    """
    if keys.dtype.itemsize < 4:
        keys = keys.astype(np.uint32)
    unique = np.unique(keys)
    if unique.size > 64:
        unique, inverse = np.unique(keys, return_inverse=True)
        return unique, inverse.astype(np.uint32)
    m = 2 * unique.size + 1
    while np.unique(unique % m).size < unique.size:
        m += 1
    table = np.zeros(m, dtype=np.uint32)
    table[unique % m] = np.arange(unique.size, dtype=np.uint32)
    return unique, table[keys % keys.dtype.type(m)]


def _frame(r: _Rows, cls: np.ndarray, seed: int, truth: bool) -> pl.DataFrame:
    row_id = pl.Series(r.ints["row"]).cast(pl.String).str.zfill(24)
    facility = pl.Series(r.ints["facility"]).cast(pl.String).str.zfill(6)
    data = {
        "PUF_CASE_ID": (f"SYN{seed % 10**10:010d}" + row_id).alias("PUF_CASE_ID"),
        "PUF_FACILITY_ID": ("SYNF" + facility).alias("PUF_FACILITY_ID"),
    }
    for name in COLUMNS[2:]:
        if name in INTEGER_COLUMNS:
            values = r.ints[name]
            data[name] = pl.Series(name, values).set(pl.Series(values < 0), None)
        elif name in DECIMAL_COLUMNS:
            data[name] = pl.Series(name, r.floats[name], nan_to_null=True)
        else:
            data[name] = _string_series(name, r.strings[name])
    if truth:
        group = r.ints["group"]
        data |= {
            "synth_class": pl.Series(np.asarray(CLASSES)[cls]),
            "synth_group": _levels_or_null(group, GROUPS),
            "synth_treatment8": _levels_or_null(r.ints["treatment8"], TREATMENT8),
            "synth_histology": _levels_or_null(r.ints["histology"], HISTOLOGY_LEVELS),
            "synth_facility_type": _levels_or_null(r.ints["facility_type"], FACILITY_TYPE_LEVELS),
            "synth_tumor_size": _levels_or_null(r.ints["tumor_size"], SIZE_LEVELS),
            "synth_margins": _levels_or_null(r.ints["margins"], MARGIN_LEVELS),
            "synth_radiation_kind": pl.Series(r.ints["radiation_kind"]),
            "synth_event_time_years": pl.Series(r.floats["event_time"]),
            "synth_linear_predictor": pl.Series(r.floats["linear_predictor"]),
        }
    return pl.DataFrame(data)


def generate_chunk(
    rng: np.random.Generator, cls: np.ndarray, *, first_row: int, seed: int, truth: bool = False
) -> pl.DataFrame:
    """Rows of the given classes (one per element of `cls`), numbered from `first_row`."""
    m = model()
    n = cls.size
    r = _Rows(n)
    lp = np.empty(n)
    cohort_like = cls >= COHORT_LIKE_FIRST
    ci, pi = np.flatnonzero(cohort_like), np.flatnonzero(~cohort_like)
    lp[ci] = _cohort_block(rng, m, r, ci, cls[ci].copy())
    lp[pi] = _population_block(rng, m, r, pi, cls[pi])
    _late_defects(rng, m, r, cls)
    _treatment_fields(rng, m, r, cls)
    _stage_fields(rng, m, r)
    _patient_fields(rng, m, r, first_row)
    _survival_fields(rng, m, r, lp, cls)
    _treatment_start_days(_start_days_rng(rng), m, r)
    return _frame(r, cls, seed, truth)
