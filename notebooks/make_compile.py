"""Writes notebooks/04_compile.ipynb (run: python notebooks/make_compile.py)."""
from nbformat.v4 import new_code_cell, new_markdown_cell

from nbwrite import write

cells = [
    new_markdown_cell(
        "# A new activation, compiled\n\nA researcher's experiment with `framework.compile`: write an activation "
        "as plain tensor code, compile it, check it against eager mode (values and gradients), read the kernel "
        "it became, and time eager, compiled and PyTorch eager over sizes. Set `COMPILE_QUICK=0` in the "
        "environment for the full sizes."),
    new_code_cell("import os\nimport numpy as np\nimport matplotlib.pyplot as plt\nimport torch\nimport framework\n"
                  "from perf._timing import median_seconds\n"
                  "QUICK = os.environ.get('COMPILE_QUICK', '1') != '0'\n"
                  "torch.set_num_threads(os.cpu_count())"),
    new_markdown_cell(
        "## The activation\n\nA gated unit with a learned-looking shape: the sigmoid approximation of GELU "
        "plus a small bounded bump. Eager mode runs it as seven kernels, each reading and writing a whole "
        "tensor; compiled, it is one loop that keeps every intermediate in a register. The same function "
        "runs on PyTorch's tensors, since only the module differs."),
    new_code_cell("def bumpy_gelu(x, lib=framework):\n"
                  "    return x * lib.sigmoid(1.702 * x) + 0.1 * lib.tanh(x) ** 2\n\n"
                  "compiled = framework.compile(bumpy_gelu)\n"
                  "x = framework.randn(64, 256, requires_grad=True)\n"
                  "y, y_eager = compiled(x), bumpy_gelu(x)\n"
                  "(g,) = framework.autograd.grad(y.sum(), x)\n"
                  "(g_eager,) = framework.autograd.grad(y_eager.sum(), x)\n"
                  "print('largest difference, values:', float((y - y_eager).abs().max()),\n"
                  "      ' gradients:', float((g - g_eager).abs().max()))"),
    new_markdown_cell(
        "## The kernel it became\n\nEach fused group is a real Python module in the cache folder "
        "(`~/.cache/framework/compile`, or `$FRAMEWORK_CACHE/compile`), named by a hash of the fused ops; its "
        "docstring lists the graph nodes it came from. Edit it (and delete the `__pycache__` beside it) and the "
        "next process runs your edit. `framework.compile(fn, mode=\"debug\")` prints each one as it is made. "
        "Each loop comes twice: threaded, and a `_serial` twin for tensors below the module's `PARALLEL_MIN` "
        "elements (2^14 when a step calls a function such as `tanh`, else 2^18), where starting the threads "
        "costs more than it saves; below, the first of them."),
    new_code_cell("(program,) = compiled.programs.values()\n"
                  "for nodes, path in program.kernel_sources():\n"
                  "    source = open(path).read()\n"
                  "    start = source.index('@njit')\n"
                  "    print(source[start:source.index('\\n\\n\\n@njit', start)])\n"
                  "    print('... and', source.count('def kernel_') - 1, 'more kernels in', os.path.basename(path))"),
    new_markdown_cell(
        "The backward is compiled the same way at the first `backward()`: the activation's forward is "
        "recomputed and its gradient formulas (the autograd rules, recorded as they run) fused into one "
        "kernel, so training does not store the seven intermediates either."),
    new_code_cell("(group,) = program.groups\n(backward,) = group.backward.values()\n"
                  "(backward_program,) = backward.compiled.programs.values()\n"
                  "for nodes, path in backward_program.kernel_sources():\n"
                  "    print(nodes.count('\\n') + 1, 'graph nodes in one kernel:', os.path.basename(path))"),
    new_markdown_cell("## Eager, compiled and PyTorch over sizes\n\nMedian time per call, forward only, float32, "
                      "in this process (the cores are shared, so the three take turns)."),
    new_code_cell("sizes = [2 ** k for k in (range(12, 19, 2) if QUICK else range(12, 25, 2))]\n"
                  "times = {'framework eager': [], 'framework.compile': [], 'PyTorch eager': []}\n"
                  "for n in sizes:\n"
                  "    a = np.random.default_rng(0).standard_normal(n).astype(np.float32)\n"
                  "    ours, theirs = framework.from_numpy(a), torch.from_numpy(a)\n"
                  "    times['framework eager'].append(median_seconds(lambda: bumpy_gelu(ours)))\n"
                  "    times['framework.compile'].append(median_seconds(lambda: compiled(ours)))\n"
                  "    times['PyTorch eager'].append(median_seconds(lambda: bumpy_gelu(theirs, torch)))\n"
                  "for label, t in times.items():\n"
                  "    plt.plot(sizes, np.array(t) * 1e3, 'o-', label=label)\n"
                  "plt.xscale('log', base=2)\nplt.yscale('log')\nplt.xlabel('elements')\n"
                  "plt.ylabel('ms per call')\nplt.legend()\nplt.title('bumpy_gelu, forward')\nplt.show()\n"
                  "for i, n in enumerate(sizes):\n"
                  "    e, c, p = (times[k][i] for k in times)\n"
                  "    print(f'{n:>9,} elements: compiled is {e / c:4.1f}x our eager, {p / c:4.1f}x PyTorch eager')"),
    new_markdown_cell(
        "Small sizes are dominated by the per-call overhead (the guard check and the launch); from about a "
        "hundred thousand elements the single pass over memory wins. `python -m perf.compile_bench` has the "
        "same comparison for a layer norm, a softmax, a GELU MLP block and whole training steps."),
]

if __name__ == "__main__":
    write(cells, "04_compile.ipynb")
