"""regsurv.cohort."""
