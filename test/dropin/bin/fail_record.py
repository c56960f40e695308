#!/usr/bin/env python3
# A rank that fails through torch's @record, so that it writes TORCHELASTIC_ERROR_FILE (rank 1 fails, rank 0 waits).
import os
import sys
import time

from torch.distributed.elastic.multiprocessing.errors import record


@record
def main():
    print(f"run marker {sys.argv[1]} rank {os.environ['RANK']}", flush=True)
    if os.environ["RANK"] == "1":
        raise ValueError("boom from the dropin test")
    time.sleep(60)


if __name__ == "__main__":
    main()
