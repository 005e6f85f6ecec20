"""Writes notebooks/03_char_lm.ipynb (run: python notebooks/make_char_lm.py)."""
from nbformat.v4 import new_code_cell, new_markdown_cell

from nbwrite import write

cells = [
    new_markdown_cell("# A character-level Transformer language model\n\n"
                      "`framework/examples/char_lm.py` trains a small causal Transformer (nn.Embedding, "
                      "nn.TransformerEncoder with pre-norm layers, AdamW, gradient clipping) on the source of a "
                      "standard-library module, text every Python ships. Here: its loss curve against the uniform "
                      "guess, and text the model writes. Set `CHAR_LM_STEPS` for a longer run (the command line: "
                      "`python -m framework.examples.char_lm --steps 2000`)."),
    new_code_cell("import math\nimport os\nimport matplotlib.pyplot as plt\nimport numpy as np\n"
                  "from framework.examples import char_lm\n"
                  "STEPS = int(os.environ.get('CHAR_LM_STEPS', 300))"),
    new_markdown_cell("## Training"),
    new_code_cell("log = []\nlosses = char_lm.train(steps=STEPS, module='argparse', block=64, batch=32, d_model=64,\n"
                  "                      heads=4, layers=2, print_every=max(STEPS // 6, 1), sample_length=300,\n"
                  "                      log=log.append)\nprint('\\n'.join(log[:-1]))"),
    new_markdown_cell("## The loss curve"),
    new_code_cell("vocab = len(char_lm.Vocabulary(char_lm.load_text('argparse')))\n"
                  "window = max(len(losses) // 20, 1)\n"
                  "smooth = np.convolve(losses, np.ones(window) / window, mode='valid')\n"
                  "plt.plot(losses, alpha=0.3, label='per step')\n"
                  "plt.plot(np.arange(window - 1, len(losses)), smooth, label=f'mean of {window} steps')\n"
                  "plt.axhline(math.log(vocab), color='k', ls='--', lw=1, label='uniform guess')\n"
                  "plt.xlabel('step')\nplt.ylabel('cross-entropy (nats per character)')\nplt.legend()\nplt.show()"),
    new_markdown_cell("## What it writes"),
    new_code_cell("print(log[-1])"),
]

write(cells, "03_char_lm.ipynb")
