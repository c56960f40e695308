"""A small, real DDP training: ddprun's demo (`npm run demo`).

Fits a two-layer network to a noisy synthetic regression problem with DistributedDataParallel:
every rank sees its own shard (DistributedSampler), gradients are all-reduced each step, rank 0
prints `epoch E/N loss L` once per epoch (the loss averaged over all ranks) and saves a checkpoint.
Backend: nccl when CUDA is available, else gloo on CPU. Run it with ddprun or torchrun:

    ddprun --nproc-per-node 2 examples/train_ddp.py --epochs 5
"""

import argparse
import os

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset


def synthetic_data(samples=4096, features=16, seed=0):
    # The same data on every rank (same seed): the sampler gives each rank its shard.
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(samples, features, generator=g)
    w = torch.randn(features, 1, generator=g)
    y = torch.sin(x @ w / features**0.5) + 0.05 * torch.randn(samples, 1, generator=g)
    return TensorDataset(x, y)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=64, help="per rank")
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--out", default=os.path.join("runs", "demo"), help="checkpoint directory (rank 0)")
    args = parser.parse_args()

    cuda = torch.cuda.is_available()
    dist.init_process_group("nccl" if cuda else "gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    device = torch.device("cuda", local_rank) if cuda else torch.device("cpu")
    if cuda:
        torch.cuda.set_device(device)

    torch.manual_seed(0)  # same initial weights everywhere (DDP also broadcasts rank 0's)
    model = nn.Sequential(nn.Linear(16, 64), nn.Tanh(), nn.Linear(64, 1)).to(device)
    ddp = DistributedDataParallel(model, device_ids=[local_rank] if cuda else None)
    optimizer = torch.optim.SGD(ddp.parameters(), lr=args.lr, momentum=0.9)
    loss_fn = nn.MSELoss()

    dataset = synthetic_data()
    sampler = DistributedSampler(dataset, num_replicas=world, rank=rank, shuffle=True, seed=0)
    loader = DataLoader(dataset, batch_size=args.batch_size, sampler=sampler)
    if rank == 0:
        print(f"training on {world} rank(s), backend {dist.get_backend()}, {len(dataset)} samples", flush=True)

    for epoch in range(1, args.epochs + 1):
        sampler.set_epoch(epoch)
        total = torch.zeros(2, device=device)  # sum of losses, number of samples
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            optimizer.zero_grad()
            loss = loss_fn(ddp(x), y)
            loss.backward()
            optimizer.step()
            total += torch.stack([loss.detach() * len(x), torch.tensor(float(len(x)), device=device)])
        dist.all_reduce(total)
        if rank == 0:
            print(f"epoch {epoch}/{args.epochs} loss {(total[0] / total[1]).item():.4f}", flush=True)

    if rank == 0:
        os.makedirs(args.out, exist_ok=True)
        path = os.path.join(args.out, "checkpoint.pt")
        torch.save({"epochs": args.epochs, "world_size": world, "model": model.state_dict()}, path)
        print(f"saved {path}", flush=True)
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
