"""regsurv.io."""
