"""Fixtures shared by the unit tests: ``fake_nvml`` (pynvml patched over four fake H100s, tests/helpers/fake_nvml.py)."""

from __future__ import annotations

from tests.helpers.fake_nvml import fake_nvml

__all__ = ["fake_nvml"]
