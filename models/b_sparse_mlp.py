"""B — MLP with sparse features (paper Table 5: 189k trainable). Binary classification, AUPR.

Sparse features arrive as `ACTIVE` feature ids per example (multi-hot over VOCAB), summed through a
trainable embedding; ExecuTorch has no EmbeddingBag backward, so the bag is an Embedding + sum.
"""

import torch
from torch import nn

from flint_bench.zoo import ModelDef

VOCAB, DIM, ACTIVE, DENSE = 2048, 64, 12, 16


class SparseMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.bag = nn.Embedding(VOCAB, DIM)
        self.mlp = nn.Sequential(nn.Linear(DIM + DENSE, 256), nn.ReLU(), nn.Linear(256, 144), nn.ReLU(), nn.Linear(144, 1))

    def forward(self, ids: torch.Tensor, dense: torch.Tensor) -> torch.Tensor:
        return self.mlp(torch.cat([self.bag(ids).sum(dim=1), dense], dim=1)).squeeze(1)


def make_data(n: int, seed: int) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, VOCAB, (n, ACTIVE), generator=g)
    dense = torch.randn(n, DENSE, generator=g)
    feature_weight = torch.sin(torch.arange(VOCAB, dtype=torch.float32) * 0.7)  # fixed concept
    logit = feature_weight[ids].sum(1) * 0.5 + 2.0 * dense[:, 0] - 1.5 * dense[:, 1]
    y = torch.bernoulli(torch.sigmoid(logit), generator=g)
    return ids, dense, y


def build() -> ModelDef:
    return ModelDef(
        name="B",
        description="MLP with sparse features",
        task="binary",
        net=SparseMLP(),
        loss=nn.BCEWithLogitsLoss(),
        make_data=make_data,
        n_features=2,
        batch_size=32,
        lr=0.1,
    )
