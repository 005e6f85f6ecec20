"""Every CUDA kernel compiles to PTX for the H100 (sm_90), without a GPU (the elementwise
template's non-flat layouts once per signature: SAMPLED_LAYOUTS).

The test process may run with NUMBA_ENABLE_CUDASIM=1 (the simulator replaces
numba.cuda in-process), and PTX needs the real CUDA target, so the compilation runs
in a child process without that variable: `python tests/test_cuda_ptx.py` prints one
JSON line with what it found."""
import importlib
import json
import os
import pathlib
import pkgutil
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _signatures():
    """{(module, kernel name): argument types} for every CUDA kernel, in the dtypes the backend launches."""
    from numba import boolean, float32, float64, int64, uint16, uint32, uint64
    from kernels.scalar import BINARY, BOOL_OUT, UNARY
    f, i, d, u = float32[::1], int64[::1], float64[::1], uint64[::1]
    sigs = {}
    for op in UNARY:
        dt = boolean if op == "logical_not" else int64 if op == "bitwise_not" else float32
        sigs["elementwise", op + "_flat"] = (dt[::1], dt[::1], int64)
        sigs["elementwise", op + "_strided"] = (dt[::1], dt[::1], i)
    for op in BINARY:
        dt = int64 if op.startswith(("bitwise", "lshift", "rshift")) or op in ("gcd", "lcm") else float32
        out = boolean if op in BOOL_OUT else dt
        sigs["elementwise", op + "_flat"] = (dt[::1], dt[::1], out[::1], int64)
        sigs["elementwise", op + "_scalar"] = (dt[::1], dt, out[::1], int64)
        sigs["elementwise", op + "_rscalar"] = (dt, dt[::1], out[::1], int64)
        sigs["elementwise", op + "_strided"] = (dt[::1], dt[::1], out[::1], i)
    mid = (int64, int64, int64)  # outer, reduced, inner
    axis = (int64, int64, int64, int64)  # outer, size, e, inner
    conv = (int64,) * 22  # N, C, D, H, W, OC, kernel, output, stride, padding, dilation (triples), groups
    unfold = (int64,) * 20  # N, C, D, H, W, kernel, output, stride, padding, dilation (triples)
    pool = (int64,) * 19  # planes, D, H, W, output, kernel, stride, padding, dilation (triples)
    table = {
        "memory": {"copy_strided": (f, d, i), "scatter_strided": (f, f, i), "fill": (f, float32, int64),
                   "arange": (f, float32, float32, int64),
                   "float32_bits_to_bfloat16_bits": (uint32[::1], uint16[::1], int64),
                   "bfloat16_bits_to_float32_bits": (uint16[::1], uint32[::1], int64)},
        "select": {"where_strided": (boolean[::1], f, f, f, i)},
        "reduce": {"sum_mid": (f, d) + mid + (int64,), "prod_mid": (f, f) + mid + (int64,),
                   "all_any_mid": (f, boolean[::1]) + mid + (int64, boolean),
                   "extreme_mid": (f, i, boolean, f, i) + mid + (int64, boolean),
                   "softmax_rows": (f, f, int64, int64, boolean, int64)},
        "linalg": {"matmul_simple": (d, d, d, int64, int64, int64, int64),
                   "matmul_tiled": (f, f, f, int64, int64, int64, int64)},
        "index": {"gather_mid": (f, i, f) + axis + (i, int64),
                  "scatter_mid": (f, i, f) + axis + (i, int64), "scatter_add_mid": (f, i, f) + axis + (i, int64),
                  "scatter_reduce_mid": (f, i, f) + axis + (int64, boolean, float32, i, int64),
                  "index_select_mid": (f, i, f) + axis + (i, int64), "index_add_mid": (f, i, f) + axis + (i, int64),
                  "index_offsets": (i, i, i, i), "take": (f, i, f, int64), "put": (f, i, f, int64),
                  "put_accumulate": (f, i, f, int64), "scan_blocks": (i, i, i, int64),
                  "add_chunk_offsets": (i, i, int64, int64), "nonzero_coords": (i, i, i, int64, int64)},
        "conv": {"conv_forward": (f, f, f, boolean, f) + conv, "conv_grad_input": (f, f, f) + conv,
                 "conv_grad_weight": (f, f, f) + conv, "im2col": (f, f) + unfold, "col2im": (f, f) + unfold},
        "pool": {"max_pool": (f, f, i) + pool + (float64,),
                 "avg_pool": (f, f) + pool[:16] + (boolean, int64),
                 "avg_pool_backward": (f, f) + pool[:16] + (boolean, int64),
                 "adaptive_avg_pool": (f, f) + pool[:7], "adaptive_avg_pool_backward": (f, f) + pool[:7],
                 "adaptive_max_pool": (f, f, i) + pool[:7]},
        "loss": {"cross_entropy_forward": (f, i, f, boolean, int64, float64, f, f, int64, int64, i, int64),
                 "cross_entropy_backward": (f, i, f, boolean, int64, float64, f, f, int64, int64, i, int64),
                 "nll_forward": (f, i, f, boolean, int64, f, f, int64, int64, i),
                 "nll_backward": (i, f, boolean, int64, f, f, int64, int64, i),
                 "ctc_loss_forward": (f, i, i, i, i, int64, d, f) + (int64,) * 5 + (i,),
                 "ctc_loss_beta": (f, i, i, i, i, int64, boolean, f, d, d, f) + (int64,) * 5 + (i,),
                 "ctc_loss_grad": (f, f, i, boolean, f, f, int64, int64, int64)},
        "embedding": {"embedding_bag_forward": (f, i, i, int64, int64, f, boolean, int64, int64, f, i, i, i)
                      + (int64,) * 3 + (i,)},
        "attention": {"attention_softmax_forward": (f, f) + (int64,) * 6 + (boolean, float32, boolean, boolean, f)
                      + (int64,) * 3,
                      "attention_softmax_backward": (f, f, float32, f, int64, int64)},
        "norm": {"layer_norm_forward": (f, f, f, boolean, boolean, float64, f, d, d, int64, int64, int64),
                 "layer_norm_input_grad": (f, f, f, boolean, d, d, f, int64, int64, int64),
                 "layer_norm_param_grads": (f, f, d, d, d, d, int64, int64, int64),
                 "batch_norm_partial_stats": (f, int64, int64, int64, int64, d),
                 "batch_norm_finish_stats": (d, int64, int64, boolean, f, f, boolean, boolean, float64, d, d, d, d, d),
                 "batch_norm_apply": (f, d, d, int64, int64, int64, f),
                 "batch_norm_partial_grads": (f, f, d, int64, int64, int64, int64, d),
                 "batch_norm_finish_grads": (d, int64, int64, int64, boolean, f, boolean, d, d, f, f, d, d, d),
                 "batch_norm_input_grad": (f, f, d, d, d, boolean, int64, int64, int64, f)},
        "rnn": {"lstm_cell_forward": (f,) * 6 + (float32, int64, int64),
                "lstm_cell_backward": (f,) * 6 + (float32, int64, int64),
                "gru_cell_forward": (f, f, f, boolean, f, f, f, float32, int64, int64),
                "gru_cell_backward": (f,) * 6 + (float32, int64, int64),
                "rnn_cell_forward": (f, f, boolean, f, int64), "rnn_cell_backward": (f, f, boolean, f, float32, int64)},
        "resample": {"axis_map": (f, i, i, f, f) + (int64,) * 4,
                     "grid_sample_2d": (f, f, f) + (int64,) * 8 + (boolean,),
                     "grid_sample_2d_backward": (f,) * 5 + (int64,) * 8 + (boolean, boolean),
                     "grid_sample_3d": (f, f, f) + (int64,) * 10 + (boolean,),
                     "grid_sample_3d_backward": (f,) * 5 + (int64,) * 10 + (boolean, boolean)},
        "random": {"random_bits": (u, int64, uint64), "bits_to_uniform": (u, f, int64, uint64, float64),
                   "bits_to_normal": (u, f, int64, uint64, float64),
                   "bits_to_integers": (u, i, int64, int64, uint64)},
        "optim": {"sgd": (f, f, f, int64) + (float64,) * 4 + (boolean,) * 3,
                  "adam": (f,) * 5 + (int64,) + (float64,) * 5 + (boolean,) * 3 + (float64,),
                  "rmsprop": (f,) * 5 + (int64,) + (float64,) * 5 + (boolean,) * 2,
                  "adagrad": (f, f, f, int64) + (float64,) * 3 + (boolean,),
                  "adadelta": (f,) * 4 + (int64,) + (float64,) * 4 + (boolean,),
                  "adamax": (f,) * 4 + (int64,) + (float64,) * 5 + (boolean, float64),
                  "nadam": (f,) * 4 + (int64,) + (float64,) * 5 + (boolean,) * 2 + (float64,) * 3,
                  "radam": (f,) * 4 + (int64,) + (float64,) * 5 + (boolean,) * 2 + (float64,),
                  "asgd": (f,) * 3 + (int64,) + (float64,) * 4 + (boolean,),
                  "rprop": (f,) * 4 + (int64,) + (float64,) * 4 + (boolean,)},
        # math breadth: scans and sorts (one thread per line or row)
        "scan": {"cumsum_mid": (f, f) + mid + (float32,), "cumprod_mid": (f, f) + mid + (float32,),
                 "logcumsumexp_mid": (f, f) + mid + (float32,), "cumextreme_mid": (f, f, i) + mid + (boolean,)},
        "sort": {"sort_rows": (f, f, i, i, int64, int64, boolean),
                 "searchsorted_rows": (f, f, i, int64, int64, int64, int64, boolean),
                 "mode_sorted_rows": (f, i, f, i, int64, int64)},
    }
    sigs.update({(module, name): sig for module, kernels in table.items() for name, sig in kernels.items()})
    return sigs


