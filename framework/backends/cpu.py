"""torch.backends.cpu: what the CPU offers (the CPU backend itself is cpu_backend.py)."""


def get_cpu_capability():
    """PyTorch's names for the widest vector instructions here: "AVX512", "AVX2" or "DEFAULT"
    (read from /proc/cpuinfo's flags on Linux; "DEFAULT" where it cannot tell)."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line.split(":", 1)[1].split() for line in f if line.startswith("flags")), [])
    except OSError:
        return "DEFAULT"
    if {"avx512f", "avx512bw", "avx512vl", "avx512dq"} <= set(flags):
        return "AVX512"
    return "AVX2" if "avx2" in flags else "DEFAULT"
