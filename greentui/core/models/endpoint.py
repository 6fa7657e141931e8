"""A served model: an OpenAI-compatible endpoint named in a model spec. Pure parsing, no I/O.

Grammar (the ``SOURCE`` of a model spec, see :mod:`greentui.core.models.spec`)::

    SERVED  = "openai:" URL "?" OPTION {"&" OPTION}        openai:http://127.0.0.1:8000/v1?model=NAME
            | SHORT ":" MODEL ["?" OPTION {"&" OPTION}]     ollama:llama3.2:1b   vllm:Qwen/Qwen2.5-1.5B-Instruct
    URL     = http[s]://HOST[:PORT][/PATH]                  no user:password@ (use key_env), no #fragment;
                                                            an empty path means /v1
    OPTION  = model=NAME          the model the server is asked for (required in the openai: form)
            | key_env=VAR         the API key is read from environment variable VAR when the lane starts
                                  (the key itself is never in the spec, the database or any output)
            | params=COUNT        parameters of the served model (135M, 1.5B) for CEGI, when the server
                                  does not report them
            | pid=N               the server's process id, when it cannot be found from the listening port
            | tokenizer=PATH|ID   a local tokenizer to count tokens with when the server reports no usage
            | timeout=SECONDS     longest wait for the next byte of an answer (default 120)

Short forms name the usual local servers on their default ports (:data:`SHORT_FORMS`); they are written back
in the ``openai:`` form, so ``str(spec)`` is always the full address. Option values are percent-decoded; the
canonical text writes the options in the order above and percent-encodes what needs it, so parsing the canonical
text gives the same endpoint back.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit

SERVED_PREFIX = "openai:"
# short name -> (base URL of that server's OpenAI-compatible API on its default port, what it is)
SHORT_FORMS: dict[str, tuple[str, str]] = {
    "ollama": ("http://127.0.0.1:11434/v1", "Ollama"),
    "vllm": ("http://127.0.0.1:8000/v1", "vLLM"),
    "llama-server": ("http://127.0.0.1:8080/v1", "llama.cpp llama-server"),
    "lmstudio": ("http://127.0.0.1:1234/v1", "LM Studio"),
    "tgi": ("http://127.0.0.1:3000/v1", "text-generation-inference"),
    "transformers": ("http://127.0.0.1:8000/v1", "transformers serve"),
}
ENDPOINT_OPTIONS: dict[str, str] = {
    "model": "the model the server is asked for",
    "key_env": "environment variable holding the API key (the key is never stored)",
    "params": "parameters of the served model, e.g. 1.5B (for CEGI)",
    "pid": "process id of the server, when the port does not find it",
    "tokenizer": "local tokenizer folder or hub id, to count tokens when the server reports none",
    "timeout": "seconds to wait for the next byte of an answer (default 120)",
}
DEFAULT_TIMEOUT_S = 120.0

_ENV_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
_HOST_RE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,252})$")
_COUNT_RE = re.compile(r"^(\d+(?:\.\d+)?)([KMB]?)$", re.IGNORECASE)
_SAFE = "/:@.-_~+"  # characters left as they are in option values (none of them ends an option)


class EndpointError(ValueError):
    """An endpoint that does not parse: ``message`` says why, ``start``/``end`` where (offsets in the source)."""

    def __init__(self, message: str, start: int = 0, end: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.start = start
        self.end = end


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where a served model answers and how to ask it. ``base_url`` has no trailing slash (``.../v1``)."""

    base_url: str
    model: str
    key_env: str | None = None
    params: int | None = None
    pid: int | None = None
    tokenizer: str | None = None
    timeout_s: float | None = None

    @property
    def host(self) -> str:
        return urlsplit(self.base_url).hostname or ""

    @property
    def port(self) -> int:
        parts = urlsplit(self.base_url)
        return parts.port or (443 if parts.scheme == "https" else 80)

    @property
    def address(self) -> str:
        """``host:port`` for messages ("127.0.0.1:8000"; IPv6 hosts in brackets)."""
        host = self.host
        return f"[{host}]:{self.port}" if ":" in host else f"{host}:{self.port}"

    @property
    def read_timeout_s(self) -> float:
        return DEFAULT_TIMEOUT_S if self.timeout_s is None else self.timeout_s

    @property
    def text(self) -> str:
        """The canonical source text: ``openai:URL?model=...&...`` (options in a fixed order)."""
        options = [f"model={quote(self.model, safe=_SAFE)}"]
        if self.key_env:
            options.append(f"key_env={self.key_env}")
        if self.params is not None:
            options.append(f"params={format_count(self.params)}")
        if self.pid is not None:
            options.append(f"pid={self.pid}")
        if self.tokenizer:
            options.append(f"tokenizer={quote(self.tokenizer, safe=_SAFE)}")
        if self.timeout_s is not None:
            options.append(f"timeout={_seconds_text(self.timeout_s)}")
        return f"{SERVED_PREFIX}{self.base_url}?{'&'.join(options)}"


