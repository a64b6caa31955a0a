"""``regsurv run --workers N`` and ``--scheduler ADDRESS``: the same study seed gives the same
bootstrap intervals in one process, on 2 loky workers and on a Dask cluster (a LocalCluster
reached by its TCP address, as a remote scheduler would be)."""

from __future__ import annotations

import copy
import json
import tomllib

import pytest
from typer.testing import CliRunner

from regsurv.cli import app
from regsurv.errors import UsageError
from regsurv.pipeline.parallel import check_workers, parallel_backend
from regsurv.studies import study_path

from ._toml import write_study


def _bootstrap_study(tmp_path):
    raw = copy.deepcopy(tomllib.loads(study_path().read_text(encoding="utf-8")))
    raw["report"].pop("targets", None)
    next(a for a in raw["analyses"] if a["id"] == "iptw")["n_boot"] = 6
    return write_study(tmp_path / "study.toml", raw)


def _bootstrap(tmp_path, study, name, *options):
    out = tmp_path / name
    args = ["run", "--study", study, "--only", "iptw", "--out", str(out), *options]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return json.loads((out / "results.json").read_text(encoding="utf-8"))["analyses"]["iptw"][
        "bootstrap"
    ]


@pytest.mark.slow
def test_one_process_loky_and_dask_give_the_same_intervals(tmp_path):
    distributed = pytest.importorskip("distributed")
    study = _bootstrap_study(tmp_path)
    one = _bootstrap(tmp_path, study, "one", "--workers", "1")
    loky = _bootstrap(tmp_path, study, "loky", "--workers", "2")
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=False,
        protocol="tcp",
        host="127.0.0.1",
        dashboard_address=None,
    ) as cluster:
        on_dask = _bootstrap(tmp_path, study, "dask", "--scheduler", cluster.scheduler_address)
    assert one["n_boot"] == 6 and one["n_failed"] == 0
    assert one == loky == on_dask


def test_workers_must_be_positive():
    assert check_workers(None) == -1 and check_workers(3) == 3
    with pytest.raises(UsageError, match=r"--workers: 0 is not a number of workers"):
        check_workers(0)


def test_a_scheduler_that_refuses_is_a_usage_error():
    refused = r"--scheduler: cannot reach 'tcp://127\.0\.0\.1:1'"
    with pytest.raises(UsageError, match=refused), parallel_backend(2, "tcp://127.0.0.1:1"):
        pass


def test_without_a_scheduler_the_workers_are_the_n_jobs():
    with parallel_backend(2) as n_jobs:
        assert n_jobs == 2
