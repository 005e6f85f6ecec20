"""Writes notebooks/01_quickstart.ipynb (run: python notebooks/make_quickstart.py)."""
from nbformat.v4 import new_code_cell, new_markdown_cell

from nbwrite import write

cells = [
    new_markdown_cell("# Quickstart\n\nThe PyTorch tutorial, with `import framework as torch`: tensors, autograd, "
                      "a LeNet trained on the handwritten digits that ship with scikit-learn, a loss curve, "
                      "predictions, and a checkpoint saved and loaded."),
    new_code_cell("import framework as torch\nimport framework.nn as nn\nimport framework.nn.functional as F\n"
                  "import framework.optim as optim\nfrom framework import datasets, transforms\n"
                  "from framework.utils.data import DataLoader\n"
                  "import matplotlib.pyplot as plt\n"
                  "EPOCHS = int(__import__('os').environ.get('QUICKSTART_EPOCHS', 6))\ntorch.manual_seed(0)"),
    new_markdown_cell("## Tensors"),
    new_code_cell("x = torch.tensor([[1.0, 2.0], [3.0, 4.0]])\ny = torch.ones(2, 2)\n"
                  "print(x + y)\nprint(x @ y.T, x.shape, x.dtype)\nprint(x.sum(dim=0), x.max(1))"),
    new_markdown_cell("## Autograd"),
    new_code_cell("w = torch.randn(3, requires_grad=True)\nloss = (w ** 2).sum()\nloss.backward()\n"
                  "print(w.grad, torch.allclose(w.grad, 2 * w.detach()))"),
    new_markdown_cell("## The network"),
    new_code_cell("class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
                  "        self.conv1 = nn.Conv2d(1, 6, 5)\n        self.pool = nn.MaxPool2d(2, 2)\n"
                  "        self.conv2 = nn.Conv2d(6, 16, 5)\n        self.fc1 = nn.Linear(16 * 5 * 5, 120)\n"
                  "        self.fc2 = nn.Linear(120, 84)\n        self.fc3 = nn.Linear(84, 10)\n\n"
                  "    def forward(self, x):\n        x = self.pool(F.relu(self.conv1(x)))\n"
                  "        x = self.pool(F.relu(self.conv2(x)))\n        x = torch.flatten(x, 1)\n"
                  "        x = F.relu(self.fc1(x))\n        x = F.relu(self.fc2(x))\n        return self.fc3(x)\n\n"
                  "net = Net()\nprint(net)"),
    new_markdown_cell("## Data: 8x8 digits resized to the tutorial's 1x32x32"),
    new_code_cell("prep = transforms.Compose([transforms.ToTensor(), transforms.Resize(32),\n"
                  "                           transforms.Normalize((0.5,), (0.5,))])\n"
                  "trainset = datasets.Digits(train=True, transform=prep)\n"
                  "testset = datasets.Digits(train=False, transform=prep)\n"
                  "trainloader = DataLoader(trainset, batch_size=32, shuffle=True)\n"
                  "testloader = DataLoader(testset, batch_size=256)\nlen(trainset), len(testset)"),
    new_markdown_cell("## Training"),
    new_code_cell("criterion = nn.CrossEntropyLoss()\noptimizer = optim.SGD(net.parameters(), lr=0.01, momentum=0.9)\n"
                  "losses = []\nfor epoch in range(EPOCHS):\n    for inputs, labels in trainloader:\n"
                  "        optimizer.zero_grad()\n        loss = criterion(net(inputs), labels)\n"
                  "        loss.backward()\n        optimizer.step()\n        losses.append(loss.item())\n"
                  "    print(f'epoch {epoch + 1}: loss {sum(losses[-45:]) / len(losses[-45:]):.3f}')\n\n"
                  "plt.plot(losses)\nplt.xlabel('step')\nplt.ylabel('training loss')\nplt.title('LeNet on Digits')\n"
                  "plt.show()"),
    new_markdown_cell("## Predictions on test digits"),
    new_code_cell("correct = total = 0\nwith torch.no_grad():\n    for images, labels in testloader:\n"
                  "        _, predicted = torch.max(net(images), 1)\n        total += labels.size(0)\n"
                  "        correct += (predicted == labels).sum().item()\n"
                  "print(f'accuracy on {total} test digits: {correct / total:.1%}')\n\n"
                  "images, labels = next(iter(testloader))\nwith torch.no_grad():\n"
                  "    predicted = net(images).argmax(1)\nfig, axes = plt.subplots(3, 8, figsize=(10, 4))\n"
                  "for ax, img, label, pred in zip(axes.flat, images, labels, predicted):\n"
                  "    ax.imshow(img[0].numpy(), cmap='gray')\n"
                  "    ax.set_title(f'{pred.item()}' + ('' if pred == label else f' ({label.item()})'), fontsize=9)\n"
                  "    ax.axis('off')\nplt.show()"),
    new_markdown_cell("## Save and load"),
    new_code_cell("torch.save(net.state_dict(), 'quickstart_lenet.fwt')\nfresh = Net()\n"
                  "fresh.load_state_dict(torch.load('quickstart_lenet.fwt'))\nwith torch.no_grad():\n"
                  "    same = torch.equal(fresh(images).argmax(1), predicted)\nprint('reloaded network agrees:', same)\n"
                  "assert same"),
]

write(cells, "01_quickstart.ipynb")
