"""CLI commands (cohort): registered on the main app by `register`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

FIGURE_STEM = "fig1_inclusion_flow"


def _load_data(data: Path | None, seed: int):
    """The PUF to apply the study to: `--data`, else the synthetic PUF (82,987 rows)."""
    if data is not None:
        from regsurv.io import read_puf

        return read_puf(data)
    from regsurv.synth.generate import synthetic_puf

    return synthetic_puf(seed=seed)


def cohort(
    out: Annotated[Path, typer.Option("--out", help="Output folder.", file_okay=False)],
    data: Annotated[
        Path | None,
        typer.Option(
            "--data",
            help="NCDB PUF file (.dat, .csv, .parquet, ...); default: the synthetic PUF.",
            dir_okay=False,
        ),
    ] = None,
    study: Annotated[
        Path | None,
        typer.Option("--study", help="Study file (TOML); default: the shipped study."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic PUF (without --data).")] = 0,
    excluded_ids: Annotated[
        bool, typer.Option(help="Also write the excluded case ids with their step.")
    ] = False,
) -> None:
    """Build the analytic cohort: Fig. 1 (PNG, SVG, PDF), the flow (CSV), the cohort (Parquet)."""
    from polars.exceptions import PolarsError

    from regsurv.cohort import build_cohort, group_counts
    from regsurv.cohort import excluded_ids as excluded
    from regsurv.pipeline.spec import load_study
    from regsurv.report.flow_diagram import CohortFlowDisplay

    try:
        spec = load_study(study)
        frame = _load_data(data, seed)
        lazy, flow = build_cohort(frame, spec)
        analytic = lazy.collect()
    except (ValueError, OSError, PolarsError) as exc:
        typer.echo(f"error: {str(exc).splitlines()[0]}", err=True)
        raise typer.Exit(1) from None
    out.mkdir(parents=True, exist_ok=True)
    exposure = spec.cohort.exposure_group
    groups = group_counts(analytic, exposure) if analytic.height and exposure else {}
    display = CohortFlowDisplay.from_result(flow, groups)
    display.save(out / FIGURE_STEM)
    display.close()
    flow.to_frame().write_csv(out / "cohort_flow.csv")
    if excluded_ids:
        excluded(frame, spec.cohort).write_csv(out / "excluded_ids.csv")
    if analytic.height == 0:
        emptied = next(s for s in flow.steps if s.n_after == 0)
        typer.echo(
            f"error: the criteria exclude everyone: 0 of {flow.n_start:,} rows remain after step "
            f"{emptied.id!r} ({emptied.label}); flow diagram written to {out}",
            err=True,
        )
        raise typer.Exit(1)
    analytic.write_parquet(out / "cohort.parquet")
    summary = ", ".join(f"{name} {n:,}" for name, n in groups.items())
    typer.echo(f"{flow.n_start:,} -> {flow.n_final:,} patients ({summary}); outputs in {out}")


def register(app: typer.Typer) -> None:
    """Add this module's commands to `app`."""
    app.command("cohort")(cohort)
