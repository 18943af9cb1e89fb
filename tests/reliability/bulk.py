"""A large, valid load file for the fault and concurrency tests."""

from __future__ import annotations

from pathlib import Path

import yaml

QUOTE = "Kazakhstan faces the challenge of transportation bottlenecks."


def write_events(path: Path, count: int, prefix: str = "bulk") -> Path:
    """``count`` events, each citing the seed article verbatim (synthetic test data:
    loaded only into throwaway databases)."""
    events = [
        {
            "slug": f"{prefix}-event-{i:05d}",
            "title": f"Synthetic test event {i}",
            "kind": "test",
            "date": f"{2000 + i % 25}",
            "parties": [{"partner": "KZ", "role": "subject"}],
            "sectors": ["transport"],
            "citations": [{"source": "tengritimes-2026-01-03", "quote": QUOTE}],
        }
        for i in range(count)
    ]
    path.write_text(yaml.safe_dump({"events": events}, sort_keys=False), encoding="utf-8")
    return path
