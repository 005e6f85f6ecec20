"""The PyTorch CIFAR tutorial's training code with only the import lines changed; its `Net`
class is the one framework.examples defines, verbatim."""
import numpy as np

import framework as torch
import framework.nn as nn
import framework.optim as optim
from framework.examples.lenet import Net


def _synthetic_digits(n, rng):
    """Ten fixed 32x32 templates plus noise: learnable, but not by chance."""
    templates = rng.standard_normal((10, 1, 32, 32)).astype(np.float32)
    labels = rng.integers(0, 10, n)
    images = templates[labels] + 0.5 * rng.standard_normal((n, 1, 32, 32)).astype(np.float32)
    return images, labels


def test_tutorial_lenet_trains_and_its_loss_falls():
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    images, labels = _synthetic_digits(512, rng)
    net = Net()
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.SGD(net.parameters(), lr=0.02, momentum=0.9)
    losses = []
    for epoch in range(4):
        running_loss = 0.0
        for i in range(0, len(images), 32):
            inputs, targets = torch.from_numpy(images[i:i + 32]), torch.from_numpy(labels[i:i + 32])
            optimizer.zero_grad()
            outputs = net(inputs)
            loss = criterion(outputs, targets)
            loss.backward()
            optimizer.step()
            running_loss += loss.item()
        losses.append(running_loss / (len(images) // 32))
    assert losses[-1] < 0.5 * losses[0], losses
    correct = total = 0
    with torch.no_grad():
        outputs = net(torch.tensor(images))
        _, predicted = torch.max(outputs.data, 1)
        total += labels.shape[0]
        correct += (predicted == torch.tensor(labels)).sum().item()
    assert correct / total > 0.9
    # the saved weights load into a fresh network and predict the same
    fresh = Net()
    fresh.load_state_dict(net.state_dict())
    with torch.no_grad():
        assert torch.equal(fresh(torch.tensor(images[:8])), net(torch.tensor(images[:8])))
