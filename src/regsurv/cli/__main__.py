"""``python -m regsurv.cli``: the same as the ``regsurv`` console script."""

from regsurv.cli import main

main()
