"""Compare a synthetic PUF with the paper's published figures (the study's targets file).

The PUF goes through the study's own criteria and derivations (`regsurv.cohort`), then simple
counts, Kaplan-Meier (`regsurv.survival.kaplan_meier`) and Cox (`regsurv.survival.cox_ph`).
Every tolerance is four standard errors of the generated statistic (sampling error at the
published size), except the flow counts (5 %, the issue's criterion) and figures the model does
not aim at (tolerance None: shown, not checked).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from scipy import stats

from regsurv._display import HtmlDisplay
from regsurv.studies import load_targets
from regsurv.synth.truth import HAZARD_COVARIATES

Z = 4.0  # tolerance = Z standard errors
FLOW_TOLERANCE = 0.05
TABLE_COLUMNS = {
    "age_group": "age_group",
    "year_group": "year_group",
    "sex": "sex",
    "race": "race",
    "charlson_deyo": "charlson_deyo",
    "facility_location": "facility_location",
    "facility_type": "facility_type",
    "histology": "histology",
    "grade": "grade",
    "tumor_size_cm": "tumor_size",
    "surgical_margins": "margins",
}
COX_COVARIATES = HAZARD_COVARIATES  # the covariates of the generator's hazard model


@dataclass(frozen=True, slots=True)
class TargetCheck:
    """One published figure next to the generated one. `tolerance` None = shown, not checked;
    `log` = compared on the log scale (hazard ratios; tolerance in log units)."""

    name: str
    target: float
    generated: float
    tolerance: float | None
    basis: str
    log: bool = False

    @property
    def difference(self) -> float:
        if self.log:
            return float(np.log(self.generated) - np.log(self.target))
        return float(self.generated - self.target)

    @property
    def checked(self) -> bool:
        return self.tolerance is not None

    @property
    def ok(self) -> bool:
        if self.tolerance is None:
            return True
        return bool(np.isfinite(self.generated) and abs(self.difference) <= self.tolerance)


@dataclass(frozen=True, slots=True, eq=False)
class SynthCheck(HtmlDisplay):
    """All comparisons; `ok` when every checked figure is within its tolerance."""

    n_obs: int
    n_cohort: int
    checks: tuple[TargetCheck, ...]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def failures(self) -> tuple[TargetCheck, ...]:
        return tuple(c for c in self.checks if not c.ok)

    def to_frame(self) -> pl.DataFrame:
        """One row per figure: name, target, generated, tolerance, checked, ok, log, basis."""
        return pl.DataFrame(
            {
                "name": [c.name for c in self.checks],
                "target": [c.target for c in self.checks],
                "generated": [c.generated for c in self.checks],
                "tolerance": [c.tolerance for c in self.checks],
                "checked": [c.checked for c in self.checks],
                "ok": [c.ok for c in self.checks],
                "log": [c.log for c in self.checks],
                "basis": [c.basis for c in self.checks],
            },
            schema={
                "name": pl.String,
                "target": pl.Float64,
                "generated": pl.Float64,
                "tolerance": pl.Float64,
                "checked": pl.Boolean,
                "ok": pl.Boolean,
                "log": pl.Boolean,
                "basis": pl.String,
            },
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "n_obs": self.n_obs,
            "n_cohort": self.n_cohort,
            "ok": self.ok,
            "checks": self.to_frame().to_dicts(),
        }

    def __repr__(self) -> str:
        n_checked = sum(c.checked for c in self.checks)
        return (
            f"SynthCheck({self.n_obs:,} rows -> {self.n_cohort:,} in the cohort; "
            f"{n_checked - len(self.failures)}/{n_checked} targets met)"
        )


def _cohort_spec(study: str | Path | None):
    from regsurv.cohort import CohortSpec
    from regsurv.studies import study_path

    path = Path(study) if study is not None else study_path()
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    return CohortSpec.model_validate(raw["cohort"])


def build_synthetic_cohort(puf: pl.DataFrame, *, study: str | Path | None = None):
    """The study's cohort (analysis columns, collected) and its flow, from a typed PUF frame."""
    from regsurv.cohort import apply_criteria, derive_analysis_variables

    spec = _cohort_spec(study)
    kept, flow = apply_criteria(puf.lazy(), spec)
    return derive_analysis_variables(kept, spec).collect(), flow


