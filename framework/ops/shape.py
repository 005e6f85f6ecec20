"""Shape ops. Views (view, reshape when possible, permute, expand, squeeze,
narrow, ...) share storage and the version counter with their base."""
import math

from framework import dtypes as _dt
from framework.autograd.function import Function, skips_apply
from framework.ops._util import normalize_dims, same_device, wrap, wrap_dim
from framework.ops.out_argument import call_with_out
from framework.tensor import Tensor


def _shape_arg(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    if type(shape) is tuple:
        for s in shape:
            if type(s) is not int:
                break
        else:
            return shape  # (the common case: already a tuple of ints)
    return tuple(map(int, shape))


def infer_shape(shape, numel):
    """Resolve one -1 in `shape`; RuntimeError naming the shape and the size when impossible."""
    if -1 not in shape and math.prod(shape) == numel and (not shape or min(shape) >= 0):
        return shape
    shape = list(shape)
    unknown = [i for i, s in enumerate(shape) if s == -1]
    if len(unknown) > 1:
        raise RuntimeError("only one dimension can be inferred")
    known = math.prod(s for s in shape if s != -1)
    if any(s < -1 for s in shape):
        raise RuntimeError(f"invalid shape dimension {min(shape)}")
    if unknown:
        if known == 0 or numel % known:
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
        shape[unknown[0]] = numel // known
    elif known != numel:
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
    return tuple(shape)


def _reshaped(x, shape, must_view):
    b = x.device.backend
    data = b.view(x._data, shape)
    if data is None:
        if must_view:
            raise RuntimeError(
                f"view size is not compatible with input tensor's size and stride (at least one dimension spans "
                f"across two contiguous subspaces): input shape {list(x.shape)}, strides {list(x.stride())}, "
                f"requested view {list(shape)}. Use .reshape(...) instead.")
        return Tensor._make(b.reshape(x._data, shape), x.dtype, x.device)
    return Tensor._make(data, x.dtype, x.device, x)


class Reshape(Function):
    opmath = False  # moves or views data (framework/autograd/low_precision.py)

    untracked = staticmethod(_reshaped)

    @staticmethod
    def forward(ctx, x, shape, must_view):
        ctx.shape = x.shape
        return _reshaped(x, shape, must_view)

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.shape), None, None


def view(input, *shape):
    if len(shape) == 1 and not isinstance(shape[0], (tuple, list, int)):
        raise NotImplementedError(f"view({shape[0]}): reinterpreting a tensor's bytes as another dtype is not "
                                  "supported; use .to(dtype) to convert values")
    return Reshape.apply(input, infer_shape(_shape_arg(shape), input._data.size), True)


def reshape(input, *shape):
    shape = infer_shape(_shape_arg(shape), input._data.size)
    if skips_apply(input._requires_grad):
        return _reshaped(input, shape, False)  # what Reshape.apply comes to, without its layers
    return Reshape.apply(input, shape, False)


def view_as(input, other):
    return view(input, other.shape)


def reshape_as(input, other):
    return reshape(input, other.shape)


def flatten(input, start_dim=0, end_dim=-1):
    if input.ndim == 0:
        return reshape(input, 1)
    s, e = wrap_dim(start_dim, input.ndim), wrap_dim(end_dim, input.ndim)
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    shape = input.shape
    return reshape(input, shape[:s] + (math.prod(shape[s:e + 1]),) + shape[e + 1:])


def unflatten(input, dim, sizes):
    dim = wrap_dim(dim, input.ndim)
    shape = input.shape
    sizes = infer_shape(tuple(sizes), shape[dim])
    return reshape(input, shape[:dim] + sizes + shape[dim + 1:])


def squeeze(input, dim=None):
    shape = input.shape
    if dim is None:
        new = tuple(s for s in shape if s != 1)
    else:
        dims = normalize_dims(dim, input.ndim)
        new = tuple(s for d, s in enumerate(shape) if not (d in dims and s == 1))
    return reshape(input, new)


