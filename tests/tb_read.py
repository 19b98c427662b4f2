"""Reads TensorBoard event files with TensorBoard's own reader and prints what it found as JSON.

Usage: python tests/tb_read.py <run dir>

Prints {"tensorboard": version, "scalars": {tag: [[step, value, wall_time], ...]}} for every
scalar tag EventAccumulator loaded from the event files in the directory (all of them kept:
size_guidance 0). Used by src/loggers/tensorboard_logger_test.ts.
"""

import json
import sys

import tensorboard
from tensorboard.backend.event_processing import event_accumulator


def main(path: str) -> None:
    acc = event_accumulator.EventAccumulator(
        path, size_guidance={event_accumulator.SCALARS: 0}
    )
    acc.Reload()
    out = {"tensorboard": tensorboard.__version__, "scalars": {}}
    for tag in acc.Tags()["scalars"]:
        out["scalars"][tag] = [[e.step, e.value, e.wall_time] for e in acc.Scalars(tag)]
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1])
