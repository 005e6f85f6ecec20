"""The PyTorch tutorial's LeNet, trained with this framework: train, evaluate, save,
reload into a fresh network, and check that the reloaded network predicts the same.

    python -m framework.examples.lenet                       # Digits (ships with scikit-learn)
    python -m framework.examples.lenet --dataset mnist --root ~/data --epochs 2

Digits images are 8x8; they are resized to the tutorial's 1x32x32 input. MNIST and
Fashion-MNIST (28x28) are zero-padded to 32x32; CIFAR-10 is converted to grayscale.
"""
import argparse
import os
import sys
import time

import framework as torch
import framework.nn as nn
import framework.optim as optim
from framework import datasets, transforms
from framework.utils.data import DataLoader, TensorDataset


def tutorial_net(torch):
    """The tutorial's `Net` class, verbatim, written against `torch`: this framework, or
    PyTorch itself where perf/ and the tests run the same model on both."""
    nn, F = torch.nn, torch.nn.functional

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 6, 5)
            self.pool = nn.MaxPool2d(2, 2)
            self.conv2 = nn.Conv2d(6, 16, 5)
            self.fc1 = nn.Linear(16 * 5 * 5, 120)
            self.fc2 = nn.Linear(120, 84)
            self.fc3 = nn.Linear(84, 10)

        def forward(self, x):
            x = self.pool(F.relu(self.conv1(x)))
            x = self.pool(F.relu(self.conv2(x)))
            x = torch.flatten(x, 1)  # flatten all dimensions except batch
            x = F.relu(self.fc1(x))
            x = F.relu(self.fc2(x))
            x = self.fc3(x)
            return x

    Net.__module__, Net.__qualname__ = __name__, "Net"
    return Net


Net = tutorial_net(torch)


def _grayscale(x):
    return (x * torch.tensor([0.299, 0.587, 0.114]).reshape(3, 1, 1)).sum(0, keepdim=True)


def load_data(name, root, train):
    """The dataset as one (images, labels) TensorDataset of 1x32x32 normalised images."""
    if name == "digits":
        prep = transforms.Compose([transforms.ToTensor(), transforms.Resize(32), transforms.Normalize((0.5,), (0.5,))])
        ds = datasets.Digits(train=train, transform=prep)
    elif name in ("mnist", "fashion-mnist"):
        prep = transforms.Compose([transforms.ToTensor(), transforms.Pad(2), transforms.Normalize((0.5,), (0.5,))])
        cls = datasets.MNIST if name == "mnist" else datasets.FashionMNIST
        ds = cls(root, train=train, transform=prep)
    elif name == "cifar10":
        prep = transforms.Compose([transforms.ToTensor(), transforms.Lambda(_grayscale),
                                   transforms.Normalize((0.5,), (0.5,))])
        ds = datasets.CIFAR10(root, train=train, transform=prep)
    else:
        raise ValueError(f"unknown dataset {name}")
    loader = DataLoader(ds, batch_size=512)  # transform once, then train from tensors
    images, labels = zip(*loader)
    return TensorDataset(torch.cat(images), torch.cat(labels))


def evaluate(net, loader, device):
    net.eval()
    correct = total = 0
    predictions = []
    with torch.no_grad():
        for images, labels in loader:
            outputs = net(images.to(device))
            _, predicted = torch.max(outputs, 1)
            predictions.append(predicted.cpu())
            total += labels.size(0)
            correct += (predicted.cpu() == labels).sum().item()
    net.train()
    return correct / total, torch.cat(predictions)


def main(argv=None):
    p = argparse.ArgumentParser(description="Train the tutorial LeNet, save it, reload it, check it.")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument("--device", default="cpu")
    p.add_argument("--dataset", choices=["digits", "mnist", "fashion-mnist", "cifar10"], default="digits")
    p.add_argument("--root", default="./data", help="folder holding MNIST/FashionMNIST/CIFAR10 files")
    p.add_argument("--out", default="lenet_checkpoint.fwt", help="where to save the checkpoint")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    from tqdm import tqdm

    torch.manual_seed(args.seed)
    device = torch.device(args.device)
    train_set, test_set = load_data(args.dataset, args.root, True), load_data(args.dataset, args.root, False)
    train_loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True)
    test_loader = DataLoader(test_set, batch_size=256)
    print(f"{args.dataset}: {len(train_set)} training and {len(test_set)} test images of shape "
          f"{tuple(train_set[0][0].shape)}, device {device}")

    net = Net().to(device)
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.SGD(net.parameters(), lr=args.lr, momentum=0.9)
    start = time.perf_counter()
    for epoch in range(args.epochs):
        bar = tqdm(train_loader, desc=f"epoch {epoch + 1}/{args.epochs}", unit="batch", leave=False,
                   file=sys.stdout, disable=None)
        running, seen, t0 = 0.0, 0, time.perf_counter()
        for inputs, labels in bar:
            inputs, labels = inputs.to(device), labels.to(device)
            optimizer.zero_grad()
            loss = criterion(net(inputs), labels)
            loss.backward()
            optimizer.step()
            running += loss.item() * labels.size(0)
            seen += labels.size(0)
            bar.set_postfix(loss=f"{running / seen:.4f}", img_s=f"{seen / (time.perf_counter() - t0):.0f}")
        print(f"epoch {epoch + 1}: loss {running / seen:.4f}, {seen / (time.perf_counter() - t0):.0f} images/s")
    train_time = time.perf_counter() - start

    accuracy, predictions = evaluate(net, test_loader, device)
    print(f"held-out accuracy: {accuracy:.2%} ({len(test_set)} images), training took {train_time:.1f} s")

    torch.save({"model": net.state_dict(), "optimizer": optimizer.state_dict(), "epoch": args.epochs,
                "dataset": args.dataset, "accuracy": accuracy}, args.out)
    checkpoint = torch.load(args.out, map_location="cpu")
    fresh = Net()
    fresh.load_state_dict(checkpoint["model"])
    reloaded_accuracy, reloaded_predictions = evaluate(fresh.to(device), test_loader, device)
    same = torch.equal(predictions, reloaded_predictions)
    print(f"saved to {os.path.abspath(args.out)}; reloaded into a fresh LeNet: accuracy {reloaded_accuracy:.2%}, "
          f"predictions identical: {same}")
    if not same:
        raise SystemExit("the reloaded network predicts differently")
    return accuracy


if __name__ == "__main__":
    main()
