#!/usr/bin/env python3
# A rank in the spirit of PyTorch's test/distributed/launcher/bin/test_script.py (written for ddprun's tests):
# checks the launcher's environment, then touches a file named by its global rank.
import argparse
import os
import sys

import torch.distributed as dist


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--fail", action="store_true")
    parser.add_argument("--touch-file-dir", "--touch_file_dir", type=str)
    args = parser.parse_args()
    env_vars = ["LOCAL_RANK", "RANK", "GROUP_RANK", "ROLE_RANK", "ROLE_NAME", "LOCAL_WORLD_SIZE", "WORLD_SIZE",
                "ROLE_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT", "TORCHELASTIC_RESTART_COUNT",
                "TORCHELASTIC_MAX_RESTARTS", "TORCHELASTIC_RUN_ID"]
    for name in env_vars:
        assert name in os.environ, f"{name} is missing"
    # the parent's environment reaches the ranks
    assert os.environ.get("TEST_SENTINEL_PARENT") == "FOOBAR", os.environ.get("TEST_SENTINEL_PARENT")
    assert dist.is_torchelastic_launched(), "is_torchelastic_launched() is False"
    if args.fail:
        raise RuntimeError("raising exception since --fail flag was set")
    rank = os.environ["RANK"]
    path = os.path.join(args.touch_file_dir, rank)
    print(f"creating {path}")
    with open(path, "x"):
        pass
    sys.stdout.flush()


if __name__ == "__main__":
    main()
