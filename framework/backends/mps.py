"""torch.backends.mps: Apple's Metal backend, which the framework does not have (device
selection code probes it: `torch.backends.mps.is_available()`)."""


def is_available():
    return False


def is_built():
    return False
