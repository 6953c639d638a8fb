"""Series names: a panel's legend format (``{{path}} {{status}}``) or Prometheus' own notation."""

from __future__ import annotations

import re
from collections.abc import Mapping

_PLACEHOLDER = re.compile(r"\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}")


def series_name(labels: Mapping[str, str]) -> str:
    """``http_requests_total{path="/api", status="200"}``, as the expression browser writes it."""
    name = labels.get("__name__", "")
    rest = ", ".join(f'{k}="{_escape(v)}"' for k, v in sorted(labels.items()) if k != "__name__")
    if not rest:
        return name or "{}"
    return f"{name}{{{rest}}}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def format_legend(template: str, labels: Mapping[str, str]) -> str:
    """``template`` with each ``{{label}}`` replaced by that label's value (empty when absent);
    Prometheus' notation when there is no template or it comes out empty."""
    if not template:
        return series_name(labels)
    text = _PLACEHOLDER.sub(lambda m: labels.get(m.group(1), ""), template).strip()
    return text or series_name(labels)


def placeholders(template: str) -> list[str]:
    """The label names a legend format refers to."""
    return _PLACEHOLDER.findall(template)
