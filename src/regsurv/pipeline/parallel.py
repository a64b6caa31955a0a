"""Where the resampling steps of a run execute: ``regsurv run --workers N --scheduler ADDRESS``.

The bootstrap (`regsurv.causal.bootstrap_iptw_cox`) and the imputation chains
(`regsurv.causal.multiple_imputation`) run through joblib. Without a scheduler they use
joblib's default backend (loky processes) with ``--workers`` processes (default: every core);
with ``--scheduler`` a ``distributed.Client`` connects to that Dask scheduler and
``joblib.parallel_config(backend="dask")`` sends the work to its workers (``--workers``, if
given, caps the number of concurrent tasks). Every replicate and every chain draws from its own
seed, so the same study seed gives the same numbers on one process, on loky and on Dask.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from regsurv.errors import UsageError

#: Seconds to wait for a Dask scheduler before the run stops with a usage error.
CONNECT_TIMEOUT = 5


def check_workers(workers: int | None) -> int:
    """The joblib ``n_jobs`` of ``--workers`` (None: -1, every core or every Dask worker)."""
    if workers is None:
        return -1
    if workers < 1:
        raise UsageError(f"--workers: {workers} is not a number of workers (give 1 or more)")
    return workers


def _reason(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _reachable(scheduler: str, timeout: float) -> None:
    """A TCP address must accept a connection (checked before Dask tries, whose failed client
    would print a traceback when collected); other protocols are left to Dask."""
    import socket
    from urllib.parse import urlsplit

    if "://" in scheduler and not scheduler.startswith(("tcp://", "tls://")):
        return
    parts = urlsplit(scheduler if "://" in scheduler else f"tcp://{scheduler}")
    try:
        host, port = parts.hostname, parts.port
    except ValueError as exc:  # a port that is not a number
        raise UsageError(f"--scheduler: {scheduler!r} is not an address ({exc})") from None
    if not host or port is None:
        raise UsageError(f"--scheduler: {scheduler!r} is not an address (give tcp://HOST:PORT)")
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as exc:
        raise UsageError(
            f"--scheduler: cannot reach {scheduler!r} ({exc.strerror or _reason(exc)})"
        ) from None


@contextmanager
def parallel_backend(
    workers: int | None = None, scheduler: str | None = None, *, timeout: float = CONNECT_TIMEOUT
) -> Iterator[int]:
    """Run the body on the backend of ``--workers`` / ``--scheduler``; yields ``n_jobs``.

    An unreachable scheduler, a malformed address or a missing ``distributed`` package is a
    `UsageError` (exit 2) naming the option.
    """
    n_jobs = check_workers(workers)
    if scheduler is None:
        yield n_jobs
        return
    try:
        import distributed
    except ImportError:
        raise UsageError(
            "--scheduler: needs the optional package 'distributed' (pip install 'regsurv[dask]')"
        ) from None
    import joblib

    _reachable(scheduler, timeout)
    try:
        client = distributed.Client(scheduler, timeout=f"{timeout}s", set_as_default=True)
    except Exception as exc:  # whatever the address answered: not a Dask scheduler
        raise UsageError(f"--scheduler: cannot connect to {scheduler!r} ({_reason(exc)})") from None
    with client, joblib.parallel_config(backend="dask"):
        yield n_jobs
