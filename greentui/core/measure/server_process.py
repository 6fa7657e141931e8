"""Where a served model does its work: is its server on this host, which processes are it, which GPUs it uses.

A served model's energy can be measured only when its server runs on this machine: then NVML measures the GPUs
on which NVML lists the server's processes (``nvmlDeviceGetComputeRunningProcesses``), and RAPL or the CPU
estimate the CPU, the estimate charging the server's process tree. A remote server, or a local one whose process
cannot be found, gets :attr:`ServerLocation.not_measured`: one plain line, and the lane's energy stays None, never
0 and never this machine's power.

The locality check does no DNS lookup (tests may talk to 127.0.0.1 only, and a name that resolves elsewhere must
not be taken for this host): an address is local when it is a loopback or one of this machine's interface
addresses, ``localhost``, or this machine's own host name. Any other name is treated as another host.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import psutil

_ANY_ADDRESSES = {"0.0.0.0", "::", ""}


@dataclass(frozen=True, slots=True)
class ServerLocation:
    """What greentui found about one served model's server."""

    address: str  # "127.0.0.1:8000"
    local: bool
    pids: tuple[int, ...] = ()  # the server's processes (the estimate follows their children too)
    gpu_indices: tuple[int, ...] = ()  # CUDA indices, as greentui sees them, with the server's compute processes
    how_found: str = ""  # "listening on port 8000" | "pid given in the spec"
    not_measured: str | None = None  # None when measured; else the one line every view shows

    @property
    def measured(self) -> bool:
        return self.not_measured is None


def is_this_host(host: str) -> bool:
    """True when ``host`` names this machine, decided without DNS (see the module docstring)."""
    name = host.strip("[]").lower().rstrip(".")
    if name in ("localhost", "localhost.localdomain") or name.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return name == socket.gethostname().lower()  # the machine's own name, as it calls itself (no lookup)
    if address.is_loopback or address.is_unspecified:
        return True
    return str(address) in _interface_addresses()


def _interface_addresses() -> set[str]:
    found: set[str] = set()
    try:
        for addresses in psutil.net_if_addrs().values():
            for entry in addresses:
                if entry.family in (socket.AF_INET, socket.AF_INET6):
                    found.add(str(ipaddress.ip_address(entry.address.split("%", 1)[0])))
    except (OSError, ValueError):
        pass
    return found


def listening_pids(port: int, host: str) -> tuple[list[int], str | None]:
    """Processes listening on ``port`` at ``host`` (or at every address), and why none could be found."""
    try:
        connections = psutil.net_connections(kind="inet")
    except psutil.AccessDenied:
        return [], "listing this host's sockets needs more rights here (psutil: access denied)"
    wanted = host.strip("[]")
    pids: list[int] = []
    hidden = False
    for connection in connections:
        if connection.status != psutil.CONN_LISTEN or not connection.laddr or connection.laddr.port != port:
            continue
        bound = str(connection.laddr.ip)
        if bound not in _ANY_ADDRESSES and bound != wanted and not _both_loopback(bound, wanted):
            continue
        if connection.pid is None:
            hidden = True  # another user's process: its socket is visible, its owner is not
            continue
        pids.append(connection.pid)
    if not pids:
        why = "its owner is hidden from this user" if hidden else "no process listens there"
        return [], why
    return sorted(set(pids)), None


def _both_loopback(bound: str, host: str) -> bool:
    """A server bound to one loopback address answers ``localhost`` and the other loopback spellings."""
    try:
        bound_loopback = ipaddress.ip_address(bound).is_loopback
    except ValueError:
        return False
    if host.lower() == "localhost":
        return bound_loopback
    try:
        return bound_loopback and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# Processes that listen on a port for a server elsewhere: an SSH tunnel, a port-forward into a pod, a container's or
# VM's port mapping. Measuring them would charge this machine's power to a server that runs somewhere else.
PORT_FORWARDERS = (
    "ssh",
    "autossh",
    "kubectl",
    "oc",
    "docker-proxy",
    "rootlessport",
    "rootlesskit",
    "slirp4netns",
    "pasta",
    "passt",
    "gvproxy",
    "socat",
    "qemu-system-x86_64",
    "qemu-system-aarch64",
    "ngrok",
    "cloudflared",
)


