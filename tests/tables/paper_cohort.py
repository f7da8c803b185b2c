"""A synthetic nodes / mentions / cohort / clinical input with the seed paper's counts.

Wang et al. 2019 (seeds/000_468049d4c2705b1e.txt): 83 metastatic nodes in 70
patients (34 initial, 36 recurrence); Table 2's intercostal counts per group x
M status (4 recurrent patients without imaging data = no rib annotation);
coverage 45/63/74/77 of 83 within 4/5/6/7 mm medial-lateral and 73/76/80/82
dorsal-ventral; 32 of 49 nodes > 1 cm growing towards the sternum; detection
US 18/50, CT 22/63, MR 28/31, PET-CT 3/23; Table 1's clinical counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from statistics import NormalDist

import numpy as np
import pandas as pd

from imncohort.keys import pseudonym

SECRET = b"tables-test-secret"

# (group, M, number of patients, list of intercostal space sets) per Table 2 cell;
# None = patient without rib annotation.
_CELLS: list[tuple[str, str, list[frozenset[int] | None]]] = []


def _sets(*spec: tuple[tuple[int, ...], int]) -> list[frozenset[int] | None]:
    out: list[frozenset[int] | None] = []
    for spaces, count in spec:
        out.extend([frozenset(spaces)] * count)
    return out


INITIAL_M0 = _sets(((1, 2), 3), ((2, 3), 2), ((1,), 2), ((2,), 12), ((3,), 1))
INITIAL_M1 = _sets(((1, 2, 3), 4), ((1, 2, 4), 1), ((1, 2), 4), ((2, 4), 1), ((1,), 1), ((2,), 3))
RECURRENCE_M0 = [*_sets(((1, 2), 4), ((2, 3), 3), ((1,), 2), ((2,), 4), ((3,), 1)), None]
RECURRENCE_M1 = (
    _sets(((1, 2, 3), 6), ((2, 3, 4), 2), ((1, 2), 1), ((2,), 8), ((3,), 1)) + [None] * 3
)

# Table 1 levels per group, raw spellings as a coordinator would type them.
TABLE1 = {
    "initial": {
        "ER": ["Positive"] * 20 + ["Negative"] * 12 + ["Unknown"] * 2,
        "PR": ["pos"] * 13 + ["neg"] * 18 + [""] * 3,
        "HER2": ["+"] * 12 + ["-"] * 20 + ["NA"] * 2,
        "T": ["Tis"] + ["T1"] * 4 + ["T2"] * 13 + ["T3"] * 4 + ["T4"] * 8 + ["TX"] * 4,
        "N": ["N2"] + ["N3"] * 33,
    },
    "recurrence": {
        "ER": ["positive"] * 25 + ["negative"] * 10 + ["unknown"],
        "PR": ["positive"] * 19 + ["negative"] * 15 + ["unknown"] * 2,
        "HER2": ["positive"] * 11 + ["negative"] * 22 + ["unknown"] * 3,
        "T": ["T1"] * 10 + ["T2"] * 17 + ["T3"] * 2 + ["T4"] + ["Tx"] * 6,
        "N": ["N0"] * 19 + ["N1"] * 6 + ["N2"] * 3 + ["N3"] * 6 + ["Nx"] * 2,
    },
}

# Medial-lateral |offset| bins: 45 <= 4, 18 in (4, 5], 11 in (5, 6], 3 in (6, 7], 6 > 7.
ML_ABS = (
    list(np.linspace(0.0, 4.0, 45))
    + list(np.linspace(4.05, 5.0, 18))
    + list(np.linspace(5.05, 6.0, 11))
    + [6.3, 6.7, 7.0]
    + [7.4, 8.0, 8.8, 9.5, 11.0, 14.0]
)
# Dorsal-ventral offsets (all dorsal): 73 <= 4, 3 in (4, 5], 4 in (5, 6], 2 in (6, 7], 1 > 7.
DV = [*np.linspace(0.2, 4.0, 73), 4.5, 4.8, 5.0, 5.2, 5.5, 5.8, 6.0, 6.5, 7.0, 12.0]
# Growth quadrants of the 49 nodes with long axis > 10 mm: 32 medial (towards the sternum).
GROWTH = (
    ["medial_dorsal"] * 20
    + ["medial_ventral"] * 12
    + ["lateral_dorsal"] * 10
    + ["lateral_ventral"] * 7
)
SMALL_QUADRANTS = ["lateral_dorsal", "medial_dorsal", "lateral_ventral", "medial_ventral"]

# Table 2's ALN / SCN / local recurrence counts per subgroup (patients with imaging data),
# in the order initial_M0, initial_M1, recurrence_M0, recurrence_M1; None = "-" in the paper.
TABLE2_CLINICAL = {
    "ALN_I": (19, 13, 0, 3),
    "ALN_II": (13, 10, 1, 7),
    "ALN_III": (9, 8, 1, 6),
    "SCN": (5, 5, 4, 9),
    "local_recurrence": (None, None, 9, 8),
}
# Header spellings a coordinator might use for them (matched case-insensitively).
TABLE2_HEADERS = {
    "ALN_I": "ALN_I",
    "ALN_II": "aln_ii",
    "ALN_III": "ALN III",
    "SCN": "SCN",
    "local_recurrence": "Local_Recurrence",
}
# Of the 32 nodes > 1 cm towards the sternum: 23 reach over it, 12 of those invade it.
OVER_STERNUM, STERNAL_INVASION = 23, 12

# Detection: patient index ranges (inclusive) with a report / with an affirmed mention.
HAS_REPORT = {"CT": (0, 62), "US": (20, 69), "MR": (0, 30), "PT": (0, 22)}
DETECTED = {"CT": (14, 35), "US": (29, 46), "MR": (0, 27), "PT": (0, 2)}


@dataclass(frozen=True)
class PaperCohort:
    """The synthetic inputs and facts the tests compare against."""

    nodes: pd.DataFrame
    mentions: pd.DataFrame
    cohort: pd.DataFrame
    clinical_raw: pd.DataFrame
    reports: pd.DataFrame
    patient_ids: list[str]
    subgroup: dict[str, str]  # patient_key -> "initial_M0" ...
    spaces: dict[str, frozenset[int] | None]


def _node_row(key: str, side: str, spaces: frozenset[int] | None, number: int) -> dict:
    return {
        "patient_key": key,
        "study_key": pseudonym(SECRET, f"study-{key}"),
        "series_key": f"1.2.3.{number}",
        "roi_name": f"IMN{number}_{side[0].upper()}",
        "annotation": "rtstruct",
        "component": 1,
        "side": side,
        "imv_extrapolated": False,
        "metastatic": True,
        "intercostal_spaces": ";".join(str(s) for s in sorted(spaces)) if spaces else "",
        "ctv_coverage": np.nan,
        "qc_png": "",
    }


def build_paper_cohort() -> PaperCohort:
    """Return the 70-patient, 83-node synthetic cohort with the seed paper's counts."""
    groups = (
        [("initial", "M0", s) for s in INITIAL_M0]
        + [("initial", "M1", s) for s in INITIAL_M1]
        + [("recurrence", "M0", s) for s in RECURRENCE_M0]
        + [("recurrence", "M1", s) for s in RECURRENCE_M1]
    )
    assert len(groups) == 70
    ids = [f"P{i:03d}" for i in range(70)]
    keys = [pseudonym(SECRET, pid) for pid in ids]
    rows: list[dict] = []
    split_left = 13  # 13 multi-space patients carry two nodes: 70 + 13 = 83 nodes
    for index, (key, (_, _, spaces)) in enumerate(zip(keys, groups, strict=True)):
        side = "left" if index % 10 < 6 else "right"
        if spaces is not None and len(spaces) > 1 and split_left:
            split_left -= 1
            ordered = sorted(spaces)
            rows.append(_node_row(key, side, frozenset(ordered[:1]), 1))
            rows.append(_node_row(key, side, frozenset(ordered[1:]), 2))
        else:
            rows.append(_node_row(key, side, spaces, 1))
    assert len(rows) == 83
    rng = np.random.default_rng(7)
    ml_abs = np.array(ML_ABS)[rng.permutation(83)]
    dv = np.array(DV)[rng.permutation(83)]
    big = rng.permutation(83)[:49]
    quadrant = [SMALL_QUADRANTS[i % 4] for i in range(83)]
    long_axis = [6.0 + (i % 5) for i in range(83)]  # 6..10 mm: not > 10
    for n, i in enumerate(sorted(big)):
        quadrant[i] = GROWTH[n]
        long_axis[i] = 10.5 + (n % 7) * 2.0
    long_axis[next(i for i in range(83) if i not in set(big))] = 10.0  # boundary: excluded
    # Sternum flags: the large medial nodes in order get 23 over / 12 invading; large lateral
    # and small medial nodes also say "over" and "invading" to show they are not counted.
    over = [False] * 83
    invasion = [False] * 83
    medial_big = [i for i in sorted(big) if quadrant[i].startswith("medial")]
    for n, i in enumerate(medial_big):
        over[i] = n < OVER_STERNUM
        invasion[i] = n < STERNAL_INVASION
    for i in [i for i in sorted(big) if quadrant[i].startswith("lateral")][:3]:
        over[i] = invasion[i] = True
    for i in [i for i in range(83) if i not in set(big) and quadrant[i].startswith("medial")][:3]:
        over[i] = invasion[i] = True
    for i, row in enumerate(rows):
        medial = quadrant[i].startswith("medial")
        ventral = quadrant[i].endswith("ventral")
        sign = -1.0 if i % 3 == 0 else 1.0
        row["center_ml_mm"] = sign * float(ml_abs[i])
        row["center_dv_mm"] = float(dv[i])
        row["extent_medial_mm"] = 6.0 if medial else 1.0
        row["extent_lateral_mm"] = 2.0 if medial else 7.0
        row["extent_ventral_mm"] = 5.0 if ventral else 0.5
        row["extent_dorsal_mm"] = 1.5 if ventral else 8.0
        row["quadrant"] = quadrant[i]
        row["towards_sternum"] = medial
        row["over_sternum"] = over[i]
        row["sternal_invasion"] = invasion[i]
        row["long_axis_mm"] = long_axis[i]
        row["short_axis_mm"] = 5.0 + (i % 4)
        row["volume_ml"] = 0.5 + 0.1 * i if row["side"] == "left" else 0.3 + 0.05 * i
        row["centroid_x"] = row["centroid_y"] = row["centroid_z"] = 0.0
        row["reference_z"] = row["imv_x"] = row["imv_y"] = 0.0
    # Non-metastatic nodes (short axis < 5 mm) far from the IMV: excluded everywhere.
    for j in range(4):
        extra = _node_row(keys[j], "left", frozenset({5}), 9)
        extra.update(
            metastatic=False,
            center_ml_mm=30.0,
            center_dv_mm=30.0,
            extent_medial_mm=0.0,
            extent_lateral_mm=35.0,
            extent_ventral_mm=0.0,
            extent_dorsal_mm=35.0,
            quadrant="lateral_dorsal",
            towards_sternum=False,
            long_axis_mm=20.0,
            short_axis_mm=4.0,
            volume_ml=9.0,
        )
        rows.append(extra)
    nodes = pd.DataFrame(rows)

    mention_rows = []
    report_rows = []
    assertions_for_missed = ["negated", "uncertain", "historical", "hypothetical"]
    for i, key in enumerate(keys):
        for modality, (lo, hi) in HAS_REPORT.items():
            if not lo <= i <= hi:
                continue
            report_id = f"{modality}-{i}"
            report_rows.append(
                {
                    "patient_key": key,
                    "study_key": f"s{i}{modality}",
                    "modality": modality,
                    "report_id": report_id,
                }
            )
            d_lo, d_hi = DETECTED[modality]
            assertion = "affirmed" if d_lo <= i <= d_hi else assertions_for_missed[i % 4]
            mention_rows.append(
                {
                    "mention_id": f"m{i}{modality}",
                    "patient_key": key,
                    "study_key": f"s{i}{modality}",
                    "modality": modality,
                    "study_date": "20180101",
                    "source": "table",
                    "source_path": "reports.csv",
                    "report_id": report_id,
                    "section": "FINDINGS",
                    "term": "internal mammary node",
                    "assertion": assertion,
                    "trigger": "",
                    "side": "left",
                    "intercostal_spaces": "",
                    "size_long_mm": np.nan,
                    "size_short_mm": np.nan,
                    "size_mm": np.nan,
                }
            )
    # Candidates that are not confirmed: affirmed mentions must not count.
    for c in range(5):
        mention_rows.append(
            {
                "mention_id": f"c{c}",
                "patient_key": pseudonym(SECRET, f"C{c}"),
                "study_key": f"sc{c}",
                "modality": "CT",
                "study_date": "20180101",
                "source": "sr",
                "source_path": "x.dcm",
                "report_id": f"c{c}",
                "section": "",
                "term": "imn",
                "assertion": "affirmed",
                "trigger": "",
                "side": "",
                "intercostal_spaces": "",
                "size_long_mm": np.nan,
                "size_short_mm": np.nan,
                "size_mm": np.nan,
            }
        )
    mentions = pd.DataFrame(mention_rows)
    cohort = pd.DataFrame(
        [
            {
                "patient_key": k,
                "status": "confirmed",
                "found_by_reports": True,
                "first_mention_date": "20180101",
                "modalities": "CT",
                "n_affirmed": 1,
            }
            for k in keys
        ]
        + [
            {
                "patient_key": pseudonym(SECRET, f"C{c}"),
                "status": "candidate",
                "found_by_reports": False,
                "first_mention_date": "20180101",
                "modalities": "CT",
                "n_affirmed": 1,
            }
            for c in range(5)
        ]
    )

    clinical_rows = []
    counters = {"initial": 0, "recurrence": 0}
    cell_order = ["initial_M0", "initial_M1", "recurrence_M0", "recurrence_M1"]
    known_in_cell = dict.fromkeys(cell_order, 0)
    subgroup = {}
    spaces = {}
    for pid, key, (group, m_stage, space_set) in zip(ids, keys, groups, strict=True):
        n = counters[group]
        counters[group] += 1
        levels = {var: values[n] for var, values in TABLE1[group].items()}
        table2: dict[str, str] = {}
        cell = f"{group}_{m_stage}"
        for column, per_cell in TABLE2_CLINICAL.items():
            wanted = per_cell[cell_order.index(cell)]
            header = TABLE2_HEADERS[column]
            if space_set is None:  # no imaging data: "yes" everywhere, never counted
                table2[header] = "yes"
            elif wanted is None:
                table2[header] = ""
            else:
                yes = known_in_cell[cell] < wanted
                table2[header] = ("Yes" if yes else "No") if n % 2 else ("1" if yes else "0")
        if space_set is not None:
            known_in_cell[cell] += 1
        clinical_rows.append(
            {"PatientID": pid, "group": group.capitalize(), **levels, "M": m_stage, **table2}
        )
        subgroup[key] = f"{group}_{m_stage}"
        spaces[key] = space_set
    clinical_rows.append(
        {
            "PatientID": "NOT-IN-COHORT",
            "group": "initial",
            "ER": "positive",
            "PR": "",
            "HER2": "",
            "T": "T1",
            "N": "N1",
            "M": "M0",
        }
    )
    return PaperCohort(
        nodes=nodes,
        mentions=mentions,
        cohort=cohort,
        clinical_raw=pd.DataFrame(clinical_rows),
        reports=pd.DataFrame(report_rows),
        patient_ids=ids,
        subgroup=subgroup,
        spaces=spaces,
    )


def write_inputs(out: Path, paper: PaperCohort, export: Path) -> Path:
    """Write nodes.csv, mentions.parquet, cohort.csv in ``out`` and clinical.csv in ``export``."""
    out.mkdir(parents=True, exist_ok=True)
    export.mkdir(parents=True, exist_ok=True)
    paper.nodes.to_csv(out / "nodes.csv", index=False)
    paper.mentions.to_parquet(out / "mentions.parquet", index=False)
    paper.cohort.to_csv(out / "cohort.csv", index=False)
    clinical = export / "clinical_2019.csv"
    paper.clinical_raw.to_csv(clinical, index=False)
    return clinical


def reference_wilson(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson bounds as the roots in p of (k/n - p)^2 = z^2 p (1 - p) / n (stdlib z).

    Written independently of :mod:`imncohort.tables.wilson` (quadratic roots
    instead of the centre +- half-width form).
    """
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    phat = k / n
    # (1 + z^2/n) p^2 - (2 phat + z^2/n) p + phat^2 = 0
    roots = np.roots([1 + z * z / n, -(2 * phat + z * z / n), phat * phat])
    low, high = sorted(float(np.real(r)) for r in roots)
    return max(0.0, low), min(1.0, high)
