"""Wall time of the last `make report` runs, as recorded in each report's provenance.json.

Timing the report itself would take the benchmark far past its budget, so the
runner records its own wall time and how many runs it had to train (cold: all,
warm: none); this table collects those records.
"""
from __future__ import annotations

import json

import pandas as pd

from .common import OUT, write


def run():
    rows = []
    for prov_path in sorted((OUT.parent).glob("*/provenance.json")):
        p = json.loads(prov_path.read_text())
        rows.append({"report": prov_path.parent.name, "seconds": p.get("seconds"),
                     "runs trained": p.get("runs_trained"), "runs reused": p.get("runs_reused"),
                     "created": p.get("created"), "commit": (p.get("git") or {}).get("commit")})
    df = pd.DataFrame(rows).set_index("report") if rows else pd.DataFrame({"note": ["no report found: run make report"]})
    write("report_time", df)
    return df
