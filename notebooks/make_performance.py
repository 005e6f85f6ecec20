"""Writes notebooks/02_performance.ipynb (run: python notebooks/make_performance.py)."""
from nbformat.v4 import new_code_cell, new_markdown_cell

from nbwrite import write

cells = [
    new_markdown_cell("# A performance experiment\n\nframework against PyTorch, measured side by side in this "
                      "process: the benchmark table, the ratios as a bar chart, and training-step time against "
                      "batch size. Set `PERF_QUICK=0` in the environment for full sizes (a few minutes)."),
    new_code_cell("import os\nimport numpy as np\nimport matplotlib.pyplot as plt\nimport torch\n"
                  "import framework\nfrom perf import __main__ as perf_main, train_step\n"
                  "QUICK = os.environ.get('PERF_QUICK', '1') != '0'\n"
                  "torch.set_num_threads(os.cpu_count())"),
    new_markdown_cell("## The benchmark table"),
    new_code_cell("rows = perf_main.main(['--skip-cold', '--skip-compile'] + (['--quick'] if QUICK else []))"),
    new_markdown_cell("## Time relative to PyTorch (below 1: framework is faster)"),
    new_code_cell("named = [(r[0], float(r[5].rstrip('x'))) for r in rows if r[5] != '-']\n"
                  "fig, ax = plt.subplots(figsize=(8, 0.3 * len(named) + 1))\n"
                  "ax.barh([n for n, _ in named], [v for _, v in named],\n"
                  "        color=['tab:green' if v <= 1 else 'tab:orange' for _, v in named])\n"
                  "ax.axvline(1.0, color='k', lw=1)\nax.set_xlabel('framework time / PyTorch time')\n"
                  "ax.invert_yaxis()\nplt.tight_layout()\nplt.show()"),
    new_markdown_cell("## LeNet training step against batch size"),
    new_code_cell("batches = [8, 16, 32] if QUICK else [8, 16, 32, 64, 128, 256]\nrng = np.random.default_rng(0)\n"
                  "ours, theirs = [], []\nfor b in batches:\n"
                  "    x = rng.standard_normal((b, 1, 32, 32)).astype(np.float32)\n"
                  "    y = rng.integers(0, 10, b)\n"
                  "    cases = {('lenet', 'framework'): train_step.make_step(framework, train_step.lenet, x, y),\n"
                  "             ('lenet', 'pytorch'): train_step.make_step(torch, train_step.lenet, x, y)}\n"
                  "    result = train_step.measure(cases, rounds=2 if QUICK else 5, steps=5 if QUICK else 30)\n"
                  "    ours.append(result[('lenet', 'framework')])\n    theirs.append(result[('lenet', 'pytorch')])\n"
                  "plt.plot(batches, ours, 'o-', label='framework')\nplt.plot(batches, theirs, 's-', label='PyTorch')\n"
                  "plt.xscale('log', base=2)\nplt.xlabel('batch size')\nplt.ylabel('ms per training step')\n"
                  "plt.legend()\nplt.title('LeNet training step')\nplt.show()\n"
                  "for b, o, t in zip(batches, ours, theirs):\n"
                  "    print(f'batch {b:4d}: framework {o:6.2f} ms, PyTorch {t:6.2f} ms, ratio {o / t:.2f}')"),
    new_markdown_cell("## Where a LeNet step spends its time\n\n`framework.profiler` (PyTorch's API): one row per "
                      "op and per backward node, self and total time, and the Numba compilation of first calls in "
                      "a column of its own. The first step is profiled apart from the next ten."),
    new_code_cell("x = rng.standard_normal((64, 1, 32, 32)).astype(np.float32)\ny = rng.integers(0, 10, 64)\n"
                  "step = train_step.make_step(framework, train_step.lenet, x, y)\n"
                  "with framework.profiler.profile() as first:\n    step()\n"
                  "with framework.profiler.profile() as prof:\n    for _ in range(10):\n        step()\n"
                  "print(prof.key_averages().table(sort_by='self_cpu_time_total', row_limit=12))\n"
                  "print(first.key_averages().table(sort_by='compile_time_total', row_limit=5))"),
]

write(cells, "02_performance.ipynb")
