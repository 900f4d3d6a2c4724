"""The worked example's job for "Storage": fit the course project's model, as a read-only job.

It reads /data/readings.csv (columns station,day,temperature), keeps a working copy in /scratch, fits a
line per station with forecast.fit, and saves /models/model.json with forecast.save. Run it with the data
read-only, /models writable and /scratch in memory; it writes nowhere else, so it also runs on a read-only
root filesystem. forecast.py, the project's model core, sits next to it in /data.
"""

import shutil
import sys
from pathlib import Path

from forecast import fit, read_readings, save

DATA = Path("/data/readings.csv")
SCRATCH = Path("/scratch")
MODELS = Path("/models")


def main() -> int:
    # Working files go to scratch space: they are not part of the result.
    copy = shutil.copyfile(DATA, SCRATCH / DATA.name)
    model = fit(read_readings(str(copy)))

    # forecast.save writes model.json.tmp next to the target, then renames it:
    # a reader never sees half a model.
    target = MODELS / "model.json"
    save(model, str(target))
    for line in model["stations"].values():
        print(f"{line['station']:8} {line['n']} days, {line['slope']:+.2f} °C a day")
    print(f"saved {target}: {model['rows']} readings from {len(model['stations'])} stations")
    return 0


if __name__ == "__main__":
    sys.exit(main())
