"""A real dataset partitioned by its id field, in the benchmark contract's .npz format."""

import numpy as np
import pytest

from flint_bench.core.errors import ConfigError
from flint_bench.simulator.config import parse
from flint_bench.simulator.proxy import build_proxy, partition_by_id
from flint_bench.simulator.simulation import prepare
from flint_bench.zoo import load_model

from .helpers import raw_config


def test_partition_by_id_groups_rows_and_counts_them():
    order, sizes = partition_by_id(np.array([7, 3, 7, 9, 3, 7]))
    assert sizes.tolist() == [2, 3, 1]  # ids 3, 7, 9
    assert order.tolist() == [1, 4, 0, 2, 5, 3]


@pytest.fixture
def dataset(tmp_path):
    model = load_model("A")
    rng = np.random.default_rng(0)
    ids = rng.zipf(1.6, 3000) % 97  # tail-heavy: a few clients own most records
    arrays = model.make_data(len(ids), 5)
    np.savez(tmp_path / "real.npz", client_id=ids, **{f"input_{i}": a.numpy() for i, a in enumerate(arrays)})
    return tmp_path, ids, arrays


def test_a_dataset_is_partitioned_by_its_ids_with_held_out_clients(dataset):
    folder, ids, arrays = dataset
    cfg = parse(raw_config("fedbuff", proxy={"dataset": "real.npz"}, sim={"train": True}), str(folder / "sim.toml"))
    proxy = build_proxy(load_model("A"), cfg.proxy, 0, cfg.file)
    unique, counts = np.unique(ids, return_counts=True)
    n_train = len(unique) - len(unique) // 10
    assert proxy.sizes.tolist() == counts[:n_train].tolist()
    assert len(proxy.holdout[0]) == counts[n_train:].sum()
    first = np.flatnonzero(ids == unique[0])  # client 0's rows are exactly that id's rows, in order
    np.testing.assert_array_equal(proxy.tensors[0][: len(first)].numpy(), arrays[0][first].numpy())
    assert proxy.metadata["partition"]["by"] == "id_field" and proxy.metadata["population"]["clients"] == n_train
    assert len(prepare(parse(raw_config("fedbuff", proxy={"dataset": "real.npz"}), str(folder / "sim.toml"))).sizes) == n_train


def test_a_dataset_without_the_id_array_names_the_key(dataset):
    folder, *_ = dataset
    cfg = parse(
        raw_config("fedbuff", proxy={"dataset": "real.npz", "id_field": "member"}, sim={"train": True}), str(folder / "sim.toml")
    )
    with pytest.raises(ConfigError, match=r"proxy.dataset.*member"):
        build_proxy(load_model("A"), cfg.proxy, 0, cfg.file)