def port_forwarder(pids: Sequence[int]) -> str | None:
    """ "ssh (pid 4242)" when a listening process only forwards the port elsewhere (:data:`PORT_FORWARDERS`)."""
    for pid in pids:
        try:
            name = psutil.Process(pid).name()
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
        if name in PORT_FORWARDERS:
            return f"{name} (pid {pid})"
    return None


def process_tree(pids: Sequence[int]) -> set[int]:
    """``pids`` and all their descendants that still exist."""
    tree: set[int] = set()
    for pid in pids:
        try:
            root = psutil.Process(pid)
            tree.add(root.pid)
            tree.update(child.pid for child in root.children(recursive=True))
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return tree


def locate_server(
    host: str,
    port: int,
    *,
    pid: int | None = None,
    gpu_processes: Callable[[], dict[int, set[int]]] | None = None,
) -> ServerLocation:
    """Find the server of a served model. ``gpu_processes`` maps CUDA index -> pids with compute work there
    (default: NVML, :func:`nvml_compute_pids`); tests pass their own."""
    address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    if not is_this_host(host):
        return ServerLocation(
            address,
            local=False,
            not_measured=f"energy not measured here: the server {address} runs on another host",
        )
    if pid is not None:
        if not psutil.pid_exists(pid):
            return ServerLocation(
                address,
                True,
                not_measured=f"energy not measured here: no process {pid} (pid= in the spec) on this host",
            )
        pids, how = [pid], "pid given in the spec"
    else:
        pids, why = listening_pids(port, host)
        if not pids:
            return ServerLocation(
                address,
                True,
                not_measured=f"energy not measured here: the server process on port {port} was not found ({why}; "
                "give it with pid= in the spec)",
            )
        forwarder = port_forwarder(pids)
        if forwarder is not None:
            return ServerLocation(
                address,
                True,
                not_measured=f"energy not measured here: port {port} is forwarded by {forwarder}, so the server "
                "runs behind it (another host, a container or a VM); if it runs on this host, give its pid with pid=",
            )
        how = f"listening on port {port}"
    tree = process_tree(pids)
    busy = (gpu_processes or nvml_compute_pids)()
    gpus = tuple(sorted(index for index, running in busy.items() if running & tree))
    return ServerLocation(address, True, tuple(pids), gpus, how)


def nvml_compute_pids(environ: dict[str, str] | None = None) -> dict[int, set[int]]:
    """CUDA index (in greentui's CUDA_VISIBLE_DEVICES order) -> pids of the compute processes NVML lists there.
    Empty without NVML or a GPU. (In a container NVML may list host pids: then nothing matches, and the server
    counts as CPU-only, which the lane's power line says.)"""
    try:
        import pynvml
    except ImportError:
        return {}
    from greentui.core.measure.power.nvml import visible_physical_indices

    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError:
        return {}
    try:
        count = int(pynvml.nvmlDeviceGetCount())
        cuda_visible = (os.environ if environ is None else environ).get("CUDA_VISIBLE_DEVICES")
        uuids = None
        if cuda_visible is not None and not all(p.strip().lstrip("-").isdigit() for p in cuda_visible.split(",")):
            uuids = [str(pynvml.nvmlDeviceGetUUID(pynvml.nvmlDeviceGetHandleByIndex(i))) for i in range(count)]
        found: dict[int, set[int]] = {}
        for cuda_index, nvml_index in enumerate(visible_physical_indices(count, uuids, cuda_visible)):
            handle = pynvml.nvmlDeviceGetHandleByIndex(nvml_index)
            found[cuda_index] = {int(p.pid) for p in pynvml.nvmlDeviceGetComputeRunningProcesses(handle)}
        return found
    except Exception:  # an NVML error or a MIG slice: no GPU attribution rather than a wrong one
        return {}
    finally:
        try:
            pynvml.nvmlShutdown()
        except pynvml.NVMLError:
            pass
