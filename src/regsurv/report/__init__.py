"""regsurv.report."""
