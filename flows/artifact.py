"""The Prefect markdown artifact of an audit: summary, margin recommendation, report path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from imncohort.layout import OutLayout
from imncohort.runinfo import summary_lines

ARTIFACT_KEY = "imncohort-audit"


def audit_markdown(out: Path, record: dict[str, Any]) -> str:
    """Return the artifact's markdown for the run recorded in ``record``."""
    out = Path(out)
    lines = [f"# imncohort audit {record.get('run_id', '')}".rstrip(), ""]
    lines += [f"- {line}" for line in summary_lines(out)]
    margins = record.get("stages", {}).get("tables", {}).get("smallest_margin_mm", {})
    if margins:
        lines += ["", "## Margin recommendation", ""]
        lines += ["| target | medial-lateral (mm) | dorsal-ventral (mm) |", "|---|---|---|"]
        for target, by_direction in margins.items():
            ml = by_direction.get("medial_lateral")
            dv = by_direction.get("dorsal_ventral")
            lines.append(
                f"| {target}% of nodes | {'not reached' if ml is None else ml} "
                f"| {'not reached' if dv is None else dv} |"
            )
    changes = record.get("changes")
    if changes and changes.get("previous_run"):
        lines += [
            "",
            f"## Since the last audit ({changes['previous_run']})",
            "",
            f"- new candidates: {changes['new_candidate']}",
            f"- new confirmed patients: {changes['new_confirmed']}",
            f"- new nodes: {changes['new_node']}, removed nodes: {changes['removed_node']}",
        ]
    lines += ["", f"Report: `{OutLayout(out).report_html.resolve()}`", ""]
    return "\n".join(lines)


def publish(out: Path, record: dict[str, Any]) -> str:
    """Create the markdown artifact in the Prefect API; return its markdown."""
    from prefect.artifacts import create_markdown_artifact

    markdown = audit_markdown(out, record)
    create_markdown_artifact(
        markdown=markdown, key=ARTIFACT_KEY, description="imncohort audit summary"
    )
    return markdown
