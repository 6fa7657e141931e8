"""Build a SessionStarted from flat settings, as the store keeps them (config fields, task_info, extra facts)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from greentui.core.records import SessionStarted


def started_from_flat(settings: Mapping[str, Any], **fields: Any) -> SessionStarted:
    """``SessionStarted(**fields)`` whose typed task and config (and extra facts) come from flat ``settings``."""
    task, config, extras = SessionStarted.typed_settings(
        settings,
        task_id=fields["task_id"],
        task_name=fields["task_name"],
        model_a=fields["model_a"],
        model_b=fields["model_b"],
    )
    return SessionStarted(**fields, task=task, config=config, settings=extras)


def with_settings(event: SessionStarted, **flat: Any) -> SessionStarted:
    """``event`` with flat settings changed (a config field such as sweep_id, task_info, or an extra fact)."""
    settings = {**event.stored_settings(), **flat}
    task, config, extras = SessionStarted.typed_settings(
        settings, task_id=event.task_id, task_name=event.task_name, model_a=event.model_a, model_b=event.model_b
    )
    return dataclasses.replace(event, task=task, config=config, settings=extras)
