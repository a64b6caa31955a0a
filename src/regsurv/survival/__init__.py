"""regsurv.survival."""