def unsqueeze(input, dim):
    dim = wrap_dim(dim, input.ndim + 1)
    shape = input.shape
    return reshape(input, shape[:dim] + (1,) + shape[dim:])


def _permuted(x, dims):
    return Tensor._make(x.device.backend.permute(x._data, dims), x.dtype, x.device, x)


class Permute(Function):
    opmath = False  # moves or views data (framework/autograd/low_precision.py)

    untracked = staticmethod(_permuted)

    @staticmethod
    def forward(ctx, x, dims):
        ctx.dims = dims
        return _permuted(x, dims)

    @staticmethod
    def backward(ctx, g):
        inverse = [0] * len(ctx.dims)
        for i, d in enumerate(ctx.dims):
            inverse[d] = i
        return g.permute(*inverse), None


def permute(input, *dims):
    dims = _shape_arg(dims)
    n = input.ndim
    if len(dims) != n:
        raise RuntimeError(f"permute(sparse_coo): number of dimensions in the tensor input does not match the length "
                           f"of the desired ordering of dimensions i.e. input.dim() = {n} is not equal to "
                           f"len(dims) = {len(dims)}")
    dims = tuple(wrap_dim(d, n) for d in dims)
    if len(set(dims)) != n:
        raise RuntimeError("permute(): duplicate dims are not allowed.")
    return Permute.apply(input, dims)


def transpose(input, dim0, dim1):
    n = input.ndim
    if n == 0:
        return input
    dims = list(range(n))
    a, b = wrap_dim(dim0, n), wrap_dim(dim1, n)
    dims[a], dims[b] = dims[b], dims[a]
    return Permute.apply(input, tuple(dims))


swapaxes = swapdims = transpose


def t(input):
    if input.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {input.ndim}D")
    return transpose(input, 0, 1) if input.ndim == 2 else input


def movedim(input, source, destination):
    n = input.ndim
    src = [wrap_dim(s, n) for s in ([source] if isinstance(source, int) else source)]
    dst = [wrap_dim(d, n) for d in ([destination] if isinstance(destination, int) else destination)]
    order = [d for d in range(n) if d not in src]
    for s, d in sorted(zip(dst, src)):
        order.insert(s, d)
    return permute(input, order)


def _expanded(x, shape):
    return Tensor._make(x.device.backend.broadcast_to(x._data, shape), x.dtype, x.device, x)


class Expand(Function):
    opmath = False  # moves or views data (framework/autograd/low_precision.py)

    untracked = staticmethod(_expanded)

    @staticmethod
    def forward(ctx, x, shape):
        ctx.shape = x.shape
        return _expanded(x, shape)

    @staticmethod
    def backward(ctx, g):
        return g.sum_to_size(ctx.shape), None


def expand(input, *sizes):
    sizes = _shape_arg(sizes)
    shape = input.shape
    if len(sizes) < len(shape):
        raise RuntimeError(f"expand({input.dtype}{list(shape)}, size={list(sizes)}): the number of sizes provided "
                           f"({len(sizes)}) must be greater or equal to the number of dimensions in the tensor "
                           f"({len(shape)})")
    lead = len(sizes) - len(shape)
    out = []
    for i, s in enumerate(sizes):
        have = shape[i - lead] if i >= lead else 1
        if s == -1:
            if i < lead:
                raise RuntimeError("expand: -1 is not allowed in a leading, non-existing dimension")
            s = have
        elif have != 1 and have != s:
            raise RuntimeError(f"The expanded size of the tensor ({s}) must match the existing size ({have}) at "
                               f"non-singleton dimension {i}.  Target sizes: {list(sizes)}.  Tensor sizes: "
                               f"{list(shape)}")
        out.append(s)
    out = tuple(out)
    if out == shape:
        return input
    return Expand.apply(input, out)


def expand_as(input, other):
    return expand(input, other.shape)


def broadcast_to(input, shape):
    return expand(input, shape)


def broadcast_tensors(*tensors):
    from framework.ops._util import broadcast_shapes
    shape = ()
    for t in tensors:
        shape = broadcast_shapes(shape, t.shape)
    return tuple(expand(t, shape) for t in tensors)