def check_synthetic_puf(
    data: pl.DataFrame | str | Path, *, study: str | Path | None = None
) -> SynthCheck:
    """Every figure of the targets file against `data` (a typed PUF frame or a PUF file)."""
    if not isinstance(data, pl.DataFrame):
        from regsurv.io import read_puf

        data = read_puf(data)
    targets = load_targets()
    n_obs = data.height
    scale = n_obs / targets["cohort"]["puf_cases"]
    cohort, flow = build_synthetic_cohort(data, study=study)
    steps = {s.id: s for s in flow.steps}
    checks: list[TargetCheck] = [
        TargetCheck(
            "cohort.puf_cases", targets["cohort"]["puf_cases"] * scale, n_obs, 0.5, "exact"
        ),
    ]
    for name, generated in (
        ("included", cohort.height),
        ("excluded_stage_iv_without_sp", steps["definitive_surgery"].n_excluded),
    ):
        target = targets["cohort"][name] * scale
        checks.append(
            TargetCheck(f"cohort.{name}", target, generated, FLOW_TOLERANCE * target, "5 %")
        )
    cohort_checks = check_synthetic_cohort(cohort).checks
    return SynthCheck(n_obs=n_obs, n_cohort=cohort.height, checks=(*checks, *cohort_checks))


def check_synthetic_cohort(cohort: pl.DataFrame) -> SynthCheck:
    """The cohort-level figures (ages, group sizes, Tables 1-3, survival) against a derived
    cohort (the analysis columns of `regsurv.cohort.derive_analysis_variables`)."""
    targets = load_targets()
    scale = cohort.height / targets["cohort"]["included"]
    checks = [
        *_age_checks(cohort, targets),
        *_group_checks(cohort, targets, scale),
        *_table_checks(cohort, targets),
        *_survival_checks(cohort, targets),
        *_cox_checks(cohort, targets),
        *_informational(targets),
    ]
    return SynthCheck(n_obs=cohort.height, n_cohort=cohort.height, checks=tuple(checks))


def _median_se(x: np.ndarray) -> float:
    """Large-sample SE of a sample median, sqrt(pi/2) sigma / sqrt(n) (normal approximation)."""
    return float(np.sqrt(np.pi / 2) * np.std(x, ddof=1) / np.sqrt(x.size))


def _age_checks(cohort: pl.DataFrame, targets: dict) -> list[TargetCheck]:
    age = cohort["age"].drop_nulls().to_numpy().astype(float)
    c = targets["cohort"]
    out = [
        TargetCheck(
            "cohort.age_median",
            c["age_median"],
            float(np.median(age)),
            Z * _median_se(age),
            "4 SE (median)",
        ),
        TargetCheck("cohort.age_min", c["age_min"], float(age.min()), 0.5, "exact"),
        TargetCheck("cohort.age_max", c["age_max"], float(age.max()), 0.5, "exact (90+ top-coded)"),
    ]
    years = cohort["year_of_diagnosis"].drop_nulls()
    out.append(TargetCheck("cohort.years.first", c["years"][0], years.min(), 0.5, "exact"))
    # 2014 diagnoses have no vital status in PUF 2014: the analysed years end in 2013.
    out.append(
        TargetCheck("cohort.years.last", c["years"][1], years.max(), 1.0, "2014 has no outcome")
    )
    return out


