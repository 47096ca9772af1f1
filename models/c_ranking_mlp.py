"""C — MLP with a medium embedding (paper Table 5: 208k trainable). Ranking of CANDIDATES items per query, NDCG.

Trained with a listwise (ListNet) softmax cross-entropy against graded relevance 0–3.
"""

import torch
from torch import nn

from flint_bench.zoo import ModelDef

ITEMS, DIM, CANDIDATES, QUERY, ITEM_DENSE = 3400, 32, 8, 16, 16


class RankingMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.items = nn.Embedding(ITEMS, DIM)
        self.mlp = nn.Sequential(
            nn.Linear(DIM + ITEM_DENSE + QUERY, 512), nn.ReLU(), nn.Linear(512, 128), nn.ReLU(), nn.Linear(128, 1)
        )

    def forward(self, query: torch.Tensor, item_ids: torch.Tensor, item_dense: torch.Tensor) -> torch.Tensor:
        q = query.unsqueeze(1).expand(-1, CANDIDATES, -1)
        return self.mlp(torch.cat([self.items(item_ids), item_dense, q], dim=2)).squeeze(2)


def listnet_rows(scores: torch.Tensor, relevance: torch.Tensor) -> torch.Tensor:
    return -(torch.softmax(relevance, dim=1) * torch.log_softmax(scores, dim=1)).sum(dim=1)


def listnet_loss(scores: torch.Tensor, relevance: torch.Tensor) -> torch.Tensor:
    return listnet_rows(scores, relevance).mean()


def make_data(n: int, seed: int) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(seed)
    query = torch.randn(n, QUERY, generator=g)
    item_ids = torch.randint(0, ITEMS, (n, CANDIDATES), generator=g)
    item_dense = torch.randn(n, CANDIDATES, ITEM_DENSE, generator=g)
    popularity = torch.cos(torch.arange(ITEMS, dtype=torch.float32) * 0.37)  # fixed concept
    affinity = (item_dense[:, :, :4] * query[:, None, :4]).sum(2)
    score = popularity[item_ids] + 0.7 * affinity + 0.3 * torch.randn(n, CANDIDATES, generator=g)
    relevance = torch.bucketize(score, torch.tensor([-0.5, 0.5, 1.5])).float()
    return query, item_ids, item_dense, relevance


def build() -> ModelDef:
    return ModelDef(
        name="C",
        description="MLP with medium embedding",
        task="ranking",
        net=RankingMLP(),
        loss=listnet_loss,
        row_loss=listnet_rows,
        make_data=make_data,
        n_features=3,
        batch_size=16,
        lr=0.3,
    )