# Hand-written kernels the backend also launches on integer, float64 and bool data: each is
# compiled again with its float32 data arrays (and float32 scalars) swapped for these, so that a
# kernel that only types for float32 (an atomic on bool, a float literal in an integer sum) fails
# here rather than on a GPU. (Accumulating kernels get no bool: the backend widens those first.)
_DATA = {"int64": ("int64", "int64"), "float64": ("float64", "float64"), "bool": ("boolean", "boolean")}
OTHER_DTYPES = {
    ("reduce", "prod_mid"): ("int64", "float64"), ("reduce", "extreme_mid"): ("int64", "float64"),
    ("reduce", "all_any_mid"): ("int64", "bool"),
    ("index", "gather_mid"): ("int64", "float64", "bool"), ("index", "scatter_mid"): ("int64", "float64", "bool"),
    ("index", "index_select_mid"): ("int64", "float64", "bool"), ("index", "take"): ("int64", "float64", "bool"),
    ("index", "put"): ("int64", "float64", "bool"), ("index", "scatter_add_mid"): ("int64", "float64"),
    ("index", "index_add_mid"): ("int64", "float64"), ("index", "put_accumulate"): ("int64", "float64"),
    ("select", "where_strided"): ("int64", "float64", "bool"), ("memory", "scatter_strided"): ("int64", "bool"),
    ("memory", "fill"): ("int64", "float64", "bool"), ("scan", "cumsum_mid"): ("int64", "float64"),
    ("scan", "cumprod_mid"): ("int64", "float64"), ("scan", "cumextreme_mid"): ("int64", "float64"),
    ("sort", "sort_rows"): ("int64", "float64"),
}


