"""Merge returned decisions with the kept ones (pure).

Rules, per item and slot (reader 1, reader 2, consensus):

- a kept decision is never lost: a slot no returned file fills keeps it, whatever the
  export, the index or the returned folder now hold;
- a returned file is known by its name: when the file a kept decision came from is
  returned again with another value in that slot, the return was edited and the new value
  replaces the kept one (that is how a reader changes a decision);
- any other file giving the slot a different value is a *conflict*: it is reported (file
  and row of both) and the kept decision stays;
- conflicting values for a slot that has no kept decision record nothing until the files
  agree (each is reported);
- empty cells never erase anything.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from imncohort.review.model import Decision, Problem

Key = tuple[str, str]


@dataclass
class MergeResult:
    """The merged decisions and what happened."""

    decisions: dict[Key, Decision]
    problems: list[Problem] = field(default_factory=list)
    added: int = 0
    changed: int = 0


def _conflict(item: str, slot: str, a: Decision, b: Decision, outcome: str) -> Problem:
    return Problem(
        b.source,
        f"row {b.row}: conflicting {slot} decisions for item {item}: '{b.decision}' here, "
        f"'{a.decision}' in {a.where()}; {outcome}",
    )


def merge_decisions(
    kept: Mapping[Key, Decision], returned: Sequence[Decision], present: Iterable[str]
) -> MergeResult:
    """Merge ``returned`` decisions (file order, then row order) into the ``kept`` ones.

    Parameters
    ----------
    kept
        (item id, slot) -> the decision kept from earlier runs.
    returned
        Every valid decision read from the returned files of this run.
    present
        Names of the returned files read this run (a kept decision's source among them
        may be edited by it).
    """
    present = set(present)
    by_key: dict[Key, list[Decision]] = {}
    for decision in returned:
        by_key.setdefault((decision.item_id, decision.slot), []).append(decision)
    result = MergeResult(decisions=dict(kept))
    for key, entries in by_key.items():
        item, slot = key
        base = kept.get(key)
        others = list(entries)
        if base is not None and base.source in present:
            own = [e for e in entries if e.source == base.source]
            others = [e for e in entries if e.source != base.source]
            if own:
                values = {e.decision for e in own}
                if len(values) > 1:
                    for e in own[1:]:
                        if e.decision != own[0].decision:
                            result.problems.append(
                                _conflict(item, slot, own[0], e, f"'{base.decision}' is kept")
                            )
                else:
                    if own[0].decision != base.decision:
                        result.changed += 1
                    base = own[0]
        if base is None:
            first = others[0]
            differing = [e for e in others if e.decision != first.decision]
            if differing:
                for e in differing:
                    result.problems.append(
                        _conflict(item, slot, first, e, "nothing is recorded until they agree")
                    )
                continue
            result.added += 1
            base = first
            others = others[1:]
        for e in others:
            if e.decision != base.decision:
                result.problems.append(
                    _conflict(item, slot, base, e, f"the recorded '{base.decision}' is kept")
                )
        result.decisions[key] = base
    return result
