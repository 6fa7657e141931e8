"""Whose energy a served lane's windows hold: the session's view of where each served model does its work.

An in-process model runs in greentui's own worker, on the device its spec names. A served model runs in a server:
its energy is this machine's only when the server runs here. :class:`ServedEnergy` locates each served lane's
server once, as the session starts (:func:`~greentui.core.measure.server_process.locate_server`), and the session
asks it three things:

* which GPUs to measure: the ones where NVML lists the server's processes, instead of "GPU 0" for a served spec
  (whose device is ``auto``); in-process lanes keep theirs;
* which processes the CPU estimate charges: a local server's own processes (their children are followed by the
  estimate), instead of greentui's worker, which only relays HTTP;
* what an item's window is worth: a remote server's, or one whose process was not found, is not measured here --
  the window's joules become None, never 0 and never this machine's power, and its source becomes the one line
  "energy not measured here: <why>" that the lane, the verdict and the exports show.

A server may put its model on a GPU only at its first request (Ollama starts a runner when asked; the lane's
warm-up request does that). The GPUs are therefore checked again at the lane's first item: a server found then on
a GPU that was not measured from the start is "not measured here" too, rather than a figure that misses its board.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from greentui.core.measure.server_process import ServerLocation, locate_server
from greentui.core.models.spec import ModelSpec
from greentui.core.records import SIDES, Measurement, Side

NOT_MEASURED_PREFIX = "energy not measured here"
# a late GPU (see the module docstring)
_LATE_GPU = (
    NOT_MEASURED_PREFIX + ": the server {address} started using GPU {gpus} after greentui chose what to measure; "
    "run the session again now that its model is loaded"
)

Locate = Callable[..., ServerLocation]


def is_not_measured(source: str | None) -> bool:
    """True when an energy source text is a "not measured here" line (a served lane measured elsewhere)."""
    return bool(source) and str(source).startswith(NOT_MEASURED_PREFIX)


class ServedEnergy:
    """Where the served lanes of one session do their work (see the module docstring). No served lane: inert."""

    def __init__(self, locations: Mapping[Side, ServerLocation], *, locate: Locate | None = None) -> None:
        self.locations: dict[Side, ServerLocation] = dict(locations)
        self._locate = locate
        self._measured_gpus: set[int] = set()
        self._rechecked: set[Side] = set()

    @classmethod
    def locate(cls, specs: Mapping[Side, ModelSpec], *, locate: Locate = locate_server) -> ServedEnergy:
        """Locate the server of each served spec in ``specs`` (side -> spec; in-process specs are left alone)."""
        found: dict[Side, ServerLocation] = {}
        for side, spec in specs.items():
            endpoint = spec.endpoint
            if endpoint is not None and side in SIDES:
                found[side] = locate(endpoint.host, endpoint.port, pid=endpoint.pid)
        return cls(found, locate=locate)

    def note(self, side: Side) -> str | None:
        """The lane's "energy not measured here: <why>" line, or None when its energy is measured (or it is not
        served)."""
        location = self.locations.get(side)
        return None if location is None else location.not_measured

    # ---- what to measure ---------------------------------------------------------------------------------
    def gpu_indices(self, in_process: Iterable[int]) -> list[int]:
        """The GPUs to measure: ``in_process`` (the in-process lanes') and those the local servers run on."""
        indices = set(in_process)
        for location in self.locations.values():
            if location.measured:
                indices.update(location.gpu_indices)
        self._measured_gpus = set(indices)
        return sorted(indices)

    def pids_by_side(self, worker_pids: Mapping[Side, int | None]) -> dict[Side, list[int]]:
        """Per lane, the processes that do its work: a local server's, else greentui's worker (None: none yet).
        A served lane not measured here has none: this machine's processes are not its cost."""
        pids: dict[Side, list[int]] = {}
        for side, pid in worker_pids.items():
            location = self.locations.get(side)
            if location is None:
                pids[side] = [pid] if pid else []
            else:
                pids[side] = list(location.pids) if location.measured else []
        return pids

    def pids(self, worker_pids: Mapping[Side, int | None]) -> list[int]:
        """All the processes of :meth:`pids_by_side`, for a power source that takes one list."""
        return sorted({pid for pids in self.pids_by_side(worker_pids).values() for pid in pids})

    # ---- what a window is worth ------------------------------------------------------------------------
    def item_measurement(self, side: Side, measurement: Measurement) -> Measurement:
        """``measurement`` as it counts for this lane: unchanged for an in-process lane or a measured server;
        joules None and the "not measured here" line as its source for a server measured elsewhere."""
        location = self.locations.get(side)
        if location is None:
            return measurement
        if location.measured and side not in self._rechecked:
            self._rechecked.add(side)
            self.locations[side] = location = self._recheck(location)
        if location.measured:
            return measurement
        return dataclasses.replace(
            measurement, joules=None, per_device_j=(), method="none", source=str(location.not_measured)
        )

    def _recheck(self, location: ServerLocation) -> ServerLocation:
        """The lane's server looked up again (once, at its first item): a GPU it uses now that was not measured
        from the start makes it "not measured here"."""
        if self._locate is None:
            return location
        host, _, port = location.address.rpartition(":")
        pid = location.pids[0] if location.how_found.startswith("pid") and location.pids else None
        try:
            now = self._locate(host.strip("[]"), int(port), pid=pid)
        except Exception:  # looking again is a check, not a requirement: keep what was found at the start
            return location
        late = sorted(set(now.gpu_indices) - self._measured_gpus)
        if not now.measured or not late:
            return location
        line = _LATE_GPU.format(address=location.address, gpus=", ".join(str(g) for g in late))
        return dataclasses.replace(location, gpu_indices=tuple(sorted(now.gpu_indices)), not_measured=line)

    # ---- what the session stores -----------------------------------------------------------------------
    def settings(self) -> dict[str, dict[str, Any]]:
        """JSON-safe, per served lane: where the server is and whether (and how) its energy is measured. Stored
        in the session's settings as ``served_energy``."""
        return {
            side: {
                "address": location.address,
                "local": location.local,
                "pids": list(location.pids),
                "gpu_indices": list(location.gpu_indices),
                "how_found": location.how_found,
                "not_measured": location.not_measured,
            }
            for side, location in sorted(self.locations.items())
        }