def _other_signatures(key, signature):
    """The signature with its float32 data swapped for each of OTHER_DTYPES[key] (plus the sums'
    and casting copies' own pairs)."""
    from numba import types
    found = []
    for name in OTHER_DTYPES.get(key, ()):
        array, scalar = (getattr(types, t) for t in _DATA[name])
        found.append(tuple(array[::1] if a == types.float32[::1] else scalar if a == types.float32 else a
                           for a in signature))
    i, d, b, f = types.int64[::1], types.float64[::1], types.boolean[::1], types.float32[::1]
    extra = {("reduce", "sum_mid"): [(i, i) + signature[2:], (d, d) + signature[2:]],
             ("memory", "copy_strided"): [(i, f, i), (b, f, i), (f, i, i), (d, f, i), (i, b, i), (i, i, i)]}
    return found + extra.get(key, [])


# Elementwise kernels are generated from one template per layout (kernels/codegen.py) around each
# op's scalar function: the `_flat` kernel of every op compiles that function; the `_strided`,
# `_scalar` and `_rscalar` kernels put the same function in other indexing, so each of those
# layouts is compiled for the first op of every distinct signature (float, integer and bool data,
# bool results) rather than for all 150 ops: they were 130 of the test's 420 CPU-seconds.
SAMPLED_LAYOUTS = ("_strided", "_scalar", "_rscalar")


