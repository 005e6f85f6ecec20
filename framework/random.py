"""One global generator, as in PyTorch: `manual_seed(s)` makes runs reproducible.

Draws come from NumPy's PCG64 on the host; a backend turns them into device
arrays. `Generator` objects can be passed as `generator=` where PyTorch accepts one.
"""
import sys

import numpy as np


class Generator:
    def __init__(self, device="cpu"):
        self.device = device
        self._seed = 67280421310721
        self._np = np.random.Generator(np.random.PCG64(self._seed))

    def manual_seed(self, seed):
        seed = int(seed)
        self._seed = seed
        self._np = np.random.Generator(np.random.PCG64(seed & 0xFFFFFFFFFFFFFFFF))
        return self

    def seed(self):
        import secrets
        self.manual_seed(secrets.randbits(63))
        return self._seed

    def initial_seed(self):
        return self._seed

    def get_state(self):
        from framework.ops.creation import tensor
        import json
        state = json.dumps(self._np.bit_generator.state).encode()
        return tensor(np.frombuffer(state, np.uint8).copy())

    def set_state(self, state):
        import json
        self._np.bit_generator.state = json.loads(bytes(state.numpy().tolist()).decode())
        return self


default_generator = Generator()


def manual_seed(seed):
    default_generator.manual_seed(seed)
    return default_generator


def seed():
    return default_generator.seed()


def initial_seed():
    return default_generator.initial_seed()


def get_rng_state():
    return default_generator.get_state()


def set_rng_state(state):
    default_generator.set_state(state)


def numpy_generator(generator=None):
    """The NumPy generator that draws for `generator` (default: the global one). Every random
    draw asks for it, so a capture (framework.export, framework.compile) learns here of a draw
    its graph cannot represent (rand and randn record themselves and are let through)."""
    capture = sys.modules.get("framework.export._capture")
    if capture is not None and capture._state["recorder"] is not None:
        capture.refuse_random_draw(sys._getframe(1).f_code.co_name)
    return (generator or default_generator)._np
