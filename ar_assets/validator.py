"""Validate a GLB: our structural checks, then the Khronos glTF-Validator.

:func:`validate_glb` is what other packages use (floor-plan scenes validate what they write):
it returns a :class:`ValidationReport` whose ``errors`` must be 0 for a file we serve.

The Khronos validator is the npm package ``gltf-validator`` (pinned in ``package.json``,
installed by ``npm ci``), run by ``ar_assets/validate.cjs`` with the machine's Node, the GLB
on stdin. It is given a GLB only and refuses any external resource, so it reads nothing else.
"""

from __future__ import annotations

import io
import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ar_assets.gltf import LIMITS, Limits, check_document, read_layout
from ar_assets.report import Report
from homeloop.errors import HomeloopError

__all__ = ["ToolError", "ValidationReport", "document_of_file", "khronos", "node_json",
           "structure", "structure_of_file", "validate_glb", "validate_path"]

SCRIPT = Path(__file__).with_name("validate.cjs")


class ToolError(HomeloopError):
    """A tool we drive (Node and the validator, gltfpack) is missing or failed."""


def node_json(args: list[str], what: str, *, timeout_s: float,
              data: bytes | None = None) -> dict[str, Any]:
    """Run one of our Node scripts (``args``: node, the script, its arguments) and read the
    JSON it writes; :class:`ToolError`, naming ``what``, when it cannot run, fails or writes
    something else."""
    try:
        done = subprocess.run(args, input=data, capture_output=True, timeout=timeout_s,
                              check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ToolError(f"{what} could not run: {exc}") from exc
    if done.returncode != 0:
        raise ToolError(f"{what} failed ({done.returncode}): "
                        f"{done.stderr.decode(errors='replace')[-1000:]}")
    try:
        result: dict[str, Any] = json.loads(done.stdout)
    except json.JSONDecodeError as exc:
        raise ToolError(f"{what} wrote no JSON: {done.stdout[:200]!r}") from exc
    return result


@dataclass(frozen=True, slots=True)
class ValidationReport:
    errors: int
    warnings: int
    triangles: int
    draw_calls: int
    messages: list[dict[str, Any]] = field(default_factory=list)  # first issues, errors first
    validator_version: str = ""

    @property
    def valid(self) -> bool:
        return self.errors == 0

    def to_json(self) -> dict[str, Any]:
        return {"errors": self.errors, "warnings": self.warnings, "triangles": self.triangles,
                "draw_calls": self.draw_calls, "validator": self.validator_version,
                "messages": self.messages}


def structure(data: bytes, limits: Limits = LIMITS) -> Report:
    """Our own checks of a GLB in memory (see :mod:`ar_assets.gltf`)."""
    report = Report()
    layout = read_layout(io.BytesIO(data), len(data), report, limits)
    if layout is not None:
        def peek(offset: int, n: int) -> bytes:
            start = layout.bin_offset + offset
            return data[start:start + n]
        check_document(layout.doc, layout.bin_length if layout.bin_offset else None, report,
                       peek, limits)
    return report


def khronos(data: bytes | Path, *, node: str = "node", timeout_s: float = 600.0,
            max_issues: int = 200) -> dict[str, Any]:
    """The Khronos validator's JSON report of a GLB (its bytes, or a file Node reads)."""
    args = [node, str(SCRIPT), str(max_issues)]
    if isinstance(data, Path):
        args.append(str(data))
    return node_json(args, "the glTF validator", timeout_s=timeout_s,
                     data=None if isinstance(data, Path) else data)


def structure_of_file(path: Path, limits: Limits = LIMITS) -> Report:
    """Our own checks of a GLB file, reading its JSON and a few bytes of the rest."""
    return document_of_file(path, limits)[0]


def document_of_file(path: Path, limits: Limits = LIMITS) -> tuple[Report, dict[str, Any] | None]:
    """:func:`structure_of_file`'s report, with the file's glTF JSON when it could be read."""
    report = Report()
    with path.open("rb") as f:
        layout = read_layout(f, path.stat().st_size, report, limits)
        if layout is None:
            return report, None

        def peek(offset: int, n: int) -> bytes:
            f.seek(layout.bin_offset + offset)
            return f.read(n)
        check_document(layout.doc, layout.bin_length if layout.bin_offset else None,
                       report, peek, limits)
    return report, layout.doc


def validate_path(path: Path, *, node: str = "node",
                  timeout_s: float = 600.0) -> ValidationReport:
    """:func:`validate_glb` of a file, which Python never reads whole (Node reads it once)."""
    return _validate(structure_of_file(path), path, node, timeout_s)


def validate_glb(data: bytes, *, node: str = "node", timeout_s: float = 600.0) -> ValidationReport:
    """Validate a GLB: our checks first (a file they refuse never reaches Node), then Khronos."""
    return _validate(structure(data), data, node, timeout_s)


def _validate(ours: Report, data: bytes | Path, node: str, timeout_s: float) -> ValidationReport:
    if ours.errors:
        return ValidationReport(
            ours.errors, ours.warnings, int(ours.facts.get("triangles", 0)),
            int(ours.facts.get("draw_calls", 0)),
            [{"code": i.code, "message": i.message, "pointer": i.pointer,
              "severity": i.severity} for i in ours.issues[:50]])
    result = khronos(data, node=node, timeout_s=timeout_s)
    if "fatal" in result:
        return ValidationReport(1, 0, 0, 0, [{"code": "VALIDATOR_FATAL",
                                              "message": str(result["fatal"]),
                                              "pointer": "", "severity": "error"}])
    issues = result.get("issues", {})
    info = result.get("info", {})
    severity = {0: "error", 1: "warning", 2: "info", 3: "hint"}
    messages = sorted((m for m in issues.get("messages", []) if m.get("severity", 3) <= 1),
                      key=lambda m: m.get("severity", 3))[:50]
    return ValidationReport(
        int(issues.get("numErrors", 0)), int(issues.get("numWarnings", 0)),
        int(info.get("totalTriangleCount", 0)), int(info.get("drawCallCount", 0)),
        [{"code": m.get("code", ""), "message": m.get("message", ""),
          "pointer": m.get("pointer", ""), "severity": severity.get(m.get("severity", 3), "hint")}
         for m in messages],
        str(result.get("validatorVersion", "")))
