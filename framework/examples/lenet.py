"""The PyTorch tutorial's LeNet, trained with this framework: train, evaluate, save,
reload into a fresh network, and check that the reloaded network predicts the same.

    python -m framework.examples.lenet                       # Digits (ships with scikit-learn)
    python -m framework.examples.lenet --dataset mnist --root ~/data --epochs 2
    python -m framework.distributed.run --nproc-per-node 2 -m framework.examples.lenet   # data-parallel

Started by a launcher with more than one rank (framework.distributed.run, mpirun, srun), it
trains data-parallel: DistributedDataParallel, a DistributedSampler giving each rank its part of
every epoch, `--batch-size` images per rank per step; only rank 0 prints, evaluates and saves (the
checkpoint holds the plain LeNet's state, which reloads in a single process).

Digits images are 8x8; they are resized to the tutorial's 1x32x32 input. MNIST and
Fashion-MNIST (28x28) are zero-padded to 32x32; CIFAR-10 is converted to grayscale.

The checkpoint goes to `--out` (default: lenet_checkpoint.fwt in the examples folder,
$FRAMEWORK_OUTPUT or ~/.cache/framework/examples, whatever folder you run from). Bad
flags are one line on stderr before any work: exit status 2 for usage, 1 otherwise;
`--debug` shows tracebacks.
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


DATASET_SOURCES = {
    "mnist": "MNIST: the four IDX files train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and "
             "t10k-labels-idx1-ubyte (optionally .gz) from the MNIST database (yann.lecun.com/exdb/mnist, or the "
             "copies torchvision downloads)",
    "fashion-mnist": "Fashion-MNIST: the same four IDX file names, from github.com/zalandoresearch/fashion-mnist",
    "cifar10": "CIFAR-10: the 'CIFAR-10 python version' archive (cs.toronto.edu/~kriz/cifar.html), unpacked so "
               "that cifar-10-batches-py/ is in the folder",
}


def output_folder():
    """Where the examples write their files unless told otherwise: $FRAMEWORK_OUTPUT, else
    ~/.cache/framework/examples (created on first use)."""
    return os.environ.get("FRAMEWORK_OUTPUT") or os.path.join(os.path.expanduser("~"), ".cache", "framework",
                                                               "examples")


def _positive(kind, name):
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {'an integer' if kind is int else 'a number'}, got {text!r}")
        if not value > 0:
            raise argparse.ArgumentTypeError(f"{name} must be positive, got {text}")
        return value
    return parse


class _Parser(argparse.ArgumentParser):
    """argparse, with a usage error as one line (`--help` has the rest)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def parse_args(argv):
    p = _Parser(prog="python -m framework.examples.lenet",
                                description="Train the tutorial LeNet, save it, reload it, check it.",
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--epochs", type=_positive(int, "--epochs"), default=10, help="passes over the training set")
    p.add_argument("--batch-size", type=_positive(int, "--batch-size"), default=32, help="images per step")
    p.add_argument("--lr", type=_positive(float, "--lr"), default=0.01, help="SGD learning rate (momentum 0.9)")
    p.add_argument("--device", default="cpu", help="where to train: cpu, cuda or cuda:N")
    p.add_argument("--dataset", choices=["digits", "mnist", "fashion-mnist", "cifar10"], default="digits",
                   help="digits ships with scikit-learn; the others are read from --root (never downloaded)")
    p.add_argument("--root", default="./data", help="folder holding the MNIST/Fashion-MNIST/CIFAR-10 files")
    p.add_argument("--out", default=os.path.join(output_folder(), "lenet_checkpoint.fwt"),
                   help="checkpoint path (the folder must exist; the default one is created)")
    p.add_argument("--seed", type=int, default=0, help="random seed (weights, shuffling)")
    p.add_argument("--export", metavar="PATH", default=None,
                   help="also write the trained model as ONNX to PATH (e.g. lenet.onnx), run it in onnxruntime on "
                        "the held-out images and print its accuracy beside the framework's (needs the onnx extra)")
    p.add_argument("--debug", action="store_true", help="show Python tracebacks on errors")
    return p.parse_args(argv)


class UserError(Exception):
    """A problem with the user's flags or files: one line on stderr, exit status 1."""


def check_args(args):
    """Every check that can fail, before any work (loading data, compiling, training)."""
    try:
        device = torch.device(args.device)
    except (RuntimeError, ValueError, TypeError) as exc:
        raise UserError(f"--device {args.device}: {str(exc).splitlines()[0]}") from None
    from framework import backends
    if not backends.is_available(device.type):
        raise UserError(f"--device {args.device}: {device.type.upper() if device.type == 'cuda' else device.type} "
                        f"is not available on this machine (framework.cuda.is_available() is False); use --device cpu")
    if os.path.dirname(os.path.abspath(args.out)) == os.path.abspath(output_folder()):
        os.makedirs(output_folder(), exist_ok=True)
    folder = os.path.dirname(os.path.abspath(args.out))
    if os.path.isdir(args.out):
        raise UserError(f"--out {args.out}: is a folder; give a file path such as {os.path.join(args.out, 'lenet.fwt')}")
    if not os.path.isdir(folder):
        raise UserError(f"--out {args.out}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise UserError(f"--out {args.out}: the folder {folder} is not writable")
    if args.export is not None:
        try:
            import onnx  # noqa: F401
            import onnxruntime  # noqa: F401
        except ImportError:
            raise UserError("--export needs the onnx and onnxruntime packages: pip install 'framework[onnx]'") from None
        export_folder = os.path.dirname(os.path.abspath(args.export))
        if os.path.isdir(args.export) or not os.path.isdir(export_folder) or not os.access(export_folder, os.W_OK):
            raise UserError(f"--export {args.export}: give a file path in an existing, writable folder")
    if args.dataset != "digits":
        try:
            load_data(args.dataset, args.root, False)
        except datasets.DatasetNotFoundError as exc:
            raise UserError(f"--dataset {args.dataset}: {exc}. Put {DATASET_SOURCES[args.dataset]} under "
                            f"{os.path.abspath(args.root)} (or point --root at them)") from None
    return device


def main(argv=None):
    args = parse_args(argv)
    try:
        return run(args)
    except UserError as exc:
        if args.debug:
            raise
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(1)
    except Exception as exc:  # an unexpected failure: one line unless --debug
        if args.debug:
            raise
        print(f"error: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''} "
              f"(run with --debug for the traceback)", file=sys.stderr)
        raise SystemExit(1)


def _launched_ranks():
    """The world size a launcher (framework.distributed.run, mpirun, srun) started this process in."""
    for key in ("WORLD_SIZE", "OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "SLURM_NTASKS"):
        if key in os.environ:
            return int(os.environ[key])
    return 1


def run(args):
    device = check_args(args)
    from tqdm import tqdm

    distributed = _launched_ranks() > 1
    if distributed:
        import framework.distributed as dist
        from framework.nn.parallel import DistributedDataParallel
        from framework.utils.data.distributed import DistributedSampler
        dist.init_process_group("mpi")
    main_rank = not distributed or dist.get_rank() == 0
    log = print if main_rank else (lambda *a, **k: None)

    torch.manual_seed(args.seed)
    train_set, test_set = load_data(args.dataset, args.root, True), load_data(args.dataset, args.root, False)
    sampler = DistributedSampler(train_set, shuffle=True, seed=args.seed) if distributed else None
    train_loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=sampler is None, sampler=sampler)
    test_loader = DataLoader(test_set, batch_size=256)
    log(f"{args.dataset}: {len(train_set)} training and {len(test_set)} test images of shape "
        f"{tuple(train_set[0][0].shape)}, device {device}"
        + (f", {dist.get_world_size()} ranks x {args.batch_size} images per step" if distributed else ""))

    net = Net().to(device)
    if distributed:
        net = DistributedDataParallel(net)
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.SGD(net.parameters(), lr=args.lr, momentum=0.9)
    start = time.perf_counter()
    for epoch in range(args.epochs):
        if sampler is not None:
            sampler.set_epoch(epoch)
        bar = tqdm(train_loader, desc=f"epoch {epoch + 1}/{args.epochs}", unit="batch", leave=False,
                   file=sys.stdout, disable=None if main_rank else True)
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
        log(f"epoch {epoch + 1}: loss {running / seen:.4f}, {seen / (time.perf_counter() - t0):.0f} images/s"
            + (" per rank" if distributed else ""))
    train_time = time.perf_counter() - start
    if distributed:
        net = net.module  # every rank holds the same weights: rank 0 evaluates and saves them
        if not main_rank:
            dist.destroy_process_group()
            return None

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
    if distributed:
        dist.destroy_process_group()
    if not same:
        raise UserError("the reloaded network predicts differently")
    if args.export is not None:
        onnx_accuracy, onnx_same = export_onnx(fresh.cpu(), test_set, args.export, predictions)
        print(f"ONNX model written to {os.path.abspath(args.export)}; onnxruntime accuracy {onnx_accuracy:.2%} "
              f"(framework {accuracy:.2%}), predictions identical: {onnx_same}")
    return accuracy


def export_onnx(net, test_set, path, predictions):
    """Write `net` as ONNX (dynamic batch) and run it in onnxruntime on the held-out images:
    (accuracy, whether its predictions equal the framework's)."""
    import numpy as np
    import onnxruntime
    import framework.onnx
    images, labels = test_set.tensors
    net.eval()
    framework.onnx.export(net, (images[:2],), path, input_names=["image"], output_names=["logits"],
                          dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}})
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    logits = session.run(None, {"image": images.numpy()})[0]
    predicted = logits.argmax(1)
    return float((predicted == labels.numpy()).mean()), bool(np.array_equal(predicted, predictions.numpy()))


if __name__ == "__main__":
    main()
