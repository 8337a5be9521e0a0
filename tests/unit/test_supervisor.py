"""The supervisor on a driven clock: crashed tasks restart with backoff, hung tasks are cancelled and
restarted, hung or dead workers get a fresh thread and their waiting callers are told."""

from __future__ import annotations

import asyncio
import threading

import pytest

from avatar.engines.worker import ModelWorker, WorkerRestarted
from avatar.media.clock import ManualClock
from avatar.ops.supervisor import BACKOFF_FIRST_S, Supervisor


async def test_a_crashing_task_is_restarted_with_growing_backoff() -> None:
    clock = ManualClock()
    supervisor = Supervisor(clock, check_interval_s=0.01)
    starts: list[float] = []

    async def crashes() -> None:
        starts.append(clock.now())
        raise RuntimeError("boom")

    supervisor.task("flaky", crashes)
    await supervisor.start()
    await clock.advance(1.0)
    await supervisor.stop()
    stage = supervisor.stages["flaky"]
    assert len(starts) >= 4 and stage.restarts == len(starts) - 1 and stage.errors >= stage.restarts
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    assert gaps[0] >= BACKOFF_FIRST_S and all(b > a for a, b in zip(gaps, gaps[1:], strict=False))
    assert "boom" in stage.last_error


async def test_a_task_without_progress_is_cancelled_and_restarted() -> None:
    clock = ManualClock()
    supervisor = Supervisor(clock, check_interval_s=0.1)
    progress = {"n": 0, "runs": 0}

    async def stalls_once() -> None:
        progress["runs"] += 1
        if progress["runs"] == 1:
            await asyncio.Event().wait()  # hangs without progress
        while True:
            progress["n"] += 1
            await clock.sleep_until(clock.now() + 0.05)

    supervisor.task("worker-loop", stalls_once, progress=lambda: progress["n"], hang_s=0.5)
    await supervisor.start()
    await clock.advance(2.0)
    stage = supervisor.stages["worker-loop"]
    assert stage.restarts == 1 and "hung" in stage.last_error and stage.state == "ok"
    assert progress["n"] > 10
    await supervisor.stop()


async def test_a_hung_worker_gets_a_fresh_thread_and_its_caller_is_told() -> None:
    clock = ManualClock()
    supervisor = Supervisor(clock, check_interval_s=0.1)
    worker = ModelWorker("model")
    supervisor.watch_worker("model", worker, hang_s=1.0)
    await supervisor.start()
    release = threading.Event()
    try:
        call = asyncio.create_task(worker.run(release.wait, 30))
        queued = asyncio.create_task(worker.run(lambda: 7))  # waits in line behind the hung call
        await asyncio.sleep(0.01)
        assert worker.busy
        await clock.advance(1.5)
        with pytest.raises(WorkerRestarted) as hung:
            await asyncio.wait_for(call, 2)
        with pytest.raises(WorkerRestarted) as waited:
            await asyncio.wait_for(queued, 2)
        # The caller can tell the call that hung from one that never ran (and may be retried).
        assert hung.value.started and not waited.value.started
        assert supervisor.stages["model"].restarts == 1
        assert await worker.run(lambda: 42) == 42, "new work runs on the fresh thread"
    finally:
        release.set()
        await supervisor.stop()
        worker.close()


async def test_a_dead_worker_is_revived_and_a_healthy_idle_one_left_alone() -> None:
    clock = ManualClock()
    supervisor = Supervisor(clock, check_interval_s=0.1)
    dead, idle = ModelWorker("dead"), ModelWorker("idle")
    supervisor.watch_worker("dead", dead, hang_s=1.0)
    supervisor.watch_worker("idle", idle, hang_s=1.0)
    await supervisor.start()
    dead.close()
    await clock.advance(5.0)
    assert supervisor.stages["dead"].restarts == 1 and dead.alive
    assert supervisor.stages["idle"].restarts == 0 and supervisor.healthy
    assert await dead.run(lambda: "ok") == "ok"
    await supervisor.stop()
    dead.close()
    idle.close()


async def test_reported_errors_are_counted_without_restarts() -> None:
    supervisor = Supervisor(ManualClock())
    supervisor.error("tts", ValueError("bad text"))
    supervisor.error("tts", "again")
    assert supervisor.health()["tts"] == {
        "state": "starting",
        "errors": 2,
        "restarts": 0,
        "last_error": "again",
    }
