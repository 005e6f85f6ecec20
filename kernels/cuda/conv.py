"""Direct 2-D convolution on contiguous NCHW input and OIHW weights: one thread per output,
input or weight element (correct and simple; tensor-core GEMMs are the next step)."""
from numba import cuda


@cuda.jit
def conv2d_forward(x, w, bias, has_bias, out, n_img, c_in, h, wd, c_out, kh, kw, oh, ow, sh, sw, ph, pw, dh, dw,
                   groups):
    """out[n, o, i, j] = bias[o] + sum over the group's channels and taps. Contiguous NCHW / OIHW."""
    cg = c_in // groups
    og = c_out // groups
    total = n_img * c_out * oh * ow
    t = cuda.grid(1)
    while t < total:
        j = t % ow
        i = (t // ow) % oh
        o = (t // (ow * oh)) % c_out
        n = t // (ow * oh * c_out)
        g = o // og
        acc = bias[o] if has_bias else 0.0
        for c in range(cg):
            for a in range(kh):
                y = i * sh - ph + a * dh
                if y < 0 or y >= h:
                    continue
                for b in range(kw):
                    xx = j * sw - pw + b * dw
                    if 0 <= xx < wd:
                        acc += x[((n * c_in + g * cg + c) * h + y) * wd + xx] * w[((o * cg + c) * kh + a) * kw + b]
        out[t] = acc
        t += cuda.gridsize(1)


@cuda.jit
def conv2d_grad_input(g, w, dx, n_img, c_in, h, wd, c_out, kh, kw, oh, ow, sh, sw, ph, pw, dh, dw, groups):
    """dx[n, c, y, x] = sum of g[n, o, i, j] * w[o, c', a, b] over the outputs that read (y, x)."""
    cg = c_in // groups
    og = c_out // groups
    total = n_img * c_in * h * wd
    t = cuda.grid(1)
    while t < total:
        xx = t % wd
        y = (t // wd) % h
        c = (t // (wd * h)) % c_in
        n = t // (wd * h * c_in)
        grp = c // cg
        acc = 0.0
        for oo in range(og):
            o = grp * og + oo
            for a in range(kh):
                num_i = y + ph - a * dh
                if num_i < 0 or num_i % sh != 0:
                    continue
                i = num_i // sh
                if i >= oh:
                    continue
                for b in range(kw):
                    num_j = xx + pw - b * dw
                    if num_j < 0 or num_j % sw != 0:
                        continue
                    j = num_j // sw
                    if j < ow:
                        acc += g[((n * c_out + o) * oh + i) * ow + j] * w[((o * cg + c - grp * cg) * kh + a) * kw + b]
        dx[t] = acc
        t += cuda.gridsize(1)


@cuda.jit
def conv2d_grad_weight(x, g, dw_out, n_img, c_in, h, wd, c_out, kh, kw, oh, ow, sh, sw, ph, pw, dh, dw, groups):
    """dw[o, c, a, b] = sum over images and output positions of g * the input it read."""
    cg = c_in // groups
    og = c_out // groups
    total = c_out * cg * kh * kw
    t = cuda.grid(1)
    while t < total:
        b = t % kw
        a = (t // kw) % kh
        c = (t // (kw * kh)) % cg
        o = t // (kw * kh * cg)
        ch = (o // og) * cg + c
        acc = 0.0
        for n in range(n_img):
            for i in range(oh):
                y = i * sh - ph + a * dh
                if y < 0 or y >= h:
                    continue
                for j in range(ow):
                    xx = j * sw - pw + b * dw
                    if 0 <= xx < wd:
                        acc += g[((n * c_out + o) * oh + i) * ow + j] * x[((n * c_in + ch) * h + y) * wd + xx]
        dw_out[t] = acc
        t += cuda.gridsize(1)