def _compiled_keys(signatures):
    """The kernels compiled here, the slowest first (see _compile_share): every kernel but the
    sampled layouts' repeats."""
    seen, keys = set(), []
    for key in sorted(signatures):
        module, name = key
        if module == "elementwise" and name.endswith(SAMPLED_LAYOUTS):
            sample = (name.rsplit("_", 1)[1], signatures[key])
            if sample in seen:
                continue
            seen.add(sample)
        keys.append(key)
    return sorted(keys, key=lambda k: -SLOW.get(k, 0))


# The kernels that take longest to compile, dealt out first so that the compiling processes
# finish together: 5-11 CPU-seconds each since they call their deep helpers from one site each
# (10-50 s before: numba-cuda's inlining copies an inlined device function's IR per call site).
SLOW = {("elementwise", "igamma_flat"): 11, ("elementwise", "igammac_flat"): 11,
        ("resample", "grid_sample_2d_backward"): 8, ("resample", "grid_sample_2d"): 6,
        ("resample", "grid_sample_3d_backward"): 6, ("resample", "grid_sample_3d"): 5}


def _kernels():
    """{(module, name): kernel} for every kernel (not device function) defined in kernels.cuda."""
    import kernels.cuda
    found = {}
    for info in pkgutil.iter_modules(kernels.cuda.__path__):
        module = importlib.import_module(f"kernels.cuda.{info.name}")
        for name, obj in vars(module).items():
            if hasattr(obj, "py_func") and obj.py_func.__module__ == module.__name__ \
                    and not obj.targetoptions.get("device"):  # (device functions are inlined into kernels)
                found[info.name, name] = obj
    return found


# Float32 kernels whose PTX must hold no float64 arithmetic: a stray `acc = 0.0` makes a sum or
# a product float64, which caps a GPU at its float64 rate (1/64 of float32 on many parts). Other
# kernels use float64 on purpose (statistics, optimizer formulas, random-number scaling) or have
# not been checked yet (elementwise expressions with float literals: a known gap).
NO_FLOAT64 = {("reduce", "softmax_rows"), ("linalg", "matmul_tiled"),
              ("elementwise", "add_flat"), ("elementwise", "mul_flat"), ("elementwise", "sub_flat"),
              ("elementwise", "relu_flat"), ("elementwise", "relu_backward_flat"), ("elementwise", "exp_flat"),
              ("scan", "cumsum_mid"), ("scan", "cumprod_mid"), ("scan", "logcumsumexp_mid")}
_FLOAT64_ARITHMETIC = r"\b(add|sub|mul|fma\.rn|div\.rn|sqrt\.rn)\.f64\b"


