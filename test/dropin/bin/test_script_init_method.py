#!/usr/bin/env python3
# In the spirit of PyTorch's bin/test_script_init_method.py: init with --init-method, all-reduce the ranks, check the sum.
import argparse
import os

import torch
import torch.distributed as dist


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--init-method", "--init_method", type=str, required=True)
    args = parser.parse_args()
    rank = int(os.environ["RANK"])
    world_size = int(os.environ["WORLD_SIZE"])
    dist.init_process_group(backend="gloo", init_method=args.init_method, world_size=world_size, rank=rank)
    t = torch.tensor([rank + 1], dtype=torch.float32)
    dist.all_reduce(t)
    expected = world_size * (world_size + 1) / 2
    assert t.item() == expected, f"{t.item()} != {expected}"
    print(f"rank {rank}: all_reduce ok ({t.item()})")
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
