"""Summarises a CSV of measurements (one numeric column per field) with NumPy.

Reads the CSV given as the first argument and writes summary.json and summary.txt into the
folder given as the second. The numbers depend only on the input: re-running gives the same bytes.
"""
import json
import sys
from pathlib import Path

import numpy as np


def main(csv_path: str, out_dir: str) -> int:
    lines = Path(csv_path).read_text().strip().splitlines()
    header = [h.strip() for h in lines[0].split(",")]
    rows = np.array([[float(v) for v in line.split(",")] for line in lines[1:]])
    summary = {
        "rows": int(rows.shape[0]),
        "numpy": np.__version__,
        "columns": {
            name: {
                "mean": round(float(rows[:, i].mean()), 6),
                "std": round(float(rows[:, i].std(ddof=1)), 6),
                "min": float(rows[:, i].min()),
                "max": float(rows[:, i].max()),
            }
            for i, name in enumerate(header)
        },
        "correlation": [[round(float(c), 6) for c in row] for row in np.corrcoef(rows, rowvar=False)],
    }
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    text = [f"{summary['rows']} rows, numpy {summary['numpy']}"]
    for name, s in summary["columns"].items():
        text.append(f"{name:>12}: mean {s['mean']:.4f}  std {s['std']:.4f}  [{s['min']}, {s['max']}]")
    (out / "summary.txt").write_text("\n".join(text) + "\n")
    print("\n".join(text))
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print("usage: analyse.py DATA.csv OUT_DIR", file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1], sys.argv[2]))
