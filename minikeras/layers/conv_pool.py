"""A Conv2D and the MaxPooling2D right after it, run as one step (Sequential does so where the pair allows).

The convolution writes its outputs grouped by their offset in the pooling window: plane (p, q) holds z at
(P*a + p, Q*b + q) for every window (a, b). The pooling is then an elementwise max of P*Q contiguous planes,
where the layers one after the other would gather every window from the strided output. The activation
(relu or none) runs on the pooled values only: relu(max z) = max relu(z), and where the max is not positive
relu' is 0 at every element of the window, so dz is what TensorFlow's MaxPoolGrad of relu gives.
"""
import numpy as np

from minikeras import activations
from minikeras.layers.convolutional import Conv2D, _matmul_by_row_blocks
from minikeras.layers.pooling import MaxPooling2D, _first_maxima, combine_planes
from minikeras.utils.thread_utils import in_two_parts


def fusable(conv, pool, input_shape):
    """Whether `conv` then `pool` on inputs of `input_shape` can run as a `ConvMaxPool`: a stride-1 Conv2D
    with few input channels (its 'channel_rows' layout), relu or no activation, and a max pooling of
    disjoint windows that tile the convolution's output exactly; neither with an activity regularizer."""
    if type(conv) is not Conv2D or type(pool) is not MaxPooling2D:
        return False
    if conv.activity_regularizer is not None or pool.activity_regularizer is not None:
        return False
    if conv.activation not in (activations.relu, activations.linear) or len(input_shape) != 4:
        return False
    if conv.strides != (1, 1) or conv.dilation_rate != (1, 1) or conv.groups != 1:
        return False
    if pool.strides != pool.pool_size or pool.data_format != "channels_last" or not conv.built:
        return False
    out = conv.compute_output_shape(input_shape)
    return (4 * input_shape[-1] <= conv.filters and out[1] % pool.pool_size[0] == 0
            and out[2] % pool.pool_size[1] == 0)


