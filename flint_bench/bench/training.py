"""One training step as the phone apps run it: ExecuTorch's C++ `TrainingModule` work, through the
Python bindings of the runtime's `Module`.

The C++ `TrainingModule::execute_forward_backward` (extension/training/module/training_module.cpp)
runs the joint forward-backward method, keeps the user outputs, and names the gradients once (the
gradient and parameter tensors alias the method's outputs, so the name map stays valid); its SGD
updates the parameters in place. ExecuTorch's Python `TrainingModule` wrapper does more per step:
it also runs the two index methods and the FQN method every step and clones every gradient and
output. This class reads the indices and names once at load, then runs one method per step with
`clone_outputs=False` and applies ExecuTorch's SGD in place on the aliased parameters.

The runtime's own thread pool (not torch's: `torch.set_num_threads` does not size it) is set with
`_unsafe_reset_threadpool` and read back with `_threadpool_get_thread_count`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

GRADIENTS_PREFIX = "__et_training_gradients_index_"
PARAMETERS_PREFIX = "__et_training_parameters_index_"
FQN_PREFIX = "__et_training_fqn_"


def set_threads(threads: int | None) -> int:
    """Size ExecuTorch's thread pool (None: leave its default, one thread per core) and return
    the thread count it really has."""
    from executorch.extension.pybindings import portable_lib

    if threads:
        portable_lib._unsafe_reset_threadpool(threads)
    return int(portable_lib._threadpool_get_thread_count())


class JointStepTrainer:
    """Loads a training program (.pte bytes) and trains it one batch at a time with SGD."""

    def __init__(self, program: bytes, method: str, learning_rate: float):
        from executorch.extension.pybindings import portable_lib

        self.program = program  # the runtime reads weights from the buffer without owning it
        self.module: Any = portable_lib._load_for_executorch_from_buffer(program)
        self.method, self.learning_rate = method, learning_rate
        self.grad_start = int(self.module.run_method(GRADIENTS_PREFIX + method, ())[0])
        self.param_start = int(self.module.run_method(PARAMETERS_PREFIX + method, ())[0])
        self.names = [str(n) for n in self.module.run_method(FQN_PREFIX + method, ())]
        self.named_gradients: dict[str, Any] = {}
        self.named_parameters: dict[str, Any] = {}
        self._optimizer: Any = None

    def forward_backward(self, batch: Sequence[Any]) -> list[Any]:
        """One run of the joint method; the user outputs (loss first) alias the runtime's memory
        until the next step."""
        outputs = self.module.run_method(self.method, tuple(batch), clone_outputs=False)
        if self._optimizer is None:  # first step: name the aliased gradients and parameters once
            from executorch.extension.training import get_sgd_optimizer

            self.named_gradients = dict(zip(self.names, outputs[self.grad_start : self.param_start], strict=True))
            self.named_parameters = dict(zip(self.names, outputs[self.param_start :], strict=True))
            self._optimizer = get_sgd_optimizer(self.named_parameters, self.learning_rate, 0, 0, 0, False)
        return list(outputs[: self.grad_start])

    def step(self, batch: Sequence[Any]) -> float:
        """forward-backward then SGD in place; returns the loss."""
        loss = float(self.forward_backward(batch)[0])
        self._optimizer.step(self.named_gradients)
        return loss
