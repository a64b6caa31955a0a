"""regsurv.causal."""

# IPTW (propensity model, weights, balance, weighted survival, bootstrap)
from regsurv.causal.balance import BalanceTable, balance_table
from regsurv.causal.bootstrap import BootstrapResult, bootstrap_iptw_cox
from regsurv.causal.evalue import EValues, cox_evalues, evalue
from regsurv.causal.imputation import Imputations, multiple_imputation
from regsurv.causal.matching import (  # matching: two groups (nearest) and triplets
    MatchedSurvival,
    Matching,
    match_nearest,
    match_triplets,
    matched_balance,
    matched_survival,
)
from regsurv.causal.matching_spec import MatchingSpec
from regsurv.causal.propensity import PropensityModel, PropensityWarning
from regsurv.causal.rubin import PooledResult, mi_cox, mi_iptw_cox, pool_cox, rubin_pool
from regsurv.causal.spec import PropensitySpec
from regsurv.causal.weighted import IPTWSurvival, iptw_survival
from regsurv.causal.weights import Weights, iptw_weights

__all__ = [
    # IPTW
    "BalanceTable",
    "BootstrapResult",
    "EValues",
    "IPTWSurvival",
    "Imputations",
    "MatchedSurvival",
    "Matching",
    "MatchingSpec",
    "PooledResult",
    "PropensityModel",
    "PropensitySpec",
    "PropensityWarning",
    "Weights",
    "balance_table",
    "bootstrap_iptw_cox",
    "cox_evalues",
    "evalue",
    "iptw_survival",
    "iptw_weights",
    "match_nearest",
    "match_triplets",
    "matched_balance",
    "matched_survival",
    "mi_cox",
    "mi_iptw_cox",
    "multiple_imputation",
    "pool_cox",
    "rubin_pool",
]
