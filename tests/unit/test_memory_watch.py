"""When a SIGKILL is blamed on memory: only with evidence (an OOM-kill counter, memory near the limit)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from greentui.core.models import memory_watch
from greentui.core.models.memory_watch import MemoryWatch, memory_limit_bytes, oom_kill_count


@pytest.fixture
def hog() -> subprocess.Popen[bytes]:
    """A process holding about 64 MiB, touched so that it is resident."""
    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys,time; b=bytearray(64<<20); print('up', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stdout.readline() == b"up\n"
    yield proc
    proc.kill()
    proc.wait()


def test_the_limit_and_the_counter_read_on_this_machine() -> None:
    assert memory_limit_bytes() > 0
    assert oom_kill_count() >= 0


def test_far_from_the_limit_nothing_points_to_memory(hog: subprocess.Popen[bytes]) -> None:
    watch = MemoryWatch.start(hog.pid)
    watch.sample(force=True)
    assert watch.last_rss_bytes is not None and watch.last_rss_bytes > 60 << 20
    if watch.available_share is not None and watch.available_share < memory_watch.LOW_AVAILABLE_SHARE:
        pytest.skip("this machine is short of memory right now")
    assert watch.out_of_memory_hint() is None


def test_near_the_limit_it_says_how_near(hog: subprocess.Popen[bytes]) -> None:
    watch = MemoryWatch(pid=hog.pid, limit_bytes=70 << 20, oom_kills_at_start=oom_kill_count())
    watch.sample(force=True)
    hint = watch.out_of_memory_hint()
    assert hint is not None and "GiB of a 0.1 GiB limit" in hint


def test_an_oom_kill_counted_meanwhile_is_evidence(
    monkeypatch: pytest.MonkeyPatch, hog: subprocess.Popen[bytes]
) -> None:
    watch = MemoryWatch.start(hog.pid)
    monkeypatch.setattr(memory_watch, "oom_kill_count", lambda: watch.oom_kills_at_start + 1)
    assert watch.out_of_memory_hint() == "the kernel reports an out-of-memory kill meanwhile"


def test_samples_are_throttled(hog: subprocess.Popen[bytes]) -> None:
    watch = MemoryWatch.start(hog.pid)
    watch.sample()
    first = watch._next_mono_s
    watch.sample()  # within the period: no new sample
    assert watch._next_mono_s == first
