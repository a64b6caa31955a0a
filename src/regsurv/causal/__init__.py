"""regsurv.causal."""
