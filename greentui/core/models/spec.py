"""What model to load and how, in one short line: :class:`ModelSpec` and its text form.

Grammar (the text form used on the command line and in the TUI)::

    SPEC     = SOURCE ["#" REVISION] ["@" OPTION {"," OPTION}] ["+adapter=" ADAPTER]

    SOURCE   = catalog name          smollm2-135m                  (see `greentui models`)
             | Hugging Face hub id   Qwen/Qwen2.5-1.5B-Instruct
             | local folder          ./my-model   /models/x   ~/models/x
             | GGUF file             ./model.Q4_K_M.gguf            (a name ending in .gguf)
             | fake model            fake:oracle?tps=200&accuracy=0.8   (tests and demos, see fake_options.py)
             | random weights        random:llama3.2-1b     a known architecture, randomly initialised: real compute
                                                            and energy per token, meaningless answers (see
                                                            architectures.py)
             | served model          openai:http://127.0.0.1:8000/v1?model=NAME, ollama:NAME, vllm:NAME, ...
                                     (an OpenAI-compatible server; grammar and options in endpoint.py)
    REVISION = branch, tag or commit of a hub model            Qwen/Qwen2.5-0.5B-Instruct#main
    OPTION   = fp32 | bf16 | fp16                              weights dtype (default: fp32 on cpu, bf16 on cuda)
             | nf4 | fp4 | int8                                bitsandbytes quantization
             | dint8                                           torch dynamic int8 of every nn.Linear (cpu only)
             | cpu | cuda | cuda:N                             device (default: cuda if there is one, else cpu)
    ADAPTER  = a PEFT (e.g. LoRA) adapter: folder or hub id    smollm2-135m+adapter=./lora

Examples: ``smollm2-135m@bf16``, ``Qwen/Qwen2.5-1.5B-Instruct@nf4,cuda``, ``./base@fp32+adapter=./lora``.
Options are case-insensitive and may come in any order; ``str(spec)`` writes them as dtype, quantization, device,
and ``ModelSpec.parse(str(spec)) == spec`` for every valid spec. A ``@`` followed by text holding a ``/`` is part of
the source (``./runs@2024/model``), so local paths may contain ``@`` except in their last component. A served
model takes no ``#``, ``@`` or ``+adapter=`` parts: the server decides how its model is loaded.

Nothing here touches torch: parsing is pure and fast, for ``greentui --help`` and the setup screen.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol, get_args

from greentui.core.models import architectures, catalog
from greentui.core.models.endpoint import Endpoint, EndpointError, is_served_source, parse_endpoint, redact_secrets
from greentui.core.models.fake_options import FAKE_PREFIX, check_fake, parse_fake_options

Dtype = Literal["auto", "fp32", "bf16", "fp16"]
Quant = Literal["none", "int8", "nf4", "fp4", "dynamic-int8"]
SourceKind = Literal["catalog", "hub", "local", "gguf", "fake", "random", "served"]

ADAPTER_MARK = "+adapter="

_DTYPE_WORDS: dict[str, Dtype] = {
    "fp32": "fp32",
    "float32": "fp32",
    "bf16": "bf16",
    "bfloat16": "bf16",
    "fp16": "fp16",
    "float16": "fp16",
}
_QUANT_WORDS: dict[str, Quant] = {
    "nf4": "nf4",
    "fp4": "fp4",
    "int8": "int8",
    "dint8": "dynamic-int8",
    "dynamic-int8": "dynamic-int8",
}
# The short word str(spec) writes for each quantization.
QUANT_TEXT: dict[Quant, str] = {"none": "", "int8": "int8", "nf4": "nf4", "fp4": "fp4", "dynamic-int8": "dint8"}
BITSANDBYTES_QUANTS: frozenset[str] = frozenset({"int8", "nf4", "fp4"})
_DEVICE_RE = re.compile(r"^(cpu|cuda|cuda:\d{1,2})$")
OPTIONS_HELP = "fp32, bf16, fp16 (dtype); nf4, fp4, int8, dint8 (quantization); cpu, cuda, cuda:N (device)"

# Hub ids as huggingface_hub validates them: "org/name", word characters, '-', '.', no '--' or '..'.
_HUB_ID_RE = re.compile(r"^[A-Za-z0-9][\w.-]{0,95}/[\w.-]{1,96}$")
_REVISION_RE = re.compile(r"^[\w.][\w./-]{0,127}$")


class SpecError(ValueError):
    """A model spec that does not parse. ``str()`` is one line; :attr:`pointer` underlines the bad part."""

    def __init__(self, message: str, text: str, start: int = 0, end: int | None = None) -> None:
        shown = text
        if is_served_source(text.strip()):  # a key typed into an endpoint spec is never echoed
            message, shown, text = redact_secrets(message), redact_secrets(text), redact_secrets(text, keep_length=True)
        self.message = message
        self.text = text  # masked character for character, so that the pointer's carets still line up
        self.start = max(0, min(start, len(text)))
        self.end = max(self.start + 1, min(len(text), end if end is not None else len(text)))
        super().__init__(f"bad model spec {shown!r}: {message}")

    @property
    def pointer(self) -> str:
        """Two lines: the spec and carets under the bad part (for the TUI and verbose CLI output)."""
        return f"{self.text}\n{' ' * self.start}{'^' * (self.end - self.start)}"


def source_kind(source: str) -> SourceKind:
    """How a (valid) source is found: catalog, hub, local folder, GGUF file, fake, random weights or served."""
    if source.startswith(FAKE_PREFIX):
        return "fake"
    if source.startswith(architectures.RANDOM_PREFIX):
        return "random"
    if is_served_source(source):
        return "served"
    if catalog.find(source) is not None:
        return "catalog"
    if source.lower().endswith(".gguf"):
        return "gguf"
    if source.startswith(("/", "./", "../", "~")) or source in (".", "..") or Path(source).is_dir():
        return "local"
    return "hub"


def device_problem(dtype: str, quant: str, device: str) -> str | None:
    """One line saying why ``dtype``/``quant`` cannot run on ``device`` ("cpu", "cuda", "cuda:1"), or None."""
    on_cpu = device == "cpu"
    if dtype == "fp16" and on_cpu:
        return "fp16 on cpu is not supported: use fp32 or bf16"
    if quant == "dynamic-int8" and not on_cpu:
        return f"dint8 (torch dynamic int8) on {device} is not supported: it runs on cpu; on {device} use int8 or nf4"
    if quant == "dynamic-int8" and dtype in ("bf16", "fp16"):
        return f"dint8 with {dtype} is not supported: dint8 keeps fp32 activations; drop {dtype}"
    return None


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """A model to load: ``source`` plus how to load it. Build one with :meth:`parse`; ``str()`` gives it back."""

    source: str
    revision: str | None = None
    dtype: Dtype = "auto"
    quant: Quant = "none"
    adapter: str | None = None
    device: str = "auto"  # "auto" | "cpu" | "cuda" | "cuda:N"

    def __post_init__(self) -> None:
        # Direct construction (not through parse) gets the same checks on the closed sets.
        if self.dtype not in get_args(Dtype):
            raise SpecError(f"unknown dtype {self.dtype!r}; expected one of {', '.join(get_args(Dtype))}", self.source)
        if self.quant not in get_args(Quant):
            raise SpecError(
                f"unknown quantization {self.quant!r}; expected one of {', '.join(get_args(Quant))}", self.source
            )
        if self.device != "auto" and not _DEVICE_RE.match(self.device):
            raise SpecError(f"unknown device {self.device!r}; expected cpu, cuda or cuda:N", self.source)

    # ----------------------------------------------------------------------------------------------
    @classmethod
    def parse(cls, text: str) -> ModelSpec:
        """Parse the text form (grammar in the module docstring). Raises :class:`SpecError` naming the bad part."""
        if not isinstance(text, str):
            raise SpecError(f"expected text, got {type(text).__name__}", repr(text))
        lead = len(text) - len(text.lstrip())
        body = text.strip()
        if not body:
            raise SpecError("empty model spec; e.g. smollm2-135m or Qwen/Qwen2.5-0.5B-Instruct@nf4", text)

        def fail(message: str, start: int, end: int | None = None) -> SpecError:
            return SpecError(message, text, lead + start, None if end is None else lead + end)

        if is_served_source(body):
            try:
                return cls(source=parse_endpoint(body).text)
            except EndpointError as exc:
                raise fail(exc.message, exc.start, exc.end) from None
        head, adapter = body, None
        mark = body.find(ADAPTER_MARK)
        if mark >= 0:
            head, adapter = body[:mark], body[mark + len(ADAPTER_MARK) :]
            if not adapter:
                raise fail("no adapter path after '+adapter='", mark, len(body))
            if ADAPTER_MARK in adapter:
                raise fail("only one adapter may be given", mark + len(ADAPTER_MARK) + adapter.find(ADAPTER_MARK))
        else:
            stray = re.search(r"\+[A-Za-z_-]+=", body)
            if stray:
                raise fail(
                    f"unknown part {stray.group(0)!r}: an adapter is written '+adapter=PATH'",
                    stray.start(),
                    stray.end(),
                )

        source_part, options_text, options_at = head, None, -1
        at = head.rfind("@")
        if at >= 0 and "/" not in head[at + 1 :]:
            source_part, options_text, options_at = head[:at], head[at + 1 :], at + 1
            if "#" in options_text:
                raise fail("the revision goes before the options: SOURCE#REVISION@OPTIONS", at, len(head))
            if not options_text:
                raise fail(f"no options after '@'; expected {OPTIONS_HELP}", at, at + 1)

        source, revision = source_part, None
        hash_at = source_part.find("#")
        if hash_at >= 0:
            source, revision = source_part[:hash_at], source_part[hash_at + 1 :]
            if not _REVISION_RE.match(revision):
                raise fail("a revision is a branch, tag or commit such as #main", hash_at, len(source_part))

        kind = _check_source(source, fail)
        source = _normal_source(source, kind)
        if revision is not None and not (
            kind == "hub" or (kind == "catalog" and catalog.entry(source).offline_gguf is None)
        ):
            raise fail(
                f"a revision (#{revision}) applies to hub models only, not to a {kind} source",
                hash_at,
                len(source_part),
            )

        dtype: Dtype = "auto"
        quant: Quant = "none"
        device = "auto"
        if options_text is not None:
            dtype, quant, device = _parse_options(options_text, options_at, fail)
            problem = (
                device_problem(dtype, quant, device)
                if device != "auto"
                else (device_problem(dtype, quant, "cpu") if quant == "dynamic-int8" else None)
            )
            if problem:
                raise fail(problem, options_at, len(head))
        if adapter is not None and (adapter.startswith(FAKE_PREFIX) or "@" in adapter or "#" in adapter):
            raise fail(
                "an adapter is a plain folder or hub id (no '@' options, '#' revision or fake:)",
                mark + len(ADAPTER_MARK),
                len(body),
            )
        return cls(source=source, revision=revision, dtype=dtype, quant=quant, adapter=adapter, device=device)

    # ----------------------------------------------------------------------------------------------
    @property
    def options_text(self) -> str:
        """The ``@`` options in canonical order (dtype, quantization, device), or "" when all are defaults."""
        words = [
            self.dtype if self.dtype != "auto" else "",
            QUANT_TEXT[self.quant],
            self.device if self.device != "auto" else "",
        ]
        return ",".join(word for word in words if word)

    def __str__(self) -> str:
        text = self.source
        if self.revision:
            text += f"#{self.revision}"
        if self.options_text:
            text += f"@{self.options_text}"
        if self.adapter:
            text += f"{ADAPTER_MARK}{self.adapter}"
        return text

    def base(self) -> ModelSpec:
        """The same spec without its adapter (model A of a fine-tune comparison)."""
        return ModelSpec(self.source, self.revision, self.dtype, self.quant, None, self.device)

    @property
    def kind(self) -> SourceKind:
        return source_kind(self.source)

    @property
    def is_fake(self) -> bool:
        return self.source.startswith(FAKE_PREFIX)

    @property
    def architecture(self) -> architectures.Architecture | None:
        """The architecture of a ``random:NAME`` source; None for other sources."""
        if not self.source.startswith(architectures.RANDOM_PREFIX):
            return None
        return architectures.find(self.source[len(architectures.RANDOM_PREFIX) :])

    @property
    def is_served(self) -> bool:
        return is_served_source(self.source)

    @property
    def endpoint(self) -> Endpoint | None:
        """Where a served model answers (None for every other source)."""
        return parse_endpoint(self.source) if self.is_served else None

    def fake_options(self) -> dict[str, str]:
        """Options of a ``fake:`` source; {} for other sources."""
        return parse_fake_options(self.source) if self.is_fake else {}

    @property
    def display_name(self) -> str:
        """A short human name: ``SmolLM2-135M-Instruct@nf4``, ``Qwen2.5-1.5B-Instruct + lora``."""
        kind = self.kind
        if kind == "catalog":
            name = catalog.entry(self.source).display_name
        elif kind == "fake":
            name = self.source.partition("?")[0]
        elif kind == "random" and self.architecture is not None:
            name = f"random {self.architecture.display_name}"
        elif kind == "served":
            endpoint = parse_endpoint(self.source)
            name = f"{_last_part(endpoint.model)} · {endpoint.address}"
        else:
            name = _last_part(self.source)
            if kind == "gguf":
                name = name[: -len(".gguf")]
        if self.revision:
            name += f"#{self.revision[:12]}"
        if self.options_text:
            name += f"@{self.options_text}"
        if self.adapter:
            name += f" + {_last_part(self.adapter)}"
        return name


def _last_part(path: str) -> str:
    parts = [part for part in re.split(r"[/\\]", path) if part and part not in (".", "..", "~")]
    return parts[-1] if parts else path


class _Fail(Protocol):
    """Builds the SpecError for a span of the spec text (``end`` None: to the end of the spec)."""

    def __call__(self, message: str, start: int, end: int | None = None) -> SpecError: ...


def _check_source(source: str, fail: _Fail) -> SourceKind:
    """Validate the source syntax; returns its kind or raises through ``fail``."""
    if not source:
        raise fail("no model before the options; e.g. smollm2-135m@bf16", 0, 1)
    if source.startswith(FAKE_PREFIX):
        check_fake(source, fail)
        return "fake"
    if source.startswith(architectures.RANDOM_PREFIX):
        name = source[len(architectures.RANDOM_PREFIX) :]
        if architectures.find(name) is None:
            known = architectures.names()
            close = difflib.get_close_matches(name.lower(), known, n=1, cutoff=0.6)
            hint = f"did you mean random:{close[0]}? " if close else ""
            raise fail(
                f"unknown architecture {name!r} for random weights: {hint}expected one of {', '.join(known)}",
                len(architectures.RANDOM_PREFIX),
                len(source),
            )
        return "random"
    kind = source_kind(source)
    if kind == "hub":
        if "/" not in source:
            known = catalog.names()
            close = difflib.get_close_matches(source.lower(), known, n=1, cutoff=0.6)
            hint = f"did you mean {close[0]}? " if close else ""
            raise fail(
                f"unknown model {source!r}: {hint}expected a catalog name ({', '.join(known[:3])}, ...; "
                "see `greentui models`), a hub id org/name, a folder (./x) or a .gguf file",
                0,
                len(source),
            )
        if not _HUB_ID_RE.match(source) or "--" in source or ".." in source:
            raise fail(
                f"{source!r} is not a valid Hugging Face hub id (org/name: letters, digits, '-', '_', '.')",
                0,
                len(source),
            )
    return kind


def _normal_source(source: str, kind: SourceKind) -> str:
    """Catalog and architecture names are case-insensitive: store them in their canonical spelling."""
    if kind == "random":
        arch = architectures.find(source[len(architectures.RANDOM_PREFIX) :])
        return architectures.RANDOM_PREFIX + arch.name if arch is not None else source
    return catalog.entry(source).name if kind == "catalog" else source


def _parse_options(options_text: str, offset: int, fail: _Fail) -> tuple[Dtype, Quant, str]:
    dtype: Dtype = "auto"
    quant: Quant = "none"
    device = "auto"
    position = offset
    for raw in options_text.split(","):
        word = raw.strip().lower()
        start = position + (len(raw) - len(raw.lstrip()))
        end = start + len(raw.strip())
        position += len(raw) + 1
        if not word:
            raise fail(f"empty option; expected {OPTIONS_HELP}", start - 1 if start > offset else start, end + 1)
        if word in _DTYPE_WORDS:
            if dtype != "auto":
                raise fail(f"two dtypes given ({dtype} and {_DTYPE_WORDS[word]}); pick one", start, end)
            dtype = _DTYPE_WORDS[word]
        elif word in _QUANT_WORDS:
            if quant != "none":
                raise fail(f"two quantizations given ({QUANT_TEXT[quant]} and {word}); pick one", start, end)
            quant = _QUANT_WORDS[word]
        elif _DEVICE_RE.match(word):
            if device != "auto":
                raise fail(f"two devices given ({device} and {word}); pick one", start, end)
            device = word
        else:
            every = [*_DTYPE_WORDS, *_QUANT_WORDS, "cpu", "cuda"]
            close = difflib.get_close_matches(word, every, n=1, cutoff=0.5)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise fail(f"unknown option {raw.strip()!r}{hint}; expected {OPTIONS_HELP}", start, end)
    return dtype, quant, device
