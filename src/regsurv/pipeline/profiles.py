"""Analysis profiles: the statistical choices a report is made with, named in every table note.

``sas`` reproduces the paper's SAS 9.4 analysis (PROC PHREG's default Breslow ties, PROC
LIFETEST's default log-log confidence intervals, IPTW weights normalized to N); ``r`` follows
R ``survival``'s and ``WeightIt``'s defaults (Efron ties, log intervals, weights not rescaled).
Hazard ratios, robust SEs and weighted KM estimates do not change when all weights are rescaled.
"""

from __future__ import annotations

from dataclasses import dataclass

from regsurv.errors import UsageError


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    ties: str
    conf_type: str
    normalize_weights: bool
    description: str

    def note(self) -> str:
        """One sentence naming the choices, for table notes."""
        return (
            f"Profile '{self.name}': {self.ties.capitalize()} ties for Cox models, "
            f"{self.conf_type} "
            f"confidence intervals for survival, IPTW weights "
            f"{'normalized to N' if self.normalize_weights else 'not normalized'}."
        )


PROFILES: dict[str, Profile] = {
    "sas": Profile("sas", "breslow", "log-log", True, "the paper's SAS 9.4 analysis"),
    "r": Profile("r", "efron", "log", False, "R survival's and WeightIt's defaults"),
}


def get_profile(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise UsageError(
            f"--profile must be one of {', '.join(sorted(PROFILES))}, not {name!r}"
        ) from None
