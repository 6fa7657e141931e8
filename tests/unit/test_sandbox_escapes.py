"""Model code against the sandbox's walls: every escape below must fail, and this test process must not notice.

Each case runs hostile code that prints ``ESCAPED ...`` when an attempt works and ``held ...`` when it is refused;
the test then checks the host side too (no file appeared or changed, the listeners accepted nothing, no signal
arrived, this process is still running). The whole corpus runs on the isolation this machine gives greentui
(``isolation.current()``, reported in every skip and failure message); a core of it runs again on every other
mechanism available here, and once more with the seccomp filter switched off, to show the namespaces hold alone.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import socket
import stat
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from string import Template
from typing import Any

import pytest

from greentui.core.evaluate.sandbox import CodeLimits, isolation, run_python_sandboxed
from greentui.core.evaluate.sandbox.isolation import Isolation

REPO = Path(__file__).resolve().parents[2]
TESTS = "assert add(2, 3) == 5\n"
RIGHT = "def add(a, b):\n    return a + b\n"
HELPERS = """
import ctypes, errno, os, socket, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
P = $pid
INFO = ctypes.create_string_buffer(struct.pack('iii', $sigusr1, 0, -1) + bytes(116))
def attempt(what, fn):
    ctypes.set_errno(0)
    try:
        result = fn()
    except BaseException as exc:
        print('held', what, type(exc).__name__, exc, flush=True)
        return
    if isinstance(result, int) and result < 0:
        print('held', what, 'errno', errno.errorcode.get(ctypes.get_errno(), ctypes.get_errno()), flush=True)
    else:
        print('ESCAPED', what, repr(result)[:80], flush=True)
def nr(name):
    return {'rt_sigqueueinfo': $nr_rt_sigqueueinfo, 'rt_tgsigqueueinfo': $nr_rt_tgsigqueueinfo,
            'pidfd_open': $nr_pidfd_open, 'pidfd_send_signal': $nr_pidfd_send_signal, 'tkill': $nr_tkill,
            'clone3': $nr_clone3, 'clone': $nr_clone, 'pivot_root': $nr_pivot_root, 'fsopen': $nr_fsopen,
            'open_tree': $nr_open_tree, 'io_uring_setup': $nr_io_uring_setup, 'bpf': $nr_bpf,
            'perf_event_open': $nr_perf_event_open, 'userfaultfd': $nr_userfaultfd, 'keyctl': $nr_keyctl,
            'kcmp': $nr_kcmp, 'kill': $nr_kill, 'open_by_handle_at': $nr_open_by_handle_at,
            'init_module': $nr_init_module}[name]
def write(path):
    with open(path, 'w') as handle:
        handle.write('escaped')
    return 'wrote ' + path
def read(path):
    with open(path, 'rb') as handle:
        return handle.read(64)
