"""Output paths that never destroy what regsurv did not write.

* `prepare_output_folder` / `prepare_output_file` check an output path **before** any analysis:
  not empty (``--out ''``) nor the current folder, not a file where a folder is asked (and the
  reverse), not under a file, writable, holding no input (``--data``, ``--study``, ``--layout``,
  the targets file) and not one of them. ``--force`` replaces only a folder that carries the
  marker file `MARKER`, which regsurv writes into every output folder it creates.
* `staged_folder` / `staged_file` write into a hidden temporary sibling and publish it with a
  rename (atomic on one file system) only when everything succeeded. SIGTERM and SIGHUP raise
  `regsurv.errors.Interrupted` meanwhile, so the temporary files are removed and the command
  exits 128 + signal number; leftovers of a killed run (SIGKILL, power loss) are found by the
  next run on the same ``--out`` (`find_leftovers`), removed when their process is gone, and
  named.
* Permissions: a published folder gets ``0o777 & ~umask``, like the folders and files in it
  (``0o666 & ~umask``), never the 0700 of a ``mkdtemp`` folder.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from regsurv.errors import Interrupted, OutputError

MARKER = ".regsurv-output"
MARKER_TEXT = (
    "This folder was written by regsurv; `--force` may replace it as a whole.\n"
    "Delete this file to keep regsurv from ever replacing the folder.\n"
)
_STAGING, _RETIRED = "regsurv-tmp", "regsurv-old"
HANDLED_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


@dataclass(frozen=True, slots=True)
class OutputTarget:
    """A checked output path: `path` (absolute), `kind` ("folder" or "file"), whether it
    exists now (`replaces`), and leftovers of killed runs found beside it (`removed`: their
    process was gone, so they were deleted; `kept`: another run may still be writing them)."""

    path: Path
    kind: str
    replaces: bool
    removed: tuple[Path, ...] = ()
    kept: tuple[Path, ...] = ()

    def notes(self) -> list[str]:
        """One line per leftover, for the command to print as a warning."""
        lines = [f"removed {p}, left by an interrupted regsurv run" for p in self.removed]
        lines += [f"{p} belongs to a regsurv run still in progress; left alone" for p in self.kept]
        return lines


def current_umask() -> int:
    """The process umask (read by setting and restoring it)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _absolute(path: Path) -> Path:
    """`path` made absolute without following a final symbolic link."""
    path = Path(os.path.abspath(path))
    return path.parent.resolve() / path.name


def _inputs(inputs: Iterable[tuple[str, Path | None]]) -> list[tuple[str, Path]]:
    return [
        (option, Path(p).resolve()) for option, p in inputs if p is not None and Path(p).exists()
    ]


def _check_parent(path: Path, option: str) -> None:
    """The nearest existing ancestor of `path` must be a folder regsurv can write in."""
    ancestor = path.parent
    while not ancestor.exists():
        if ancestor.is_symlink():
            raise OutputError(f"{option} {path}: {ancestor} is a broken symbolic link")
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise OutputError(f"{option} {path}: {ancestor} is a file, not a folder")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise OutputError(f"{option} {path}: cannot write in {ancestor} (permission denied)")


def _check_text(out: Path | str, option: str) -> Path:
    text = str(out)
    if text.strip() == "":
        raise OutputError(f"{option} is empty; give the output path")
    path = Path(text)
    if path == Path(".") or _absolute(path) == Path.cwd().resolve():
        raise OutputError(f"{option} {text!r} is the current folder; give a new folder's name")
    return _absolute(path)


def prepare_output_folder(
    out: Path | str,
    *,
    inputs: Iterable[tuple[str, Path | None]] = (),
    force: bool = False,
    option: str = "--out",
) -> OutputTarget:
    """Check the output folder `out` before any work; see the module docstring.

    `inputs`: (option, path) pairs of the files the command reads; none may lie inside `out`.
    Raises `OutputError` (exit 5) naming the option and the problem.
    """
    path = _check_text(out, option)
    for name, source in _inputs(inputs):
        if source == path or source.is_relative_to(path):
            raise OutputError(
                f"{option} {path} holds the input {source} ({name}); replacing the folder "
                "would delete it, choose another folder"
            )
    if path.is_symlink():
        raise OutputError(f"{option} {path} is a symbolic link; give a real folder")
    replaces = path.exists()
    if replaces:
        if not path.is_dir():
            raise OutputError(f"{option} {path} is a file, not a folder")
        if any(path.iterdir()):
            if not force:
                raise OutputError(
                    f"{option} folder {path} is not empty; pass --force to replace a folder "
                    "regsurv wrote"
                )
            if not (path / MARKER).is_file():
                raise OutputError(
                    f"{option} folder {path} was not written by regsurv (no {MARKER} file in "
                    "it); --force replaces only regsurv's own folders"
                )
        if not os.access(path.parent, os.W_OK | os.X_OK):
            raise OutputError(f"{option} {path}: cannot write in {path.parent} (permission denied)")
    else:
        _check_parent(path, option)
    removed, kept = clean_leftovers(path)
    return OutputTarget(path, "folder", replaces, removed, kept)


