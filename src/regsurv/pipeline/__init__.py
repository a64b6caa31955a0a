"""regsurv.pipeline."""
