"""What checking a model found: issues with a code, a message and where (a JSON pointer)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Severity = Literal["error", "warning", "info"]


@dataclass(frozen=True, slots=True)
class Issue:
    code: str
    message: str
    pointer: str = ""
    severity: Severity = "error"


@dataclass(slots=True)
class Report:
    """Issues in the order found; ``errors`` counts those that refuse the model."""

    issues: list[Issue] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)

    def error(self, code: str, message: str, pointer: str = "") -> None:
        self.issues.append(Issue(code, message, pointer, "error"))

    def warn(self, code: str, message: str, pointer: str = "") -> None:
        self.issues.append(Issue(code, message, pointer, "warning"))

    @property
    def errors(self) -> int:
        return sum(1 for i in self.issues if i.severity == "error")

    @property
    def warnings(self) -> int:
        return sum(1 for i in self.issues if i.severity == "warning")

    def summary(self) -> str:
        first = [i.message for i in self.issues if i.severity == "error"][:3]
        more = self.errors - len(first)
        return "; ".join(first) + (f" (and {more} more)" if more > 0 else "")

    def to_json(self, limit: int = 100) -> dict[str, Any]:
        return {"errors": self.errors, "warnings": self.warnings,
                "issues": [asdict(i) for i in self.issues[:limit]], **self.facts}