def repeat(input, *sizes):
    sizes = _shape_arg(sizes)
    if len(sizes) < input.ndim:
        raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number of dimensions of "
                           "tensor")
    x = input.reshape((1,) * (len(sizes) - input.ndim) + input.shape)
    # (s0, s1, ...) repeated (r0, r1, ...) = expand (r0, s0, r1, s1, ...) then merge pairs.
    inter = []
    for r, s in zip(sizes, x.shape):
        inter += [1, s]
    big = []
    for r, s in zip(sizes, x.shape):
        big += [r, s]
    out = x.reshape(inter).expand(big)
    return out.reshape(tuple(r * s for r, s in zip(sizes, x.shape)))


class Contiguous(Function):
    opmath = False  # moves or views data (framework/autograd/low_precision.py)

    @staticmethod
    def forward(ctx, x):
        return wrap(x.device.backend.contiguous(x._data), x.dtype, x.device)

    @staticmethod
    def backward(ctx, g):
        return g


def contiguous(input, memory_format=None):
    if input.is_contiguous():
        return input
    return Contiguous.apply(input)


class Clone(Function):
    opmath = False  # moves or views data (framework/autograd/low_precision.py)

    @staticmethod
    def forward(ctx, x):
        return wrap(x.device.backend.copy(x._data), x.dtype, x.device)

    @staticmethod
    def backward(ctx, g):
        return g


def clone(input, memory_format=None):
    return Clone.apply(input)


def _concatenated(dim, *tensors):
    first = tensors[0]
    return Tensor._make(first.device.backend.cat([t._data for t in tensors], dim), first.dtype, first.device)


class Cat(Function):
    untracked = staticmethod(_concatenated)

    @staticmethod
    def forward(ctx, dim, *tensors):
        ctx.dim = dim
        ctx.sizes = [t.shape[dim] for t in tensors]
        return _concatenated(dim, *tensors)

    @staticmethod
    def backward(ctx, g):
        grads, start = [None], 0
        for i, n in enumerate(ctx.sizes):
            grads.append(narrow(g, ctx.dim, start, n) if ctx.needs_input_grad[i + 1] else None)
            start += n
        return tuple(grads)


def cat(tensors, dim=0, *, out=None):
    if out is not None:  # (out= here, not in out_argument's wrapper: a call less on every cat)
        return call_with_out(cat, "cat", (tensors, dim), {}, out)
    if type(tensors) is not list:
        tensors = list(tensors)
    if not tensors:
        raise RuntimeError("torch.cat(): expected a non-empty list of Tensors")
    first = tensors[0]
    ref = first._data.shape if type(first) is Tensor else ()
    if ref:  # tensors alike in shape, dtype and device: no checks to make
        dtype, device = first.dtype, first.device
        grad, arrays = False, []
        for t in tensors:
            if type(t) is not Tensor or t.dtype is not dtype or t.device is not device:
                break
            data = t._data
            if data.shape != ref:
                break
            grad = grad or t._requires_grad
            arrays.append(data)
        else:
            if not (type(dim) is int and 0 <= dim < len(ref)):
                dim = wrap_dim(dim, len(ref))
            if skips_apply(grad):  # what Cat.apply comes to, without its layers
                return Tensor._make((device._backend or device.backend).cat(arrays, dim), dtype, device)
            return Cat.apply(dim, *tensors)
    for t in tensors:
        if not isinstance(t, Tensor):
            raise TypeError(f"expected Tensor as element in argument 0, but got {type(t).__name__}")
    same_device(*tensors)
    tensors = [t for t in tensors if t._data.shape != (0,)] or tensors[:1]  # legacy: 1-D empties are skipped
    ref = tensors[0]._data.shape
    dim = wrap_dim(dim, len(ref))
    for i, t in enumerate(tensors):
        shape = t._data.shape
        if len(shape) != len(ref):
            raise RuntimeError(f"Tensors must have same number of dimensions: got {len(ref)} and {len(shape)}")
        if shape[:dim] != ref[:dim] or shape[dim + 1:] != ref[dim + 1:]:
            d = next(d for d in range(len(ref)) if d != dim and shape[d] != ref[d])
            raise RuntimeError(f"Sizes of tensors must match except in dimension {dim}. Expected size "
                               f"{ref[d]} but got size {shape[d]} for tensor number {i} in the list "
                               f"(shapes {list(ref)} and {list(shape)}).")
    dt = tensors[0].dtype
    if any(t.dtype is not dt for t in tensors):
        dt = _dt.result_type(*tensors)
        tensors = [t if t.dtype is dt else t.to(dt) for t in tensors]
    return Cat.apply(dim, *tensors)


