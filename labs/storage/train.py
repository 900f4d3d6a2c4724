"""Fit the simplest forecaster there is: each station's mean temperature. Reads /data, keeps working files in
/scratch, and writes the model to /models. Run it in a container, as the lab says; leave the file as it is."""

import json
import os
import sys
from collections import defaultdict
from pathlib import Path

DATA = Path("/data/measurements.csv")
SCRATCH = Path("/scratch")
MODELS = Path("/models")


def main() -> int:
    totals: dict[str, list[float]] = defaultdict(list)
    rows = 0
    with DATA.open(encoding="utf-8") as handle:
        next(handle)  # the header: station,day,temperature
        for line in handle:
            if line.strip():
                station, _day, temperature = line.strip().split(",")
                totals[station].append(float(temperature))
                rows += 1
    # A checkpoint of the work so far, in scratch space: it is not part of the result.
    try:
        (SCRATCH / "partial.json").write_text(json.dumps(totals), encoding="utf-8")
    except OSError as error:
        print(f"cannot write the checkpoint to {SCRATCH}: {error}", file=sys.stderr)
        return 1
    model = {"rows": rows,
             "stations": {name: {"count": len(values), "mean": round(sum(values) / len(values), 2)}
                          for name, values in sorted(totals.items())}}
    # Write next to the target, then rename: a reader never sees half a model.
    partial = MODELS / "model.json.partial"
    try:
        partial.write_text(json.dumps(model, indent=2) + "\n", encoding="utf-8")
        os.replace(partial, MODELS / "model.json")
    except OSError as error:
        print(f"cannot save the model in {MODELS}: {error}", file=sys.stderr)
        return 1
    print(f"saved {MODELS / 'model.json'}: {rows} rows, {len(totals)} stations")
    return 0


if __name__ == "__main__":
    sys.exit(main())