def _group_checks(cohort: pl.DataFrame, targets: dict, scale: float) -> list[TargetCheck]:
    g = targets["groups"]
    total = sum(g["n"])
    out = []
    for level, n, age_median in zip(g["order"], g["n"], g["age_median"], strict=True):
        rows = cohort.filter(pl.col("treatment") == level)
        p = n / total
        out.append(
            TargetCheck(
                f"groups.n.{level}",
                n * scale,
                rows.height,
                Z * np.sqrt(total * scale * p * (1 - p)),
                "4 SE (binomial)",
            )
        )
        age = rows["age"].drop_nulls().to_numpy().astype(float)
        if age.size > 1:
            out.append(
                TargetCheck(
                    f"groups.age_median.{level}",
                    age_median,
                    float(np.median(age)),
                    Z * _median_se(age),
                    "4 SE (median)",
                )
            )
    return out


def _columns(cohort: pl.DataFrame, groups: list[str]) -> list[tuple[str, pl.DataFrame]]:
    return [("All", cohort)] + [(g, cohort.filter(pl.col("treatment") == g)) for g in groups]


def _table_checks(cohort: pl.DataFrame, targets: dict) -> list[TargetCheck]:
    """Each Table 1/2 cell as a count: tolerance 4 sqrt(n p (1 - p)), p = published share."""
    groups = targets["groups"]["order"]
    totals = [targets["cohort"]["included"], *targets["groups"]["n"]]
    columns = _columns(cohort, groups)
    out = []
    for table in ("table1", "table2"):
        for variable, levels in targets[table].items():
            if variable not in TABLE_COLUMNS:
                continue
            column = TABLE_COLUMNS[variable]
            for level, counts in levels.items():
                if level in ("p", "missing_all"):
                    continue
                for (label, frame), count, total in zip(columns, counts, totals, strict=True):
                    p = count / total
                    generated = int((frame[column].cast(pl.String) == level).sum())
                    out.append(
                        TargetCheck(
                            f"{table}.{variable}.{level}.{label}",
                            p * frame.height,
                            generated,
                            Z * np.sqrt(frame.height * p * (1 - p)),
                            "4 SE (binomial)",
                        )
                    )
            out.append(_p_value_check(f"{table}.{variable}.p", cohort, column, levels, groups))
    missing = targets["table1"]["facility_location"]["missing_all"]
    p = missing / targets["cohort"]["included"]
    out.append(
        TargetCheck(
            "table1.facility_location.missing_all",
            p * cohort.height,
            int(cohort["facility_location"].is_null().sum()),
            Z * np.sqrt(cohort.height * p * (1 - p)),
            "4 SE (binomial)",
        )
    )
    nodes = targets["table2"]["lymph_nodes"]
    for key, column in (
        ("clinically_positive", "nodes_clinically_positive"),
        ("pathologically_positive", "nodes_pathologically_positive"),
    ):
        p = nodes[key] / targets["cohort"]["included"]
        out.append(
            TargetCheck(
                f"table2.lymph_nodes.{key}",
                p * cohort.height,
                int(cohort[column].fill_null(False).sum()),
                Z * np.sqrt(cohort.height * p * (1 - p)),
                "4 SE (binomial)",
            )
        )
    return out


def _p_value_check(
    name: str, cohort: pl.DataFrame, column: str, levels: dict, groups: list[str]
) -> TargetCheck:
    """Chi-square p-value of the generated table (shown only: a p-value has no fixed target)."""
    published = str(levels.get("p", "nan")).lstrip("<")
    table = np.asarray(
        [
            [
                int(((cohort[column].cast(pl.String) == level) & (cohort["treatment"] == g)).sum())
                for g in groups
            ]
            for level in levels
            if level not in ("p", "missing_all")
        ]
    )
    table = table[table.sum(axis=1) > 0]
    p_value = float(stats.chi2_contingency(table)[1]) if table.shape[0] > 1 else float("nan")
    return TargetCheck(name, float(published), p_value, None, "shown (chi-square p)")


