"""A test run's usage: messages, parts and cost per test, summed for the terminal.

Pure apart from `write_json`. The pytest plugin adds one `TestUsage` per test that
used the `augnet` fixture and prints `summary()` at the end of the run; the JSON
file (`--augnet-usage-json`) lets CI compare two runs test by test.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .pricing import COST_DIGITS

TOP = 5  # tests listed by parts sent in the summary


@dataclass(frozen=True, slots=True)
class TestUsage:
    __test__ = False  # a name pytest would otherwise try to collect

    nodeid: str
    messages: int
    parts: int
    cost: float

    @classmethod
    def from_json(cls, nodeid: str, data: dict[str, Any]) -> TestUsage:
        return cls(
            nodeid, int(data.get("messages", 0)), int(data.get("parts", 0)), data.get("cost", 0.0)
        )


@dataclass(slots=True)
class UsageReport:
    tests: list[TestUsage] = field(default_factory=list)

    def add(self, usage: TestUsage) -> None:
        self.tests.append(usage)

    def totals(self) -> dict[str, Any]:
        return {
            "tests": len(self.tests),
            "messages": sum(t.messages for t in self.tests),
            "parts": sum(t.parts for t in self.tests),
            "cost": round(sum(t.cost for t in self.tests), COST_DIGITS),
        }

    def summary(self) -> str:
        """A few lines: the totals, then the tests that sent the most parts."""
        if not self.tests:
            return ""
        t = self.totals()
        lines = [
            f"{t['messages']} messages, {t['parts']} parts, cost {t['cost']:g} "
            f"in {t['tests']} test{'s' if t['tests'] != 1 else ''}"
        ]
        top = sorted((u for u in self.tests if u.parts), key=lambda u: (-u.parts, u.nodeid))
        if top:
            lines.append(f"the {min(TOP, len(top))} tests that sent the most parts:")
            lines += [
                f"  {u.parts:>5} parts  {u.messages:>4} messages  cost {u.cost:g}  {u.nodeid}"
                for u in top[:TOP]
            ]
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        return {
            "total": self.totals(),
            "tests": {
                u.nodeid: {"messages": u.messages, "parts": u.parts, "cost": u.cost}
                for u in self.tests
            },
        }

    def write_json(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_json(), indent=2) + "\n", encoding="utf-8")
