#!/usr/bin/env python3
# In the spirit of PyTorch's bin/test_script_is_torchelastic_launched.py: write is_torchelastic_launched() to --out-file.
import argparse

import torch.distributed as dist


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out-file", "--out_file", type=str, required=True)
    args = parser.parse_args()
    with open(args.out_file, "w") as out:
        out.write(f"{dist.is_torchelastic_launched()}")


if __name__ == "__main__":
    main()
