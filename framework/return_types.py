"""Named results of the ops that return several tensors, as `torch.return_types`: tuples
(they unpack and index like tuples) whose fields have PyTorch's names, printed as PyTorch
prints them, e.g. `framework.return_types.max(values=..., indices=...)`."""
import collections

__all__ = []


def _structseq(name, fields):
    """A tuple type `name` with `fields`, importable (and so picklable) from this module."""
    base = collections.namedtuple(name, fields)

    def __repr__(self):
        body = ",\n".join(f"{field}={value!r}" for field, value in zip(fields, self))
        return f"{__name__}.{name}(\n{body})"

    cls = type(name, (base,), {"__slots__": (), "__repr__": __repr__, "__module__": __name__,
                               "__doc__": f"{name}({', '.join(fields)}): the named result of `{name}`."})
    globals()[name] = cls
    __all__.append(name)
    return cls


for _name, _fields in {
    "max": ("values", "indices"), "min": ("values", "indices"), "sort": ("values", "indices"),
    "topk": ("values", "indices"), "kthvalue": ("values", "indices"), "median": ("values", "indices"),
    "nanmedian": ("values", "indices"), "mode": ("values", "indices"), "cummax": ("values", "indices"),
    "cummin": ("values", "indices"), "aminmax": ("min", "max"), "frexp": ("mantissa", "exponent"),
    "histogram": ("hist", "bin_edges"), "slogdet": ("sign", "logabsdet"), "qr": ("Q", "R"),
    "svd": ("U", "S", "V"), "geqrf": ("a", "tau"), "triangular_solve": ("solution", "cloned_coefficient"),
    "lu_unpack": ("P", "L", "U"), "linalg_slogdet": ("sign", "logabsdet"), "linalg_qr": ("Q", "R"),
    "linalg_svd": ("U", "S", "Vh"), "linalg_eig": ("eigenvalues", "eigenvectors"),
    "linalg_eigh": ("eigenvalues", "eigenvectors"), "linalg_inv_ex": ("inverse", "info"),
    "linalg_cholesky_ex": ("L", "info"), "linalg_lu": ("P", "L", "U"), "linalg_lu_factor": ("LU", "pivots"),
    "linalg_lu_factor_ex": ("LU", "pivots", "info"), "linalg_ldl_factor": ("LD", "pivots"),
    "linalg_solve_ex": ("result", "info"), "linalg_lstsq": ("solution", "residuals", "rank", "singular_values"),
}.items():
    _structseq(_name, _fields)
