"""regsurv.synth."""
