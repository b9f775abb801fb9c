"""The run directory's coordinator files: the lock, the state file, and cleaning up after a
coordinator that died.

    <run_dir>/coordinator.lock   flock'ed by the live coordinator for its whole life; the
                                 kernel drops it when the coordinator dies, even by kill -9
    <run_dir>/coordinator.state  what a restarted coordinator needs to adopt the running
                                 actors (actors/runstate.py), rewritten atomically, 0600
    <run_dir>/actors, control    the coordinator's ipc sockets

Whoever holds the lock owns these files.  A new coordinator takes it before it reads the
state or binds anything, so two coordinators never supervise one pipeline; an actor that
leaves because no coordinator came back takes it before removing the dead one's files, so it
never removes them under a coordinator that is just starting.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time

from actors.runtime.transport import prepare_run_dir

LOCK_FILE = "coordinator.lock"
STATE_FILE = "coordinator.state"
COORDINATOR_FILES = ("actors", "control", STATE_FILE)  # sockets: see Coordinator, Topology
LOCK_WAIT_S = 1.0  # an exiting actor holds the lock for microseconds; a coordinator forever


class CoordinatorRunning(RuntimeError):
    pass


def acquire_lock(run_dir: str) -> int:
    """Take the coordinator lock of ``run_dir`` (created owner-only if needed); returns the
    descriptor to keep open for as long as we coordinate."""
    path = os.path.join(run_dir, LOCK_FILE)
    deadline = time.monotonic() + LOCK_WAIT_S
    while True:
        prepare_run_dir(run_dir)  # an exiting actor may have just removed an empty run dir
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        except FileNotFoundError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            os.close(fd)
            if time.monotonic() >= deadline:
                raise CoordinatorRunning(
                    f"{run_dir}: a coordinator (pid {holder}) already runs this pipeline"
                ) from None
            time.sleep(0.05)
            continue
        if _same_file(fd, path):  # not unlinked between our open and our lock
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            return fd
        os.close(fd)


def release_lock(fd: int, run_dir: str) -> None:
    """Give up the lock.  If nothing else is left in the run dir, the lock file and the dir
    go too; otherwise the lock file stays, for the actors still running there (a refused
    adoption) to take when they clean up after their coordinator."""
    path = os.path.join(run_dir, LOCK_FILE)
    with contextlib.suppress(OSError):
        if os.listdir(run_dir) == [LOCK_FILE] and _same_file(fd, path):
            os.unlink(path)
            os.rmdir(run_dir)
    os.close(fd)


def clean_after_coordinator(run_dir: str) -> None:
    """For an actor leaving because no coordinator came back: remove the dead coordinator's
    files, and the run dir once nothing else is in it.  Does nothing while a coordinator
    holds the lock; the last actor to leave finds the directory empty and removes it."""
    path = os.path.join(run_dir, LOCK_FILE)
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:  # no coordinator ever ran here, or someone cleaned already
        with contextlib.suppress(OSError):
            os.rmdir(run_dir)
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return  # a coordinator is here (or starting): its files are its own
        if not _same_file(fd, path):
            return
        for name in COORDINATOR_FILES:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(run_dir, name))
        if os.listdir(run_dir) == [LOCK_FILE]:
            os.unlink(path)
            with contextlib.suppress(OSError):
                os.rmdir(run_dir)
    finally:
        os.close(fd)


def write_state(run_dir: str, data: bytes) -> None:
    """Replace the state file atomically: a reader sees the old or the new, never half."""
    path = os.path.join(run_dir, STATE_FILE)
    tmp = f"{path}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def read_state(run_dir: str) -> bytes | None:
    try:
        with open(os.path.join(run_dir, STATE_FILE), "rb") as f:
            return f.read()
    except FileNotFoundError:
        return None


def remove_state(run_dir: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(os.path.join(run_dir, STATE_FILE))


def _same_file(fd: int, path: str) -> bool:
    try:
        return os.stat(path).st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
        return False