def is_served_source(text: str) -> bool:
    """True when ``text`` names a served model (the ``openai:`` form or a short form such as ``ollama:``)."""
    head, colon, _ = text.partition(":")
    return bool(colon) and (text.startswith(SERVED_PREFIX) or head.lower() in SHORT_FORMS)


def format_count(count: int) -> str:
    """135_000_000 -> "135M"; 1_500_000_000 -> "1.5B"; counts that are not round stay digits."""
    for suffix, scale in (("B", 10**9), ("M", 10**6), ("K", 10**3)):
        if count >= scale and count % scale == 0:
            return f"{count // scale}{suffix}"
        if count >= scale and (count * 10) % scale == 0:
            return f"{count // scale}.{count % scale * 10 // scale}{suffix}"
    return str(count)


def _seconds_text(seconds: float) -> str:
    """Short text that parses back to exactly ``seconds`` ("0.5", "120")."""
    short = f"{seconds:g}"
    return short if float(short) == seconds else repr(seconds)


def parse_count(text: str) -> int | None:
    """``"135M"`` -> 135_000_000; ``"1.5B"``, ``"500K"``, ``"42"``. None when it is not a count."""
    match = _COUNT_RE.match(text.strip())
    if not match:
        return None
    scale = {"": 1, "K": 10**3, "M": 10**6, "B": 10**9}[match.group(2).upper()]
    return round(float(match.group(1)) * scale)


def parse_endpoint(text: str) -> Endpoint:
    """Parse a served source (grammar in the module docstring); raises :class:`EndpointError`."""
    head, _, rest = text.partition(":")
    if text.startswith(SERVED_PREFIX):
        url, _, query = rest.partition("?")
        base_url = _check_url(url, len(SERVED_PREFIX))
        options_at = len(SERVED_PREFIX) + len(url) + 1
        model = None
    else:
        base_url = SHORT_FORMS[head.lower()][0]
        name, _, query = rest.partition("?")
        model = unquote(name)
        if not model.strip():
            raise EndpointError(f"no model after '{head}:'; e.g. {head}:NAME", 0, len(text))
        options_at = len(head) + 1 + len(name) + 1
    values = _parse_options(query, options_at)
    if "model" in values and model is not None:
        raise EndpointError(f"the model is already named ({model!r}); drop model=", options_at, len(text))
    model = values.pop("model", model)
    if model is None or not model.strip():
        raise EndpointError("an endpoint needs ?model=NAME (the name the server knows the model by)", 0, len(text))
    if any(unicodedata.category(ch) == "Cc" for ch in model):
        raise EndpointError("the model name holds control characters", options_at, len(text))
    params = pid = timeout_s = None
    if "params" in values:
        params = parse_count(values["params"])
        if not params:
            raise EndpointError(
                f"params={values['params']!r} needs a count such as 135M or 1.5B", options_at, len(text)
            )
    if "pid" in values:
        if not values["pid"].isdigit() or int(values["pid"]) < 1:
            raise EndpointError(f"pid={values['pid']!r} needs a process id (a positive integer)", options_at, len(text))
        pid = int(values["pid"])
    if "timeout" in values:
        try:
            timeout_s = float(values["timeout"])
        except ValueError:
            timeout_s = -1.0
        if not 0 < timeout_s <= 86_400:
            raise EndpointError(f"timeout={values['timeout']!r} needs seconds > 0", options_at, len(text))
    key_env = values.get("key_env")
    if key_env is not None and not _ENV_RE.match(key_env):
        raise EndpointError(  # the value is not echoed: it may be the key itself
            "key_env= takes the name of an environment variable (letters, digits, '_'), not the key itself",
            options_at,
            len(text),
        )
    tokenizer = values.get("tokenizer")
    if tokenizer is not None and (not tokenizer.strip() or any(unicodedata.category(ch) == "Cc" for ch in tokenizer)):
        raise EndpointError("tokenizer= needs a folder or hub id", options_at, len(text))
    return Endpoint(base_url, model, key_env, params, pid, tokenizer, timeout_s)