def prepare_output_file(
    out: Path | str,
    *,
    inputs: Iterable[tuple[str, Path | None]] = (),
    option: str = "--out",
) -> OutputTarget:
    """Check the output file `out` before any work: not a folder, not an input, writable."""
    path = _check_text(out, option)
    for name, source in _inputs(inputs):
        if source == path.resolve():
            raise OutputError(f"{option} {path} is the input file ({name}); it would be replaced")
    if path.is_dir():
        raise OutputError(f"{option} {path} is a folder, not a file")
    if path.exists() and not os.access(path.parent, os.W_OK | os.X_OK):
        raise OutputError(f"{option} {path}: cannot write in {path.parent} (permission denied)")
    _check_parent(path, option)
    return OutputTarget(path, "file", path.exists())


# -- leftovers -----------------------------------------------------------------------------------


def _sibling(path: Path, kind: str) -> Path:
    return path.parent / f".{path.name}.{kind}-{os.getpid()}-{secrets.token_hex(4)}"


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def find_leftovers(out: Path | str) -> list[Path]:
    """Hidden staging (or replaced) folders of earlier runs beside `out`, with their marker."""
    path = _absolute(Path(out))
    if not path.parent.is_dir():
        return []
    found = []
    for kind in (_STAGING, _RETIRED):
        for candidate in path.parent.glob(f".{path.name}.{kind}-*-*"):
            if candidate.is_dir() and not candidate.is_symlink() and (candidate / MARKER).exists():
                found.append(candidate)
    return sorted(found)


def clean_leftovers(out: Path | str) -> tuple[tuple[Path, ...], tuple[Path, ...]]:
    """Remove leftovers of `out` whose process is gone; return (removed, kept)."""
    removed, kept = [], []
    for leftover in find_leftovers(out):
        try:
            pid = int(leftover.name.rsplit("-", 2)[-2])
        except ValueError:
            continue
        if _pid_alive(pid):
            kept.append(leftover)
        else:
            shutil.rmtree(leftover, ignore_errors=True)
            removed.append(leftover)
    return tuple(removed), tuple(kept)


# -- signals -------------------------------------------------------------------------------------


def _raise_interrupted(signum: int, _frame) -> None:
    raise Interrupted(signum)


@contextmanager
def interrupt_on_signals(signals: Iterable[int] = HANDLED_SIGNALS) -> Iterator[None]:
    """Within the block, SIGTERM and SIGHUP raise `Interrupted`, so ``finally`` blocks and
    context managers clean up; the previous handlers come back afterwards. (A no-op outside
    the main thread, where Python cannot set handlers.)"""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, _raise_interrupted) for s in signals}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


# -- staged writing ------------------------------------------------------------------------------


def _remove(path: Path) -> None:
    with suppress(FileNotFoundError):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink()


@contextmanager
def staged_folder(target: OutputTarget) -> Iterator[Path]:
    """Yield a hidden temporary folder beside `target.path`; on success it becomes the output
    folder (marker written, the old folder replaced), on any failure or signal it is removed."""
    if target.kind != "folder":
        raise ValueError("staged_folder needs a folder target")
    out = target.path
    with interrupt_on_signals():
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            tmp = _sibling(out, _STAGING)
            tmp.mkdir(mode=0o777)  # 0o777 & ~umask, like every folder the report creates
            (tmp / MARKER).write_text(MARKER_TEXT, encoding="utf-8")
        except OSError as exc:
            raise OutputError(f"--out {out}: cannot create it ({exc.strerror})") from None
        try:
            yield tmp
            _publish(tmp, out)
        finally:
            _remove(tmp)


def _publish(tmp: Path, out: Path) -> None:
    retired = None
    try:
        if out.exists():
            if any(out.iterdir()) and not (out / MARKER).is_file():  # changed since prepared
                raise OutputError(f"--out folder {out} was not written by regsurv; not replaced")
            retired = _sibling(out, _RETIRED)
            out.rename(retired)
        tmp.rename(out)
    except OSError as exc:
        if retired is not None and not out.exists():
            retired.rename(out)
        raise OutputError(f"--out {out}: cannot publish the output ({exc.strerror})") from None
    if retired is not None:
        _remove(retired)


@contextmanager
def staged_file(target: OutputTarget) -> Iterator[Path]:
    """Yield a hidden temporary file path in the folder of `target.path`; on success it is
    renamed onto the target (mode ``0o666 & ~umask``), on any failure or signal removed."""
    out = target.path
    with interrupt_on_signals():
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"--out {out}: cannot create {out.parent} ({exc.strerror})") from None
        tmp = out.parent / f".{out.name}.{_STAGING}-{os.getpid()}-{secrets.token_hex(4)}"
        try:
            yield tmp
            if tmp.exists():
                os.chmod(tmp, 0o666 & ~current_umask())
                try:
                    tmp.replace(out)
                except OSError as exc:
                    raise OutputError(f"--out {out}: cannot write it ({exc.strerror})") from None
        finally:
            _remove(tmp)