concat = concatenate = cat


def stack(tensors, dim=0):
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    shape = tensors[0].shape
    for i, t in enumerate(tensors):
        if t._data.shape != shape:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got {list(shape)} at entry 0 and "
                               f"{list(t.shape)} at entry {i}")
    dim = wrap_dim(dim, len(shape) + 1)
    new_shape = shape[:dim] + (1,) + shape[dim:]
    return cat([Reshape.apply(t, new_shape, False) for t in tensors], dim)


def hstack(tensors):
    return cat(tensors, 0 if tensors[0].ndim == 1 else 1)


def vstack(tensors):
    return cat([t.reshape(1, -1) if t.ndim == 1 else t for t in tensors], 0)


def narrow(input, dim, start, length):
    dim = wrap_dim(dim, input.ndim)
    size = input.shape[dim]
    if start < 0:
        start += size
    if not (0 <= start <= size and 0 <= length and start + length <= size):
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size ({size}).")
    key = (slice(None),) * dim + (slice(start, start + length),)
    return input[key]


def split(tensor, split_size_or_sections, dim=0):
    dim = wrap_dim(dim, tensor.ndim)
    size = tensor.shape[dim]
    if isinstance(split_size_or_sections, int):
        step = split_size_or_sections
        if step <= 0 and size:
            raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got dimension size of {size}")
        sizes = [min(step, size - s) for s in range(0, size, step)] if size else [0]
    else:
        sizes = list(split_size_or_sections)
        if sum(sizes) != size:
            raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {size} (input tensor's size at "
                               f"dimension {dim}), but got split_sizes={sizes}")
    out, start = [], 0
    for n in sizes:
        out.append(narrow(tensor, dim, start, n))
        start += n
    return tuple(out)


def chunk(input, chunks, dim=0):
    if chunks <= 0:
        raise RuntimeError("chunk expects `chunks` to be greater than 0")
    size = input.shape[wrap_dim(dim, input.ndim)]
    return split(input, max(1, -(-size // chunks)), dim)


def tensor_split(input, indices_or_sections, dim=0):
    dim = wrap_dim(dim, input.ndim)
    size = input.shape[dim]
    if isinstance(indices_or_sections, int):
        n = indices_or_sections
        sizes = [size // n + (1 if i < size % n else 0) for i in range(n)]
    else:
        bounds = [0] + [min(int(i), size) for i in indices_or_sections] + [size]
        sizes = [max(0, b - a) for a, b in zip(bounds, bounds[1:])]
    return split(input, sizes, dim)


def unbind(input, dim=0):
    dim = wrap_dim(dim, input.ndim)
    return tuple(select(input, dim, i) for i in range(input.shape[dim]))


def select(input, dim, index):
    dim = wrap_dim(dim, input.ndim)
    return input[(slice(None),) * dim + (index,)]


class Flip(Function):
    @staticmethod
    def forward(ctx, x, dims):
        ctx.dims = dims
        return wrap(x.device.backend.flip(x._data, dims), x.dtype, x.device)

    @staticmethod
    def backward(ctx, g):
        return Flip.apply(g, ctx.dims), None


def flip(input, *dims):
    dims = _shape_arg(dims)
    return Flip.apply(input, tuple(wrap_dim(d, input.ndim) for d in dims))


def fliplr(input):
    return flip(input, 1)


def flipud(input):
    return flip(input, 0)