def _compile_share(share, parts):
    """Compile the kernels at positions `share` modulo `parts` of _compiled_keys: (compiled, failures, float64)."""
    import re
    from numba import cuda
    kernels, signatures = _kernels(), _signatures()
    keys = [k for k in _compiled_keys(signatures) if k in kernels][share::parts]
    failures, float64, compiled = [], [], 0
    for key in keys:
        for n, signature in enumerate([signatures[key]] + _other_signatures(key, signatures[key])):
            compiled += 1
            try:
                ptx, _ = cuda.compile_ptx(kernels[key].py_func, signature, cc=(9, 0))
                assert ".target sm_90" in ptx, "PTX is not for sm_90"
            except Exception as exc:
                failures.append(f"{'.'.join(key)}{signature if n else ''}: "
                                f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}")
                continue
            if n == 0 and key in NO_FLOAT64 and re.search(_FLOAT64_ARITHMETIC, ptx):
                float64.append(f"{'.'.join(key)}: {len(re.findall(_FLOAT64_ARITHMETIC, ptx))} float64 operations")
    return compiled, failures, float64


def main():
    """Compile every kernel; print {"skip": reason} or {"compiled", "missing", "failures", "float64"} as one JSON line.
    The kernels are shared among one process per CPU (compiling is single-threaded; a few special
    functions take 15-25 s each)."""
    import concurrent.futures
    import multiprocessing
    from numba import cuda
    try:
        cuda.compile_ptx(lambda: None, (), cc=(9, 0))
    except Exception as exc:  # no NVVM: install the 'cuda' extra (numba-cuda[cu13])
        print(json.dumps({"skip": f"NVVM unavailable: {exc}"}))
        return
    kernels, signatures = _kernels(), _signatures()
    parts = int(os.environ.get("PTX_PROCESSES") or max(1, min(4, os.cpu_count() or 1)))
    with concurrent.futures.ProcessPoolExecutor(parts, mp_context=multiprocessing.get_context("spawn")) as pool:
        results = list(pool.map(_compile_share, range(parts), [parts] * parts))
    print(json.dumps({"compiled": sum(r[0] for r in results), "failures": [f for r in results for f in r[1]],
                      "float64": [f for r in results for f in r[2]],
                      "missing": sorted(".".join(k) for k in kernels.keys() - signatures.keys()),
                      "stale": sorted(".".join(k) for k in signatures.keys() - kernels.keys())}))


_child = None


def start(processes=None):
    """Start the child that compiles every kernel (once), with `processes` compiling processes (default:
    one per CPU, up to 4). tests/conftest.py starts it with one CPU fewer when a serial session begins,
    so that its ~290 CPU-seconds (2 cores, 2026-12) run beside the other tests on the cores they leave idle."""
    global _child
    if _child is None:
        env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + [p for p in [env.get("PYTHONPATH")] if p])
        if processes:
            env["PTX_PROCESSES"] = str(processes)
        _child = subprocess.Popen([sys.executable, __file__], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
    return _child


def stop():
    """End the child if no test read it (an interrupted session)."""
    if _child is not None and _child.poll() is None:
        _child.kill()
        _child.communicate()


def test_every_cuda_kernel_compiles_to_ptx_for_the_h100():
    child = start()
    try:
        stdout, stderr = child.communicate(timeout=1800)
    except subprocess.TimeoutExpired:
        stop()
        raise
    assert child.returncode == 0, stdout[-3000:] + stderr[-6000:]
    report = json.loads(stdout.strip().splitlines()[-1])
    if "skip" in report:
        pytest.skip(report["skip"])
    assert not report["missing"], f"CUDA kernels without a PTX signature here: {report['missing']}"
    assert not report["stale"], f"PTX signatures for kernels that no longer exist: {report['stale']}"
    assert not report["failures"], "\n".join(report["failures"])
    assert not report["float64"], "float64 arithmetic in float32 kernels:\n" + "\n".join(report["float64"])
    assert report["compiled"] > 0


if __name__ == "__main__":
    main()
