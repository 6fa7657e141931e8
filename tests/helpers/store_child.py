"""A separate greentui process writing one session, for the store's multi-process tests.

    python -m tests.helpers.store_child DB SESSION_ID N_ITEMS [--hang]

Writes a simulated live session through ``SessionStore.writer()``. With ``--hang`` it stops after N_ITEMS
scored items, flushes, prints ``READY`` and keeps streaming power samples until it is killed; otherwise it
writes the whole session, closes the writer and prints ``DONE`` (or ``ERROR <message>``).
"""

from __future__ import annotations

import random
import sys
import time
import zlib

from greentui.core.records import PowerSampled
from greentui.store import SessionStore
from tests.helpers.store_events import LiveSession, realistic_samples


def main(argv: list[str]) -> int:
    path, session_id, n_items = argv[0], argv[1], int(argv[2])
    hang = "--hang" in argv
    errors: list[str] = []
    store = SessionStore(path)
    writer = store.writer(on_error=lambda e: errors.append(str(e)), flush_interval_s=0.05)
    live = LiveSession(
        session_id,
        n_items=n_items + 2 if hang else n_items,
        sample_hz=50.0,
        stop_after_items=n_items if hang else None,
        seed=zlib.crc32(session_id.encode()),
    )
    for event in live.events():
        writer.handle(event)
    if hang:
        writer.flush()
        print("READY", flush=True)
        rng, t, energy = random.Random(1), 10_000.0, [0.0, 0.0]
        while True:  # a sampler thread that never stops: the parent kills this process mid-batch
            for sample in realistic_samples(t, 0.02, energy, rng):
                writer.handle(PowerSampled(sample=sample))
            t += 0.02
            time.sleep(0.001)
    writer.close()
    print(f"ERROR {errors[0]}" if errors else "DONE", flush=True)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
