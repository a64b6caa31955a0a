"""Time-varying treatment from "days to treatment start" columns (NCDB DX_*_STARTED_DAYS).

`split_at_treatment` is R's ``tmerge(..., event(time, status), tdc(days / days_per_unit))``:
one (tstart, tstop] row per subject and interval, the event on the last one, each treatment
indicator switching 0 -> 1 at its start time (treated from the start when the day is 0;
a start at or after the end of follow-up changes nothing). `landmark` keeps the subjects still
under follow-up after L, with exposure "treated by L" and time re-based to L. Both count every
input row they leave out; bad days columns raise a one-line error. Vectorised over subjects.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from regsurv._display import HtmlDisplay
from regsurv._frames import to_polars

DAYS_PER_MONTH = 30.4375
TEN_YEARS_DAYS = 3652.5


@dataclass(frozen=True, slots=True)
class TreatmentCounts:
    """Subjects by when a treatment starts relative to follow-up (split or landmark input)."""

    name: str
    column: str
    never: int  # no start day (null)
    at_start: int  # day 0: treated from time 0
    during_follow_up: int  # 0 < start < end of follow-up (split there)
    after_follow_up: int  # start >= end of follow-up: changes nothing (counted, not an error)

    def to_dict(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in self.__dataclass_fields__}


@dataclass(frozen=True, slots=True, eq=False)
class TreatmentSplit(HtmlDisplay):
    """(tstart, tstop] rows of `split_at_treatment` and the accounting of every input row.

    ``data`` has one row per subject and interval: the id, ``tstart``, ``tstop``, the event
    (1 only on a subject's last interval, when the subject had the event), one 0/1 column per
    treatment, and the other input columns carried over (the time column is dropped).
    """

    data: pl.DataFrame
    time_unit_days: float
    n_input: int
    n_excluded_missing: int  # null time, event or id
    n_excluded_no_time_at_risk: int  # time == 0
    n_subjects: int
    treatments: tuple[TreatmentCounts, ...]
    warnings: tuple[str, ...] = ()
    method: str = "split_at_treatment"

    @property
    def n_obs(self) -> int:
        return self.data.height

    def to_frame(self) -> pl.DataFrame:
        """The (tstart, tstop] rows."""
        return self.data

    def to_dict(self) -> dict[str, Any]:
        """The counts (JSON-safe); the rows themselves are in ``to_frame()``."""
        return {
            "method": self.method,
            "time_unit_days": self.time_unit_days,
            "n_input": self.n_input,
            "n_excluded_missing": self.n_excluded_missing,
            "n_excluded_no_time_at_risk": self.n_excluded_no_time_at_risk,
            "n_subjects": self.n_subjects,
            "n_obs": self.n_obs,
            "treatments": [t.to_dict() for t in self.treatments],
            "warnings": list(self.warnings),
        }

    def __repr__(self) -> str:
        names = ", ".join(t.name for t in self.treatments)
        return (
            f"TreatmentSplit(n_subjects={self.n_subjects}, n_obs={self.n_obs}, "
            f"treatments=[{names}])"
        )


@dataclass(frozen=True, slots=True, eq=False)
class LandmarkData(HtmlDisplay):
    """Landmark cohort at ``at`` (`landmark`) and the flow of who was left out and why.

    ``data``: the input rows still under follow-up after ``at`` (time > at), the time column
    re-based to time − at, one 0/1 column per treatment = started at or before ``at``.
    """

    data: pl.DataFrame
    at: float
    n_input: int
    n_excluded_missing: int
    n_excluded_no_time_at_risk: int  # time == 0
    n_excluded_event_or_censored_by_landmark: int  # 0 < time <= at
    treated: dict[str, int]  # per treatment: kept subjects treated by the landmark
    treated_after_landmark: dict[str, int]  # kept subjects whose treatment starts after it
    warnings: tuple[str, ...] = ()
    method: str = "landmark"

    @property
    def n_obs(self) -> int:
        return self.data.height

    def to_frame(self) -> pl.DataFrame:
        """The landmark rows."""
        return self.data

    def flow(self) -> pl.DataFrame:
        """One row per step: step, n_excluded, n_remaining (every input row accounted for)."""
        steps = [
            ("missing time, event or id", self.n_excluded_missing),
            ("no time at risk (time = 0)", self.n_excluded_no_time_at_risk),
            (f"event or censored by the landmark (time <= {self.at:g})",
             self.n_excluded_event_or_censored_by_landmark),
        ]  # fmt: skip
        remaining = self.n_input - np.cumsum([n for _, n in steps])
        return pl.DataFrame(
            {
                "step": [s for s, _ in steps],
                "n_excluded": [n for _, n in steps],
                "n_remaining": remaining.tolist(),
            }
        )

    def to_dict(self) -> dict[str, Any]:
        """The counts (JSON-safe); the rows themselves are in ``to_frame()``."""
        return {
            "method": self.method,
            "at": self.at,
            "n_input": self.n_input,
            "n_excluded_missing": self.n_excluded_missing,
            "n_excluded_no_time_at_risk": self.n_excluded_no_time_at_risk,
            "n_excluded_event_or_censored_by_landmark": (
                self.n_excluded_event_or_censored_by_landmark
            ),
            "n_obs": self.n_obs,
            "treated": dict(self.treated),
            "treated_after_landmark": dict(self.treated_after_landmark),
            "warnings": list(self.warnings),
        }

    def __repr__(self) -> str:
        return f"LandmarkData(at={self.at:g}, n_obs={self.n_obs}, treated={self.treated})"


def _treatment_columns(start_days: str | Sequence[str] | Mapping[str, str]) -> dict[str, str]:
    """Output indicator name -> days column. A plain column name gives ``tx_<column>``."""
    if isinstance(start_days, str):
        return {f"tx_{start_days}": start_days}
    if isinstance(start_days, Mapping):
        return dict(start_days)
    return {f"tx_{column}": column for column in start_days}


def _start_days(frame: pl.DataFrame, column: str) -> np.ndarray:
    """Days column as float (NaN = never started); negative days or a wrong unit are errors."""
    if column not in frame.columns:
        raise ValueError(f"start_days column {column!r} not found in data")
    series = frame.get_column(column)
    if not series.dtype.is_numeric() or series.dtype == pl.Boolean:
        raise TypeError(f"start_days column {column!r} has dtype {series.dtype}; expected days")
    days = series.cast(pl.Float64).fill_nan(None).to_numpy()
    given = ~np.isnan(days)
    bad = given & (days < 0)
    if bad.any():
        raise ValueError(
            f"start_days column {column!r}: {int(bad.sum())} rows are negative days "
            f"(first: {days[bad][0]:g}); days from diagnosis to treatment must be >= 0"
        )
    if given.any() and np.all(days[given] > TEN_YEARS_DAYS):
        raise ValueError(
            f"start_days column {column!r}: all {int(given.sum())} values are over 10 years of "
            f"days (smallest {days[given].min():g}); is the column in days since diagnosis?"
        )
    return days


def _checked(
    frame: pl.DataFrame, id: str, time: str, event: str
) -> tuple[pl.DataFrame, int, int, list[str]]:
    """Complete rows with time > 0; the counts of rows left out (missing, time == 0)."""
    for role, column in (("id", id), ("time", time), ("event", event)):
        if column not in frame.columns:
            raise ValueError(f"{role} column {column!r} not found in data")
    missing = pl.any_horizontal(pl.col(c).is_null() for c in (id, time, event))
    n_missing = int(frame.select(missing.sum()).item())
    complete = frame.filter(~missing)
    t = complete.get_column(time).cast(pl.Float64).to_numpy()
    bad = ~np.isfinite(t) | (t < 0)
    if bad.any():
        raise ValueError(f"time column {time!r}: {int(bad.sum())} rows are negative or not finite")
    e = complete.get_column(event).cast(pl.Float64).to_numpy()
    bad = (e != 0) & (e != 1)
    if bad.any():
        raise ValueError(f"event column {event!r}: {int(bad.sum())} rows are not 0/1")
    duplicated = complete.get_column(id).is_duplicated()
    if duplicated.any():
        raise ValueError(
            f"id column {id!r}: {int(duplicated.sum())} rows share an id; give one row per subject"
        )
    no_time = complete.get_column(time) == 0
    warnings = []
    if n_missing:
        warnings.append(f"{n_missing} rows left out for a missing {id}, {time} or {event}")
    n_zero = int(no_time.sum())
    if n_zero:
        warnings.append(f"{n_zero} rows left out with {time} = 0 (no time at risk)")
    return complete.filter(~no_time), n_missing, n_zero, warnings


def split_at_treatment(
    data: Any,
    *,
    id: str,
    time: str,
    event: str,
    start_days: str | Sequence[str] | Mapping[str, str],
    days_per_unit: float = DAYS_PER_MONTH,
) -> TreatmentSplit:
    """Split each subject's follow-up (0, time] where a treatment starts (R ``tmerge`` + ``tdc``).

    ``start_days``: days from diagnosis to the start of each treatment (null = never), a
    column name, a list of them (indicators ``tx_<column>``) or a mapping indicator name ->
    column. A start time s = days / ``days_per_unit`` (30.4375: months, as the NCDB's
    DX_LASTCONTACT_DEATH_MONTHS) splits (0, T] into (0, s] and (s, T] when 0 < s < T; the
    indicator is 1 on the intervals with tstart >= s. s = 0: treated from the start; s >= T:
    no change (counted in ``treatments[k].after_follow_up``). Rows with a missing id, time
    or event, and rows with time = 0 (no time at risk, as the R fixture drops them) are left
    out and counted. Output sorted by id, tstart.
    """
    frame = to_polars(data)
    columns = _treatment_columns(start_days)
    complete, n_missing, n_zero, warnings = _checked(frame, id, time, event)
    if not columns:
        raise ValueError("start_days names no column")
    complete = complete.sort(id)
    switch = np.column_stack(
        [_start_days(complete, column) / days_per_unit for column in columns.values()]
    )
    t_end = complete.get_column(time).cast(pl.Float64).to_numpy()
    status = complete.get_column(event).cast(pl.Int64).to_numpy()
    n = complete.height
    counts = []
    for k, (name, column) in enumerate(columns.items()):
        s = switch[:, k]
        given = ~np.isnan(s)
        counts.append(
            TreatmentCounts(
                name, column,
                never=int((~given).sum()),
                at_start=int((given & (s == 0)).sum()),
                during_follow_up=int((given & (s > 0) & (s < t_end)).sum()),
                after_follow_up=int((given & (s >= t_end)).sum()),
            )
        )  # fmt: skip
    cuts = np.where((switch > 0) & (switch < t_end[:, None]), switch, np.inf)
    cuts.sort(axis=1)
    if cuts.shape[1] > 1:  # several treatments starting the same day: one cut
        cuts[:, 1:][cuts[:, 1:] == cuts[:, :-1]] = np.inf
        cuts.sort(axis=1)
    inner = np.isfinite(cuts)
    pieces = 1 + inner.sum(axis=1)
    subject = np.repeat(np.arange(n), pieces)
    first = np.cumsum(pieces) - pieces
    last = first + pieces - 1
    tstart = np.zeros(subject.size)
    cut_values = cuts[inner]  # row-major: each subject's cuts in increasing order
    not_first = np.ones(subject.size, dtype=bool)
    not_first[first] = False
    tstart[not_first] = cut_values
    tstop = np.empty(subject.size)
    not_last = np.ones(subject.size, dtype=bool)
    not_last[last] = False
    tstop[not_last] = cut_values
    tstop[last] = t_end
    split_event = np.zeros(subject.size, dtype=np.int64)
    split_event[last] = status

    carried = complete.drop(time, event)[subject]
    indicators = {
        name: (~np.isnan(switch[subject, k]) & (switch[subject, k] <= tstart)).astype(np.int64)
        for k, name in enumerate(columns)
    }
    rows = carried.select(id).with_columns(
        pl.Series("tstart", tstart),
        pl.Series("tstop", tstop),
        pl.Series(event, split_event),
        *(pl.Series(name, values) for name, values in indicators.items()),
    )
    rest = carried.drop(id, *[c for c in indicators if c in carried.columns])
    out = pl.concat([rows, rest], how="horizontal")
    return TreatmentSplit(
        data=out,
        time_unit_days=days_per_unit,
        n_input=frame.height,
        n_excluded_missing=n_missing,
        n_excluded_no_time_at_risk=n_zero,
        n_subjects=n,
        treatments=tuple(counts),
        warnings=tuple(warnings),
    )


def landmark(
    data: Any,
    *,
    at: float,
    id: str,
    time: str,
    event: str,
    start_days: str | Sequence[str] | Mapping[str, str],
    days_per_unit: float = DAYS_PER_MONTH,
) -> LandmarkData:
    """Landmark cohort at time ``at`` (same unit as ``time``): subjects with time > at, the
    exposure "treatment started at or before ``at``" (days / ``days_per_unit`` <= at), time
    re-based to time − at (the time column keeps its name). Everyone left out is counted:
    missing id/time/event, time = 0, and event or censoring by the landmark (0 < time <= at).
    ``start_days`` as in `split_at_treatment`.
    """
    if not np.isfinite(at) or at < 0:
        raise ValueError(f"at must be a finite time >= 0, got {at!r}")
    frame = to_polars(data)
    columns = _treatment_columns(start_days)
    complete, n_missing, n_zero, warnings = _checked(frame, id, time, event)
    for column in columns.values():
        _start_days(complete, column)
    t = pl.col(time).cast(pl.Float64)
    kept = complete.filter(t > at)
    treated, after = {}, {}
    exposures = []
    for name, column in columns.items():
        start = _start_days(kept, column) / days_per_unit
        by_landmark = ~np.isnan(start) & (start <= at)
        treated[name] = int(by_landmark.sum())
        after[name] = int((~np.isnan(start) & (start > at)).sum())
        exposures.append(pl.Series(name, by_landmark.astype(np.int64)))
    out = kept.with_columns(t - at, *exposures)
    return LandmarkData(
        data=out,
        at=float(at),
        n_input=frame.height,
        n_excluded_missing=n_missing,
        n_excluded_no_time_at_risk=n_zero,
        n_excluded_event_or_censored_by_landmark=complete.height - kept.height,
        treated=treated,
        treated_after_landmark=after,
        warnings=tuple(warnings),
    )
