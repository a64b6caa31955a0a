"""`python -m regsurv.cli`: the command line."""

from regsurv.cli import main

main()