def _survival_checks(cohort: pl.DataFrame, targets: dict) -> list[TargetCheck]:
    from regsurv.survival import kaplan_meier

    out = []
    for section, column, figures in (
        ("groups3", "treatment", targets["survival"]["groups3"]),
        ("histology", "histology", targets["survival"]["histology"]),
        ("groups8", "treatment8", targets["groups8"]),
    ):
        data = cohort.select("os_years", "death", pl.col(column).cast(pl.String).alias("g"))
        data = data.drop_nulls()
        curves = kaplan_meier(data, time="os_years", event="death", group="g")
        for level, values in figures.items():
            if level not in curves.curves:
                continue
            curve = curves[level]
            modelled = section != "groups8"
            basis = "4 SE (KM)" if modelled else "shown (8-way mix not modelled)"
            if "median_os_years" in values:
                median = curve.median_values()[0]
                tol = Z * _median_se_km(curve, median) if modelled else None
                out.append(
                    TargetCheck(
                        f"survival.{section}.{level}.median_os_years",
                        values["median_os_years"],
                        median,
                        tol,
                        basis,
                    )
                )
            for key in ("os5_pct", "os5_pct_abstract"):
                if key not in values:
                    continue
                estimate = 100 * float(curve.at([5.0], extend=True)["estimate"][0])
                rows = data.filter(pl.col("g") == level)
                se = 100 * _binomial_se(values[key] / 100, _n_known_at(rows, 5.0))
                checked = modelled and key == "os5_pct"
                out.append(
                    TargetCheck(
                        f"survival.{section}.{level}.{key}",
                        values[key],
                        estimate,
                        Z * se if checked else None,
                        basis if checked else "shown",
                    )
                )
    return out


def _n_known_at(rows: pl.DataFrame, t: float) -> int:
    """Patients whose status at `t` is known: dead before `t` or followed past it."""
    known = (pl.col("death") == 1) | (pl.col("os_years") >= t)
    return int(rows.select(known.sum()).item())


def _binomial_se(p: float, n: int) -> float:
    """sqrt(p (1 - p) / n) at the published p, n = patients with a known status at 5 years (a
    KM SE computed from the data degenerates in small groups when S reaches 0)."""
    return float(np.sqrt(p * (1 - p) / n)) if n > 0 else float("nan")


def _median_se_km(curve, median: float, half_width: float = 0.25) -> float:
    """SE of a KM median: SE(S(m)) / f(m), f from the KM slope over m +- `half_width` years."""
    if not np.isfinite(median):
        return float("nan")
    at = curve.at([max(median - half_width, 0.0), median, median + half_width], extend=True)
    s = at["estimate"]
    density = (s[0] - s[-1]) / (at["time"][-1] - at["time"][0])
    return float(at["std_error"][1] / density) if density > 0 else float("nan")


def _cox_checks(cohort: pl.DataFrame, targets: dict) -> list[TargetCheck]:
    """Table 3: the paper's multivariable Cox model refitted; log HR within 4 SE of the truth."""
    from regsurv.survival import cox_ph

    table3 = targets["table3"]
    reference = table3["reference"]
    reference = {("age_group" if k == "age" else k): v for k, v in reference.items()}
    fit = cox_ph(
        cohort,
        time="os_years",
        event="death",
        covariates=list(COX_COVARIATES),
        reference=reference,
        ties="breslow",
    )
    estimate = dict(zip(fit.terms, fit.estimate, strict=True))
    se = dict(zip(fit.terms, fit.std_error, strict=True))
    out = []
    for term, values in table3.items():
        if term == "reference":
            continue
        name = term.replace("age:", "age_group:", 1)
        if name not in estimate:
            out.append(
                TargetCheck(
                    f"table3.{term}", values[0], float("nan"), None, "not modelled", log=True
                )
            )
            continue
        out.append(
            TargetCheck(
                f"table3.{term}",
                values[0],
                float(np.exp(estimate[name])),
                Z * se[name],
                "4 SE (Cox, log scale)",
                log=True,
            )
        )
    return out


def _informational(targets: dict) -> list[TargetCheck]:
    """Propensity-score results: figures of later stages, shown for completeness."""
    out = []
    for key, values in targets["propensity"].items():
        if isinstance(values, list) and len(values) == 4:
            out.append(
                TargetCheck(
                    f"propensity.{key}", values[0], float("nan"), None, "not checked here", log=True
                )
            )
    return out
