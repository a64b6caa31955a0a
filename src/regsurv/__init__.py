"""regsurv: from an NCDB Participant User File to a comparative-effectiveness survival study.

Stages, data flowing one way: ``io`` (read and validate the PUF) -> ``cohort`` (criteria, flow,
groups, recodes) -> ``describe`` (Table 1) -> ``survival`` (KM, log-rank, Cox) -> ``causal``
(propensity, weights, matching, balance) -> ``report``; ``pipeline`` runs a study, ``cli`` is
the command-line shell, ``synth`` writes the synthetic PUF.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("regsurv")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = ["__version__"]
