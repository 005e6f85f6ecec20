"""Models the training-step benchmarks run on both libraries (`lib` is framework or torch),
written once against the common API."""


def resnet18(lib, num_classes=10):
    """ResNet-18 for 3x32x32 inputs (CIFAR's variant: a 3x3 stem, no max-pool): four stages of
    two basic blocks, 64-128-256-512 channels, BatchNorm and residual adds."""
    nn, F = lib.nn, lib.nn.functional

    class BasicBlock(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.shortcut = nn.Sequential()
            if stride != 1 or cin != cout:
                self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

        def forward(self, x):
            out = F.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            return F.relu(out + self.shortcut(x))

    class ResNet18(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 64, 3, 1, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(64)
            blocks, cin = [], 64
            for cout, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
                blocks += [BasicBlock(cin, cout, stride), BasicBlock(cout, cout, 1)]
                cin = cout
            self.layers = nn.Sequential(*blocks)
            self.fc = nn.Linear(512, num_classes)

        def forward(self, x):
            out = self.layers(F.relu(self.bn1(self.conv1(x))))
            out = F.adaptive_avg_pool2d(out, 1).flatten(1)
            return self.fc(out)

    return ResNet18()


def transformer_encoder(lib, vocab=1000, d_model=256, nhead=4, num_layers=2, dim_feedforward=1024, seq_len=64):
    """A small causal Transformer-encoder language model: token and position embeddings
    (nn.Embedding), two batch_first nn.TransformerEncoderLayers (4 heads, feed-forward 1024,
    PyTorch's default dropout and ReLU) under a causal mask, and a linear head over the
    vocabulary. Input (batch, seq_len) int64 tokens; output (batch * seq_len, vocab) logits,
    for CrossEntropyLoss against the (batch * seq_len,) next tokens."""
    nn = lib.nn

    class TransformerLM(nn.Module):
        def __init__(self):
            super().__init__()
            self.tokens = nn.Embedding(vocab, d_model)
            self.positions = nn.Embedding(seq_len, d_model)
            layer = nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward, batch_first=True)
            self.encoder = nn.TransformerEncoder(layer, num_layers, enable_nested_tensor=False)
            self.head = nn.Linear(d_model, vocab)
            self.register_buffer("mask", nn.Transformer.generate_square_subsequent_mask(seq_len), persistent=False)

        def forward(self, ids):
            t = ids.shape[1]
            x = self.tokens(ids) + self.positions(lib.arange(t, device=ids.device))
            x = self.encoder(x, mask=self.mask[:t, :t], is_causal=True)
            return self.head(x).reshape(-1, vocab)

    return TransformerLM()