class ConvMaxPool:
    """conv then max pooling as one step, with a layer's forward and backward_pass (no mask reaches it).

    Forward: phases[p, q] = x_pad[:, p::P, q::Q]; for each kernel offset (i, j) and pool offset (p, q),
    a row of `cols` is one contiguous run of a phase (rows of `wide` positions, the last ones past the
    output's edge and cut away later); z = cols^T @ [kernel; bias] as P*Q planes; y = act(max of planes).
    Backward: dz[k] = act'(pooled) * dy on plane k's first maxima (zero past the edge);
    [dkernel; dbias] = cols @ dz; dx, when needed, through the convolution's col2im.
    """

    supports_masking = False

    def __init__(self, conv, pool):
        self.conv, self.pool = conv, pool

    def forward(self, x, training=False, mask=None):
        conv = self.conv
        out_h, out_w = conv._set_geometry(x.shape)
        padded_shape, pad_h, pad_w, _, _ = conv._geometry
        (kh, kw), (ph, pw) = conv.kernel_size, self.pool.pool_size
        n, _, wp, c = padded_shape
        windows_h, self.windows_w = out_h // ph, out_w // pw
        wide = -(-wp // pw)
        # phase rows: enough for the last window row's reach plus one, which the wide runs overrun into
        phase_h = windows_h + (ph + kh - 2) // ph + 1
        run = windows_h * wide
        phases = conv._buffer("pool_phases", (c, ph, pw, n, phase_h, wide), x.dtype, zeroed=True)
        padded = np.moveaxis(conv._padded(x, pad_h, pad_w), -1, 0)
        depth = kh * kw * c
        cols = conv._buffer("pool_cols", (depth + conv.use_bias, ph * pw, n, run), x.dtype)
        if conv.use_bias:
            cols[depth] = 1

        def fill_cols(first, last):  # of images first..last-1
            for p in range(ph):
                for q in range(pw):
                    part = padded[:, first:last, p::ph, q::pw]
                    phases[:, p, q, first:last, :part.shape[2], :part.shape[3]] = part
            flat_phases = phases.reshape(c, ph, pw, n, phase_h * wide)
            for i in range(kh):
                for j in range(kw):
                    for p in range(ph):
                        for q in range(pw):
                            start = (p + i) // ph * wide + (q + j) // pw
                            cols[(i * kw + j) * c:(i * kw + j + 1) * c, p * pw + q, first:last] = \
                                flat_phases[:, (p + i) % ph, (q + j) % pw, first:last, start:start + run]

        in_two_parts(n, fill_cols)
        conv._cols = cols = cols.reshape(len(cols), -1)
        f = conv.filters
        z = conv._buffer("pool_z", (cols.shape[1], f), x.dtype)
        _matmul_by_row_blocks(cols.T, conv._kernel_and_bias_rows(), z)
        self._planes = planes = list(z.reshape(ph * pw, -1))
        self._pooled = pooled = conv._buffer("pool_max", (n, windows_h, wide, f), x.dtype)
        y = np.empty((n, windows_h, self.windows_w, f), dtype=x.dtype)
        per_image = pooled[0].size

        def pool(first, last):
            part = slice(first * per_image, last * per_image)
            combine_planes(np.maximum, [plane[part] for plane in planes], pooled.reshape(-1)[part])
            images = y[first:last]
            np.copyto(images, pooled[first:last, :, :self.windows_w])
            if not conv._is_linear:
                # relu in place: its gradient reads only the sign, and relu(z) > 0 exactly where z > 0
                np.maximum(images, activations._zeros_like(images), out=images)

        in_two_parts(n, pool)
        conv.logits = conv._outputs = y
        return y

    def backward_pass(self, grad_output):
        conv, pooled, planes = self.conv, self._pooled.reshape(-1), self._planes
        masks = conv._buffer("pool_masks", (len(planes), pooled.size), bool)
        unclaimed = conv._buffer("pool_unclaimed", pooled.shape, bool)
        dtype = grad_output.dtype
        dy_wide = conv._buffer("pool_dy", self._pooled.shape, dtype, zeroed=True)
        dz = conv._buffer("pool_dz", masks.shape, dtype)
        per_image = self._pooled[0].size

        def route(first, last):  # the gradient of images first..last-1 to their windows' first maxima
            part = slice(first * per_image, last * per_image)
            _first_maxima([plane[part] for plane in planes], pooled[part], list(masks[:, part]), unclaimed[part])
            if conv._is_linear:
                dy_wide[first:last, :, :self.windows_w] = grad_output[first:last]
            else:  # relu' = (z > 0), read off the pooled output; written straight into the wide rows
                np.multiply(grad_output[first:last], np.greater(conv._outputs[first:last], 0),
                            out=dy_wide[first:last, :, :self.windows_w])
            for k, mask in enumerate(masks):
                np.multiply(dy_wide.reshape(-1)[part], mask[part], out=dz[k, part])

        in_two_parts(len(grad_output), route)
        dz = dz.reshape(-1, conv.filters)
        conv._channel_rows_weight_grads(dz)
        if not conv.input_grad_needed:
            return None
        return conv._col2im(self._natural_order(dz) @ conv.kernel.value.reshape(-1, conv.filters).T)

    def _natural_order(self, dz):
        """dz from plane order (p, q, n, a, wide column) back to (n, row, column) positions, edges cut."""
        (ph, pw), f = self.pool.pool_size, self.conv.filters
        (n, *_), _, _, _, (out_h, _) = self.conv._geometry
        planes = dz.reshape(ph, pw, n, out_h // ph, -1, f)[:, :, :, :, :self.windows_w]
        natural = np.empty((n, out_h // ph, ph, self.windows_w, pw, f), dtype=dz.dtype)
        for p in range(ph):
            for q in range(pw):
                natural[:, :, p, :, q] = planes[p, q]
        return natural.reshape(-1, f)
