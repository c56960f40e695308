#!/usr/bin/env python3
# A rank in the spirit of PyTorch's test/distributed/launcher/bin/test_script.py (written for ddprun's tests):
# checks the launcher's environment, then touches a file named by its global rank.
import argparse
import os
import sys


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
    # torch's own is_torchelastic_launched() on each launcher's local rank 0 (importing torch costs a CPU-second per
    # rank, on a 2-core test machine); torch defines it as TORCHELASTIC_RUN_ID being set, asserted above for every rank.
    if os.environ["LOCAL_RANK"] == "0":
        import torch.distributed as dist

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