"""

# name -> attempts (each prints "held" or "ESCAPED"); placeholders: see ``context`` below
CASES: dict[str, str] = {
    # writing outside the scratch folder
    "write-home": "attempt('write home', lambda: write('$home_marker'))",
    "mkdir-home": "attempt('mkdir home', lambda: os.mkdir('$home_marker'))",
    "write-tmp": "attempt('write /tmp', lambda: write('$tmp_marker'))",
    "write-pytest-tmp": "attempt('write test tmp', lambda: write('$pytest_marker'))",
    "write-repo": "attempt('write repo', lambda: write('$repo_marker'))",
    "write-sandbox-scripts": "attempt('write scripts', lambda: write('$scripts_marker'))",
    "write-var-tmp": "attempt('write /var/tmp', lambda: write('$var_tmp_marker'))",
    "write-dev-shm": "attempt('write /dev/shm', lambda: write('$shm_marker'))",
    "write-etc": "attempt('write /etc', lambda: write('/etc/greentui-escape-$tag'))",
    "chmod-host-file": "attempt('chmod', lambda: os.chmod('$victim', 0o777))",
    "unlink-host-file": "attempt('unlink', lambda: os.unlink('$victim'))",
    "rename-host-file": "attempt('rename', lambda: os.rename('$victim', '$victim.moved'))",
    "truncate-host-file": "attempt('truncate', lambda: os.truncate('$victim', 0))",
    "touch-host-file": "attempt('utime', lambda: os.utime('$victim', (0, 0)))",
    "write-through-a-symlink": "os.symlink('$home_marker', 'link')\nattempt('symlink', lambda: write('link'))",
    "hard-link-a-host-file": "attempt('link', lambda: os.link('/etc/passwd', 'passwd'))",
    "fill-the-scratch-folder": "def fill():\n    for i in range(10000):\n        with open(f'f{i}', 'wb') as h:\n"
    "            h.write(b'x' * (1 << 20))\nattempt('fill scratch', fill)",
    "mknod-a-device": "attempt('mknod', lambda: os.mknod('disk', 0o600 | 0o060000, os.makedev(254, 0)))",
    # reading what is not the model's
    "read-etc-shadow": "attempt('read shadow', lambda: read('/etc/shadow'))",
    "read-a-home-secret": "attempt('read home secret', lambda: read('$home_secret'))",
    "read-a-tmp-secret": "attempt('read tmp secret', lambda: read('$tmp_secret'))",
    "read-the-tasks-tests": "attempt('read tasks', lambda: read('$tasks_file'))",
    "read-the-test-process-environ": "attempt('read environ', lambda: read('/proc/$pid/environ'))",
    "read-the-test-process-memory": "attempt('read mem', lambda: read('/proc/$pid/mem'))",
    "read-the-host-disk": "attempt('read disk', lambda: read('/dev/vda'))",
    "read-proc-kcore": "attempt('read kcore', lambda: read('/proc/kcore'))",
    "see-other-processes": "pids = [p for p in os.listdir('/proc') if p.isdigit()]\n"
    "attempt('see processes', lambda: pids if len(pids) > 3 else -1)",
    # the network
    "tcp-connect-loopback": "s = socket.socket()\ns.settimeout(2)\n"
    "attempt('tcp', lambda: s.connect(('127.0.0.1', $tcp_port)) or 'connected')",
    # a datagram may leave into the sandbox's own loopback (bubblewrap brings one up): only the host side can
    # tell whether it arrived, so this case reports held either way and the listener decides
    "udp-send-loopback": "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
    "attempt('udp', lambda: -1 if s.sendto(b'escaped', ('127.0.0.1', $udp_port)) else -1)",
    "unix-socket-connect": "s = socket.socket(socket.AF_UNIX)\nattempt('unix', lambda: s.connect('$unix_path') or 1)",
    "abstract-socket-connect": "s = socket.socket(socket.AF_UNIX)\n"
    "attempt('abstract', lambda: s.connect('\\0$abstract_name') or 1)",
    "netlink-socket": "attempt('netlink', lambda: socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0))",
    "packet-socket": "attempt('packet', lambda: socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0))",
    # signals to this test process (the sandbox's parent side)
    "kill-sigusr1": "attempt('kill', lambda: libc.kill(P, $sigusr1))",
    "kill-sigterm": "attempt('kill term', lambda: libc.kill(P, $sigterm))",
    "kill-everyone": "attempt('kill -1', lambda: libc.kill(-1, $sigusr1))",
    "kill-process-group": "attempt('kill 0', lambda: libc.kill(0, $sigusr1))",
    "tkill": "attempt('tkill', lambda: libc.syscall(nr('tkill'), P, $sigusr1))",
    "tgkill": "attempt('tgkill', lambda: libc.tgkill(P, P, $sigusr1))",
    "rt-sigqueueinfo": "attempt('rt_sigqueueinfo', lambda: libc.syscall(nr('rt_sigqueueinfo'), P, $sigusr1, INFO))",
    "rt-sigqueueinfo-sigterm": "attempt('rt_sigqueueinfo term', "
    "lambda: libc.syscall(nr('rt_sigqueueinfo'), P, $sigterm, INFO))",
    "rt-tgsigqueueinfo": "attempt('rt_tgsigqueueinfo', "
    "lambda: libc.syscall(nr('rt_tgsigqueueinfo'), P, P, $sigusr1, INFO))",
    "pidfd-send-signal": "fd = libc.syscall(nr('pidfd_open'), P, 0)\n"
    "attempt('pidfd_open', lambda: fd)\n"
    "attempt('pidfd_send_signal', lambda: libc.syscall(nr('pidfd_send_signal'), fd, $sigusr1, None, 0))",
    "x32-abi-kill": "attempt('x32 kill', lambda: libc.syscall(0x40000000 | nr('kill'), P, $sigusr1))",
    # other processes' memory, new processes, process groups
    "ptrace-attach": "attempt('ptrace attach', lambda: libc.ptrace(16, P, 0, 0))",
    "ptrace-traceme": "attempt('ptrace traceme', lambda: libc.ptrace(0, 0, 0, 0))",
    "process-vm-readv": "buf = ctypes.create_string_buffer(8)\n"
    "iov = (ctypes.c_void_p * 2)(ctypes.addressof(buf), 8)\n"
    "attempt('process_vm_readv', lambda: libc.process_vm_readv(P, iov, 1, iov, 1, 0))",
    "kcmp": "attempt('kcmp', lambda: libc.syscall(nr('kcmp'), P, os.getpid(), 0, 0, 0))",
    "fork": "attempt('fork', os.fork)",
    "subprocess": "import subprocess\nattempt('subprocess', lambda: subprocess.run(['/bin/sh', '-c', 'id']))",
    "execv": "attempt('execv', lambda: os.execv('/bin/sh', ['sh', '-c', 'echo ESCAPED exec']))",
    "clone3": "attempt('clone3', lambda: libc.syscall(nr('clone3'), None, 0))",
    "clone-a-process": "attempt('clone', lambda: libc.syscall(nr('clone'), 17, 0, 0, 0, 0) or os._exit(0))",
    "setsid": "attempt('setsid', os.setsid)",
    "setpgid": "attempt('setpgid', lambda: os.setpgid(0, 0))",
    # mounts and namespaces
    "mount-tmpfs": "attempt('mount', lambda: libc.mount(b'none', b'/mnt', b'tmpfs', 0, None))",
    "remount-root-rw": "attempt('remount', lambda: libc.mount(None, b'/', None, 32, None))",
    "umount-proc": "attempt('umount2', lambda: libc.umount2(b'/proc', 2))",
    "unshare-user": "attempt('unshare user', lambda: libc.unshare(0x10000000))",
    "unshare-mount": "attempt('unshare mount', lambda: libc.unshare(0x00020000))",
    "setns": "fd = os.open('/proc/self/ns/net', os.O_RDONLY)\nattempt('setns', lambda: libc.setns(fd, 0))",
    "chroot": "attempt('chroot', lambda: libc.chroot(b'.'))",
    "pivot-root": "attempt('pivot_root', lambda: libc.syscall(nr('pivot_root'), b'.', b'.'))",
    "fsopen": "attempt('fsopen', lambda: libc.syscall(nr('fsopen'), b'tmpfs', 0))",
    "open-tree": "attempt('open_tree', lambda: libc.syscall(nr('open_tree'), -100, b'/', 1))",
    # identity and limits
    "still-root": "attempt('uid 0', lambda: 'root' if os.getuid() == 0 and $as_root else -1)",
    "setuid-0": "attempt('setuid', lambda: os.setuid(0))",
    "setresgid-0": "attempt('setresgid', lambda: os.setresgid(0, 0, 0))",
    "setgroups": "attempt('setgroups', lambda: os.setgroups([0]))",
    "sethostname": "attempt('sethostname', lambda: libc.sethostname(b'escaped', 7))",
    "raise-a-limit": "import resource\nsoft, hard = resource.getrlimit(resource.RLIMIT_AS)\n"
    "attempt('raise rlimit', lambda: resource.setrlimit(resource.RLIMIT_AS, (hard * 2, hard * 2)))",
    "prlimit-another-process": "import resource\n"
    "attempt('prlimit', lambda: resource.prlimit(P, resource.RLIMIT_NOFILE, (1, 1)))",
    # calls that reach around the other walls
    "io-uring": "attempt('io_uring', lambda: libc.syscall(nr('io_uring_setup'), 8, ctypes.create_string_buffer(120)))",
    "bpf": "attempt('bpf', lambda: libc.syscall(nr('bpf'), 0, ctypes.create_string_buffer(128), 128))",
    "perf-event-open": "attempt('perf', lambda: libc.syscall(nr('perf_event_open'), "
    "ctypes.create_string_buffer(128), 0, -1, -1, 0))",
    "userfaultfd": "attempt('userfaultfd', lambda: libc.syscall(nr('userfaultfd'), 0))",
    "keyctl": "attempt('keyctl', lambda: libc.syscall(nr('keyctl'), 0, -3, 0))",
    "open-by-handle-at": "attempt('open_by_handle_at', "
    "lambda: libc.syscall(nr('open_by_handle_at'), -100, ctypes.create_string_buffer(64), 0))",
    "init-module": "attempt('init_module', lambda: libc.syscall(nr('init_module'), None, 0, b''))",
    "tiocsti": "import fcntl, termios\nattempt('TIOCSTI', lambda: fcntl.ioctl(0, termios.TIOCSTI, b'x'))",
}

# the core that runs on every mechanism, and without seccomp (the namespaces and the user alone)
CORE = (
    "write-home",
    "write-tmp",
    "write-repo",
    "read-etc-shadow",
    "read-the-tasks-tests",
    "see-other-processes",
    "tcp-connect-loopback",
    "udp-send-loopback",
    "abstract-socket-connect",
    "kill-sigusr1",
    "rt-sigqueueinfo",
    "rt-tgsigqueueinfo",
    "tgkill",
    "pidfd-send-signal",
    "mount-tmpfs",
    "ptrace-attach",
)


# What each case needs to be held, where the sandbox is limited (see Isolation.cannot_stop and TASK_FORMAT.md)
WORLD_WRITABLE = {"write-tmp", "write-var-tmp", "write-dev-shm", "fill-the-scratch-folder"}
OWN_FILES = {
    "write-home", "mkdir-home", "write-pytest-tmp", "write-repo", "write-sandbox-scripts", "chmod-host-file",
    "unlink-host-file", "rename-host-file", "truncate-host-file", "touch-host-file", "write-through-a-symlink",
    "hard-link-a-host-file", "read-a-home-secret", "read-a-tmp-secret", "read-the-test-process-environ",
    "read-the-test-process-memory",
}  # fmt: skip
WORLD_READABLE = {"read-the-tasks-tests", "see-other-processes"}
FILTER_ONLY = {  # held by the seccomp filter where no namespace holds it
    "tcp-connect-loopback", "udp-send-loopback", "unix-socket-connect", "abstract-socket-connect", "netlink-socket",
    "packet-socket", "kill-sigusr1", "kill-sigterm", "kill-everyone", "kill-process-group", "tkill", "tgkill",
    "rt-sigqueueinfo", "rt-sigqueueinfo-sigterm", "rt-tgsigqueueinfo", "pidfd-send-signal", "x32-abi-kill",
    "ptrace-attach", "ptrace-traceme", "process-vm-readv", "kcmp",
}  # fmt: skip
FILTER_EVEN_IN_NAMESPACES = {  # inside its own namespaces, only the filter refuses these
    "fork", "subprocess", "execv", "clone3", "clone-a-process", "setsid", "setpgid", "unshare-user", "unshare-mount",
    "io-uring", "bpf", "perf-event-open", "userfaultfd", "keyctl",
}  # fmt: skip


def documented_gap(case: str, iso: Isolation) -> str | None:
    """Why ``case`` is documented as not stopped by ``iso`` (then the test skips it, saying so), or None."""
    gap = False
    if not iso.namespaces:
        gap = case in WORLD_WRITABLE | WORLD_READABLE or (case in OWN_FILES and not iso.as_root)
        gap = gap or (not iso.seccomp and case in FILTER_ONLY | FILTER_EVEN_IN_NAMESPACES)
    elif not iso.seccomp:
        gap = case in FILTER_EVEN_IN_NAMESPACES
    return f"documented as not stopped here: {iso.describe()}" if gap else None


class Host:
    """What the host side watches while hostile code runs: listeners, signal counts, marker files."""

    def __init__(self, tmp_path: Path) -> None:
        tag = uuid.uuid4().hex[:10]
        self.tag = tag
        self.signals: list[int] = []
        self.accepted: list[Any] = []
        self.tcp = socket.socket()
        self.tcp.bind(("127.0.0.1", 0))
        self.tcp.listen(8)
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", 0))
        self.udp.settimeout(0.05)
        self.unix_path = str(tmp_path / "listener.sock")
        self.unix = socket.socket(socket.AF_UNIX)
        self.unix.bind(self.unix_path)
        self.unix.listen(8)
        self.abstract_name = f"greentui-test-{tag}"
        self.abstract = socket.socket(socket.AF_UNIX)
        self.abstract.bind("\0" + self.abstract_name)
        self.abstract.listen(8)
        for listener in (self.tcp, self.unix, self.abstract):
            listener.settimeout(0.05)
        self.stop = threading.Event()
        self.watcher = threading.Thread(target=self._accept, daemon=True)
        self.watcher.start()
        home = Path.home()
        self.markers = {
            "home_marker": home / f"greentui-escape-{tag}",
            "tmp_marker": Path("/tmp") / f"greentui-escape-{tag}",
            "pytest_marker": tmp_path / f"escape-{tag}",
            "repo_marker": REPO / f"greentui-escape-{tag}",
            "scripts_marker": isolation.SANDBOX_DIR / f"escape_{tag}.py",
            "var_tmp_marker": Path("/var/tmp") / f"greentui-escape-{tag}",
            "shm_marker": Path("/dev/shm") / f"greentui-escape-{tag}",
        }
        self.home_secret = home / f"greentui-secret-{tag}"
        self.home_secret.write_text("secret")
        self.home_secret.chmod(0o644)
        self.tmp_secret = tmp_path / "secret.txt"
        self.tmp_secret.write_text("secret")
        self.tmp_secret.chmod(0o644)
        self.victim = REPO / "README.md"
        self.victim_stat = self.victim.stat()

    def _accept(self) -> None:
        while not self.stop.is_set():
            for listener in (self.tcp, self.unix, self.abstract):
                try:
                    self.accepted.append(listener.accept())
                except OSError:
                    pass
            try:
                self.accepted.append(self.udp.recvfrom(64))
            except OSError:
                pass

    def context(self, as_root: bool) -> dict[str, Any]:
        from pyseccomp import Arch, resolve_syscall

        numbers = {
            f"nr_{name}": resolve_syscall(Arch.NATIVE, name)
            for name in (
                "rt_sigqueueinfo rt_tgsigqueueinfo pidfd_open pidfd_send_signal tkill clone3 clone pivot_root "
                "fsopen open_tree io_uring_setup bpf perf_event_open userfaultfd keyctl kcmp kill "
                "open_by_handle_at init_module"
            ).split()
        }
        return {
            **{k: str(v) for k, v in self.markers.items()},
            **numbers,
            "pid": os.getpid(),
            "sigusr1": int(signal.SIGUSR1),
            "sigterm": int(signal.SIGTERM),
            "tag": self.tag,
            "home_secret": self.home_secret,
            "tmp_secret": self.tmp_secret,
            "tasks_file": REPO / "tasks" / "python-functions" / "items.jsonl",
            "victim": self.victim,
            "tcp_port": self.tcp.getsockname()[1],
            "udp_port": self.udp.getsockname()[1],
            "unix_path": self.unix_path,
            "abstract_name": self.abstract_name,
            "as_root": as_root,
        }

    def breaches(self) -> list[str]:
        """Everything the hostile code changed or reached on the host side."""
        found = [f"{name}: {path}" for name, path in self.markers.items() if path.exists()]
        if self.accepted:
            found.append(f"listeners reached {len(self.accepted)} times")
        if self.signals:
            found.append(f"signals arrived: {self.signals}")
        now = self.victim.stat()
        if (now.st_mode, now.st_size, now.st_mtime_ns) != (
            self.victim_stat.st_mode,
            self.victim_stat.st_size,
            self.victim_stat.st_mtime_ns,
        ):
            found.append("README.md changed")
        if not stat.S_ISREG(now.st_mode):
            found.append("README.md replaced")
        return found

    def close(self) -> None:
        self.stop.set()
        self.watcher.join(timeout=2)
        for sock in (self.tcp, self.udp, self.unix, self.abstract):
            sock.close()
        for path in [*self.markers.values(), self.home_secret]:
            if path.is_dir():
                path.rmdir()
            elif path.exists():
                path.unlink()


@pytest.fixture
def host(tmp_path: Path) -> Iterator[Host]:
    watched = Host(tmp_path)
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGUSR1, signal.SIGTERM)}
    for sig in previous:
        signal.signal(sig, lambda number, _frame: watched.signals.append(number))
    try:
        yield watched
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        watched.close()


def _isolations() -> list[Any]:
    """Every mechanism to try here; each unavailable one is a skip that says why."""
    params = []
    for backend in ("bwrap", "unshare"):
        iso = isolation.probe(backend)
        marks = [pytest.mark.skip(reason=f"{backend} cannot run here: {iso.describe()}")] if iso.refusal else []
        params.append(pytest.param(backend, marks=marks, id=backend))
    return params


def _run(iso: Isolation, host: Host, case: str) -> str:
    code = Template(HELPERS + CASES[case] + "\n").substitute(host.context(iso.as_root)) + RIGHT
    result = run_python_sandboxed(code, TESTS, CodeLimits(timeout_s=10.0, file_mb=4), isolation=iso)
    host.stop.wait(0.1)  # the watcher's last round
    assert os.getpid() > 0  # still here
    assert "ESCAPED" not in result.output, f"{iso.describe()}\n{result.output}"
    assert "held" in result.output or not result.passed, f"{result.detail}\n{result.output}"
    breaches = host.breaches()
    assert breaches == [], f"{iso.describe()}: {breaches}"
    return result.output


@pytest.fixture(scope="module")
def here() -> Isolation:
    iso = isolation.current()
    if iso.refusal is not None:
        pytest.skip(f"model code cannot run on this machine: {iso.describe()}")
    return iso


def test_the_isolation_here_is_reported(here: Isolation) -> None:
    text = here.describe()
    assert text.startswith(("isolated: ", "limited ("))
    if here.namespaces:
        assert "pid, network, mount, ipc and uts namespaces" in text and not here.cannot_stop()
    else:
        assert "cannot stop: " in text and here.cannot_stop()


@pytest.mark.timeout(60)
@pytest.mark.parametrize("case", sorted(CASES))
def test_an_escape_fails(here: Isolation, host: Host, case: str) -> None:
    gap = documented_gap(case, here)
    if gap:
        pytest.skip(gap)
    _run(here, host, case)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("backend", _isolations())
@pytest.mark.parametrize("case", CORE)
def test_the_core_escapes_fail_on_every_mechanism(backend: str, host: Host, case: str) -> None:
    _run(isolation.probe(backend), host, case)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("case", CORE)
def test_the_namespaces_hold_without_the_seccomp_filter(here: Isolation, host: Host, case: str) -> None:
    if not here.namespaces:
        pytest.skip(f"no namespaces on this machine: {here.describe()}")
    iso = dataclasses.replace(here, seccomp=False)
    assert documented_gap(case, iso) is None
    _run(iso, host, case)


def test_every_case_is_classified() -> None:
    classified = WORLD_WRITABLE | OWN_FILES | WORLD_READABLE | FILTER_ONLY | FILTER_EVEN_IN_NAMESPACES
    assert classified <= set(CASES)
    limited = Isolation("none", seccomp=True)
    assert documented_gap("write-tmp", limited) and documented_gap("tcp-connect-loopback", limited) is None
    assert documented_gap("read-etc-shadow", dataclasses.replace(limited, seccomp=False)) is None


def test_the_solution_runs_as_nobody_in_its_own_pid_namespace(here: Isolation) -> None:
    code = RIGHT + "import os\nprint('ids', os.getresuid(), os.getresgid(), os.getgroups(), os.getpid())\n"
    result = run_python_sandboxed(code, TESTS)
    assert result.passed, result.detail
    if here.as_root:
        assert "ids (65534, 65534, 65534) (65534, 65534, 65534) []" in result.output
    if here.namespaces:
        assert result.output.strip().endswith(" 1")  # pid 1: nothing else is visible
        assert result.process_cap == "seccomp" or not here.seccomp
