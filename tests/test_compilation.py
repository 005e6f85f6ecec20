"""Stable kernel signatures: once warm, training compiles nothing new."""
import numba.core.registry
import numpy as np

import framework
import kernels.cpu
from framework.examples.lenet import Net
from framework.utils.data import DataLoader, TensorDataset


def compiled_signatures():
    """How many (kernel, signature) pairs Numba holds for our CPU kernels."""
    import importlib
    import pkgutil
    total = 0
    for info in pkgutil.iter_modules(kernels.cpu.__path__):
        module = importlib.import_module(f"kernels.cpu.{info.name}")
        for value in vars(module).values():
            if isinstance(value, numba.core.registry.CPUDispatcher):
                total += len(value.signatures)
    return total


def test_second_epoch_compiles_no_new_kernel():
    rng = np.random.default_rng(0)
    data = TensorDataset(framework.from_numpy(rng.standard_normal((70, 1, 32, 32)).astype(np.float32)),
                         framework.from_numpy(rng.integers(0, 10, 70)))
    loader = DataLoader(data, batch_size=32, shuffle=True)  # 32, 32, then a partial batch of 6
    net = Net()
    opt = framework.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    criterion = framework.nn.CrossEntropyLoss()

    def epoch():
        for x, y in loader:
            opt.zero_grad()
            criterion(net(x), y).backward()
            opt.step()
        with framework.no_grad():
            net(data.tensors[0][:8]).argmax(1)

    epoch()
    before = compiled_signatures()
    epoch()
    assert compiled_signatures() == before


def test_precompile_runs():
    from framework import precompile
    precompile.main([])
