"""The local worker's step is the phone apps' step: one joint method run, SGD in place, the same
loss trajectory as ExecuTorch's Python TrainingModule wrapper; the thread pool is ExecuTorch's."""

import pytest
import torch

from flint_bench.bench.training import JointStepTrainer, set_threads
from flint_bench.export import export_model, load_training_program
from flint_bench.zoo import load_model


@pytest.mark.parametrize("name", ["A", "C"])
def test_joint_step_follows_the_wrapper_loss_trajectory(name):
    from executorch.extension.training import get_sgd_optimizer

    model = load_model(name)
    program = export_model(model).path("executorch-training").read_bytes()
    data = model.make_data(6 * model.batch_size, seed=3)
    batches = [tuple(t[i * model.batch_size : (i + 1) * model.batch_size].contiguous() for t in data) for i in range(6)]

    wrapper, optimizer, reference = load_training_program(program), None, []
    for batch in batches:
        reference.append(float(wrapper.forward_backward("forward", batch)[0]))
        optimizer = optimizer or get_sgd_optimizer(wrapper.named_parameters(), model.lr, 0, 0, 0, False)
        optimizer.step(wrapper.named_gradients())

    trainer = JointStepTrainer(program, "forward", model.lr)
    losses = [trainer.step(batch) for batch in batches]
    assert losses == pytest.approx(reference, rel=1e-6, abs=1e-7)
    assert len(set(losses)) > 1  # the weights moved: SGD reached the program's own parameters
    # the named tensors are the program's: the parameters the wrapper ended with, not copies
    assert set(trainer.named_parameters) == set(wrapper.named_parameters())
    for key, value in wrapper.named_parameters().items():
        torch.testing.assert_close(trainer.named_parameters[key], value, rtol=1e-6, atol=1e-7)


def test_the_thread_count_is_what_executorch_pool_has():
    assert set_threads(1) == 1
    assert set_threads(2) == 2
    assert set_threads(None) == 2  # None leaves the pool as it is