def _check_url(url: str, offset: int) -> str:
    """The canonical base URL (lower-case scheme and host, no trailing slash, /v1 when no path)."""
    end = offset + len(url)
    if not url:
        raise EndpointError("no address after 'openai:'; e.g. openai:http://127.0.0.1:8000/v1?model=NAME", 0, end)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise EndpointError(f"not a URL: {exc}", offset, end) from None
    if parts.scheme.lower() not in ("http", "https"):
        raise EndpointError("the address starts with http:// or https://", offset, end)
    if parts.username is not None or parts.password is not None:
        raise EndpointError(
            "no user or password in the address: put the key in an environment variable and name it with key_env=",
            offset,
            end,
        )
    if parts.fragment or "#" in url:
        raise EndpointError("no '#' in the address", offset, end)
    host = parts.hostname or ""
    if not host:
        raise EndpointError("no host in the address", offset, end)
    if not _valid_host(host):
        raise EndpointError(f"{host!r} is not a host name or IP address", offset, end)
    if port == 0:
        raise EndpointError("port 0 is not a port", offset, end)
    shown_host = f"[{host}]" if ":" in host else host.lower()
    netloc = shown_host if port is None else f"{shown_host}:{port}"
    path = parts.path.rstrip("/") or "/v1"
    return f"{parts.scheme.lower()}://{netloc}{quote(unquote(path), safe='/-._~')}"


def _valid_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return bool(_HOST_RE.match(host)) and ".." not in host and not host.endswith("-")
    return True


def _parse_options(query: str, offset: int) -> dict[str, str]:
    values: dict[str, str] = {}
    position = offset
    for part in query.split("&") if query else []:
        key, eq, value = part.partition("=")
        end = position + len(part)
        if not eq or key not in ENDPOINT_OPTIONS:
            raise EndpointError(
                f"unknown endpoint option {part!r}; expected NAME=VALUE with NAME one of {', '.join(ENDPOINT_OPTIONS)}",
                position,
                end,
            )
        if key in values:
            raise EndpointError(f"endpoint option {key} given twice", position, end)
        values[key] = unquote(value)
        position = end + 1
    return values


# What may hold a secret in an endpoint's text: the user:password@ part of a URL, the value of an option whose
# name says key, token, secret, password or auth (key_env and tokenizer excepted), and a key_env value that is
# not a variable name (a key typed where its variable's name belongs).
_USERINFO_RE = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<secret>[^/?#@\s']*)@")
_OPTION_RE = re.compile(r"(?P<name>[A-Za-z_][A-Za-z0-9_-]*)=(?P<secret>[^&#\s']*)")
_SECRET_NAME_RE = re.compile(r"key|token|secret|passw|auth|bearer|credential", re.IGNORECASE)


def _secret_option(name: str, value: str) -> bool:
    lowered = name.lower()
    if lowered == "key_env":
        return not _ENV_RE.match(unquote(value))
    if lowered in ENDPOINT_OPTIONS:
        return False
    return bool(_SECRET_NAME_RE.search(lowered))


def redact_secrets(text: str, *, keep_length: bool = False) -> str:
    """``text`` with every secret an endpoint spec may hold replaced by ``***`` (see above): error messages
    echo the spec, and a key typed into it must not reach a terminal, a log or a screenshot. ``keep_length``
    masks each character instead, so that offsets into the text (a caret line under it) still point right."""

    def mask(secret: str) -> str:
        return "*" * len(secret) if keep_length else "***"

    def userinfo(match: re.Match[str]) -> str:
        return match.group("scheme") + mask(match.group("secret")) + "@"

    def option(match: re.Match[str]) -> str:
        name, value = match.group("name"), match.group("secret")
        return f"{name}={mask(value)}" if value and _secret_option(name, value) else match.group(0)

    return _OPTION_RE.sub(option, _USERINFO_RE.sub(userinfo, text))
