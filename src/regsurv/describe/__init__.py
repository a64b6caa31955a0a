"""regsurv.describe."""
