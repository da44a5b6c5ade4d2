"""Properties of skae's pure functions: shapes, chunks, codecs, image moves, DEC's targets.

None of these trains a network, so an example costs microseconds to
milliseconds and each property runs a few hundred of them by default.
Each property compares against a reference written another way (a brute
force search, an explicit loop, a round trip), not against the code's own
formula. ``test_properties.py`` holds the properties of whole estimators,
which train.
"""

import json
import math
import pickle
from unittest import mock

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy import sparse
from sklearn.base import BaseEstimator

from skae import _inference
from skae._augment import _turned, random_shift
from skae._builders import conv_shapes
from skae._dec_settings import soft_assignments, target_distribution
from skae._layout import LayoutRequest, SampleLayout, parse_shape, resolve_layout
from skae._networks import AutoencoderNetwork
from skae._persistence import ENCODED, PlainStateMixin, _decode, _encode

# Hundreds of examples at a few milliseconds each. No deadline: the suite
# shares two cores with its other workers, where a slow example is load,
# not a bug.
CHEAP = settings(max_examples=200, deadline=None)

dims = st.integers(1, 6)
shapes = st.lists(dims, min_size=1, max_size=4).map(tuple)


def with_wildcard(draw, shape):
    """``shape`` with at most one axis drawn to be -1."""
    axis = draw(st.one_of(st.none(), st.integers(0, len(shape) - 1)))
    return shape if axis is None else tuple(-1 if i == axis else v for i, v in enumerate(shape))


# --- The layout: parse_shape, resolve_layout ---------------------------------

# Entries of a shape and what the contract says of each: a positive int (or
# an integral float, or a NumPy int) is kept, -1 is the one wildcard, and
# anything else is no size.
ENTRY = st.one_of(
    st.integers(1, 10**6).map(lambda v: ("size", v)),
    st.integers(1, 100).map(lambda v: ("size", float(v))),
    st.integers(1, 100).map(lambda v: ("size", np.int64(v))),
    st.just(("wildcard", -1)),
    st.integers(-(10**6), 0).filter(lambda v: v != -1).map(lambda v: ("bad", v)),
    st.floats(allow_nan=True).filter(lambda v: not float(v).is_integer()).map(lambda v: ("bad", v)),
    st.sampled_from([True, False, "3", None, b"2"]).map(lambda v: ("bad", v)),
)


@CHEAP
@given(
    entries=st.lists(ENTRY, max_size=6),
    bounds=st.tuples(st.integers(0, 4), st.one_of(st.none(), st.integers(1, 6))),
    as_array=st.booleans(),
)
def test_parse_shape_keeps_exactly_the_shapes_of_its_contract(entries, bounds, as_array):
    min_len, max_len = bounds
    assume(max_len is None or max_len >= min_len)
    kinds, values = [kind for kind, _ in entries], [value for _, value in entries]
    valid = (
        "bad" not in kinds
        and kinds.count("wildcard") <= 1
        and min_len <= len(values) <= (len(values) if max_len is None else max_len)
    )
    given_value = np.array(values, dtype=object) if as_array else tuple(values)
    if valid:
        parsed = parse_shape("image_shape", given_value, min_len=min_len, max_len=max_len)
        assert parsed == tuple(int(v) for v in values)
        assert all(type(v) is int for v in parsed)
    else:
        with pytest.raises(ValueError, match="image_shape must be a tuple of"):
            parse_shape("image_shape", given_value, min_len=min_len, max_len=max_len)


@CHEAP
@given(data=st.data(), true_shape=shapes, n=st.integers(1, 5))
def test_flat_rows_take_a_requested_shape_and_round_trip(data, true_shape, n):
    # A requested shape with its -1 filled in gives every value of a row a
    # place, and restoring the model's samples gives back the rows.
    request = with_wildcard(data.draw, true_shape)
    n_features = math.prod(true_shape)
    layout = resolve_layout((n_features,), LayoutRequest(shape=request, name="image_shape"))
    assert layout.sample_shape == true_shape and layout.data_shape == (n_features,)
    X = np.arange(n * n_features, dtype=np.float32).reshape(n, n_features)
    samples = layout.to_model(X)
    assert samples.shape == (n, *true_shape)
    np.testing.assert_array_equal(layout.restore(samples), X)


@CHEAP
@given(data=st.data(), request_shape=shapes, n_features=st.integers(1, 400))
def test_a_requested_shape_resolves_iff_some_size_of_its_wildcard_holds_the_row(data, request_shape, n_features):
    request = with_wildcard(data.draw, request_shape)
    # Brute force: every size the wildcard could take.
    fills = range(1, n_features + 1) if -1 in request else [None]
    holds = [fill for fill in fills if math.prod(fill if v == -1 else v for v in request) == n_features]
    if holds:
        layout = resolve_layout((n_features,), LayoutRequest(shape=request, name="image_shape"))
        assert layout.n_features == n_features
        assert all(r in (-1, s) for r, s in zip(request, layout.sample_shape, strict=True))
    else:
        with pytest.raises(ValueError, match=r"image_shape=\("):
            resolve_layout((n_features,), LayoutRequest(shape=request, name="image_shape"))


@CHEAP
@given(n_features=st.integers(1, 3000))
def test_flat_rows_are_square_images_only_when_their_width_is_a_square(n_features):
    square = [side for side in range(1, n_features + 1) if side * side == n_features]
    request = LayoutRequest(shape=None, name="image_shape", default="image")
    if square:
        assert resolve_layout((n_features,), request).sample_shape == (square[0], square[0], 1)
    else:
        with pytest.raises(ValueError, match="only fits square single-channel images"):
            resolve_layout((n_features,), request)


@CHEAP
@given(
    data=st.data(),
    data_shape=st.lists(dims, min_size=2, max_size=4).map(tuple),
    default=st.sampled_from(["keep", "flat", "image"]),
)
def test_nd_samples_keep_their_values_in_any_layout(data, data_shape, default):
    # N-D data resolves to its own shape (or with a channel axis added, or
    # flat): whichever, a sample holds the same values and restores.
    request = LayoutRequest(shape=None, name="X", nd_input=(3, 4, 5), default=default)
    layout = resolve_layout(data_shape, request)
    assert layout.n_features == math.prod(data_shape)
    assert layout.accepts(data_shape)
    X = np.arange(2 * math.prod(data_shape), dtype=np.float32).reshape(2, *data_shape)
    np.testing.assert_array_equal(layout.restore(layout.to_model(X.reshape(2, -1))), X)
    # Asked for the data's own shape or one channel more, any axis free: the same layout.
    own = data.draw(st.sampled_from([data_shape, (*data_shape, 1)]))
    asked = LayoutRequest(shape=with_wildcard(data.draw, own), name="image_shape", nd_input=(3, 4, 5))
    assert resolve_layout(data_shape, asked).sample_shape == own


@CHEAP
@given(data=st.data(), data_shape=st.lists(dims, min_size=2, max_size=4).map(tuple), request_shape=shapes)
def test_nd_samples_refuse_a_requested_shape_that_is_not_theirs(data, data_shape, request_shape):
    # N-D samples keep their shape: a request resolves only where it is that
    # shape, or that shape with one channel more, up to its wildcard.
    request = with_wildcard(data.draw, request_shape)
    theirs = [
        own
        for own in (data_shape, (*data_shape, 1))
        if len(own) == len(request) and all(r in (-1, s) for r, s in zip(request, own, strict=True))
    ]
    asked = LayoutRequest(shape=request, name="image_shape", nd_input=(3, 4, 5), noun="images")
    if theirs:
        assert resolve_layout(data_shape, asked).sample_shape == theirs[0]
    else:
        with pytest.raises(ValueError, match=r"X holds images of shape .*, but image_shape="):
            resolve_layout(data_shape, asked)


# --- conv_shapes ----------------------------------------------------------


def window_positions(size, kernel, stride, padding):
    """Where a kernel's windows start along an axis of ``size``: Keras's "valid" and "same" by counting."""
    last_start = size - kernel if padding == "valid" else size - 1
    return len(range(0, last_start + 1, stride))


@CHEAP
@given(
    image=st.tuples(st.integers(1, 64), st.integers(1, 64)),
    n_convs=st.integers(1, 4),
    kernel=st.tuples(st.integers(1, 5), st.integers(1, 5)),
    strides=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    padding=st.sampled_from(["valid", "same"]),
)
def test_conv_shapes_accepts_exactly_the_images_the_decoder_returns(image, n_convs, kernel, strides, padding):
    # The encoder's sizes by counting windows; the decoder's transposed
    # convolutions ("same") multiply each size by its stride.
    sizes, size = [], image
    for _ in range(n_convs):
        size = tuple(window_positions(size[a], kernel[a], strides[a], padding) for a in (0, 1))
        sizes.append(size)
    returned = tuple(sizes[-1][a] * strides[a] ** n_convs for a in (0, 1))
    call = dict(filters=(4,) * n_convs, kernel_size=kernel, strides=strides, padding=padding)
    if min(min(s) for s in sizes) >= 1 and returned == image:
        assert conv_shapes((*image, 1), **call) == sizes
    else:
        with pytest.raises(ValueError, match=r"image_shape=\("):
            conv_shapes((*image, 1), **call)
    # The error's advice: sides that are multiples of the strides' product, with padding="same", fit.
    multiple = tuple(math.ceil(image[a] / strides[a] ** n_convs) * strides[a] ** n_convs for a in (0, 1))
    conv_shapes((*multiple, 1), **{**call, "padding": "same"})


# --- The image moves and turns --------------------------------------------


def moved(image, down, right):
    """``image`` moved ``down`` rows and ``right`` columns, zeros where it uncovers: pixel by pixel."""
    out = np.zeros_like(image)
    height, width = image.shape[:2]
    for i in range(height):
        for j in range(width):
            if 0 <= i - down < height and 0 <= j - right < width:
                out[i, j] = image[i - down, j - right]
    return out


image_batches = st.tuples(
    st.integers(1, 5),
    st.integers(1, 7),
    st.integers(1, 7),
    st.sampled_from([(), (1,), (2,)]),
    st.integers(0, 2**32 - 1),
).map(
    lambda t: (
        np.random.default_rng(t[4]).random((t[0], t[1], t[2], *t[3]), dtype=np.float32) + np.float32(0.5),
        t[4],
    )
)


@CHEAP
@given(batch=image_batches, pixels=st.tuples(st.integers(0, 3), st.integers(0, 3)), flat=st.booleans())
def test_each_image_moves_by_whole_pixels_within_its_range(batch, pixels, flat):
    images, seed = batch
    image_shape = images.shape[1:]
    x = images.reshape(len(images), -1) if flat else images
    out = random_shift(x, image_shape, pixels, np.random.default_rng(seed)).reshape(images.shape)
    dy, dx = pixels
    for image, result in zip(images, out, strict=True):
        # Some move within (dy, dx) gives exactly this image: search them all.
        assert any(
            np.array_equal(result, moved(image, down, right))
            for down in range(-dy, dy + 1)
            for right in range(-dx, dx + 1)
        )


@CHEAP
@given(
    batch=image_batches,
    pixels=st.tuples(st.integers(0, 3), st.integers(0, 3)),
    degrees=st.sampled_from([0.0, 15.0, 180.0]),
    cut=st.tuples(st.integers(0, 5), st.integers(0, 5)),
)
def test_a_process_share_of_a_batch_moves_as_in_the_whole_batch(batch, pixels, degrees, cut):
    # Over several processes each feeds its part of a batch: its rows must
    # get the moves and turns they would get in one process.
    images, seed = batch
    part = slice(*sorted(cut))
    assume(len(images[part]) > 0)
    whole = random_shift(images, images.shape[1:], pixels, np.random.default_rng(seed), degrees=degrees)
    share = random_shift(
        images[part], images.shape[1:], pixels, np.random.default_rng(seed), degrees, whole=len(images), part=part
    )
    np.testing.assert_array_equal(share, whole[part])


@CHEAP
@given(batch=image_batches, pixels=st.tuples(st.integers(0, 3), st.integers(0, 3)))
def test_a_turn_of_almost_nothing_moves_an_image_as_a_move_alone_does(batch, pixels):
    # The turning path also makes the whole-pixel moves: drawn the same,
    # they must match the plain move's, so both paths move images alike.
    images, seed = batch
    plain = random_shift(images, images.shape[1:], pixels, np.random.default_rng(seed))
    turned = random_shift(images, images.shape[1:], pixels, np.random.default_rng(seed), degrees=1e-6)
    np.testing.assert_allclose(turned, plain, atol=1e-4)


@CHEAP
@given(batch=image_batches)
def test_half_a_turn_flips_both_axes_and_quarter_turns_compose(batch):
    images, _ = batch
    n = len(images)
    zero = np.zeros(n, dtype=np.int64)
    half = _turned(images, zero, zero, np.full(n, np.pi))
    np.testing.assert_allclose(half, images[:, ::-1, ::-1], atol=1e-5)
    # A square image loses nothing to a quarter turn: it is np.rot90's
    # one way, turns back the other way, and two make half a turn.
    side = min(images.shape[1:3])
    square = images[:, :side, :side].copy()
    quarter = np.full(n, np.pi / 2)
    once = _turned(square, zero, zero, quarter)
    assert any(np.allclose(once, np.rot90(square, k, axes=(1, 2)), atol=1e-5) for k in (1, -1))
    np.testing.assert_allclose(_turned(once, zero, zero, -quarter), square, atol=1e-5)
    np.testing.assert_allclose(_turned(once, zero, zero, quarter), square[:, ::-1, ::-1], atol=1e-5)


@CHEAP
@given(
    data_shape=st.lists(st.integers(1, 40), min_size=1, max_size=3).map(tuple),
    shift=st.one_of(st.just(0.0), st.floats(0, 1, exclude_max=True)),
    rotation=st.sampled_from([0.0, 10.0]),
)
def test_image_moves_refuse_flat_rows_and_stay_within_the_image(data_shape, shift, rotation):
    network = AutoencoderNetwork.__new__(AutoencoderNetwork)  # its layout is all image_moves reads
    network.layout = SampleLayout(data_shape, data_shape)
    if not shift and not rotation:
        assert network.image_moves(shift, rotation, owner="X") == {
            "image_shape": None,
            "shift": (0, 0),
            "rotation": 0.0,
        }
    elif len(data_shape) == 1:
        with pytest.raises(ValueError, match="does not read as images"):
            network.image_moves(shift, rotation, owner="DenseAutoencoder")
    else:
        moves = network.image_moves(shift, rotation, owner="X")
        assert moves["image_shape"] == data_shape and moves["rotation"] == rotation
        # Up to the fraction shift of each side, in whole pixels: never off the image.
        for pixels, size in zip(moves["shift"], data_shape[:2], strict=True):
            assert type(pixels) is int and 0 <= pixels <= size and abs(pixels - shift * size) <= 0.5


# --- The chunking of inference ---------------------------------------------


def row_function(x):
    """A stand-in model: each row's output depends on that row alone (its first value, times 3, plus 1)."""
    return x.reshape(len(x), -1)[:, :1] * np.float32(3) + np.float32(1)


@st.composite
def chunk_sizes(draw):
    """``(small, large, step)`` as ChunkedModel takes them: ``large`` a multiple of both others."""
    small = draw(st.sampled_from([1, 2, 4, 8]))
    large = small * draw(st.integers(1, 32))
    step = draw(st.sampled_from([d for d in range(1, large + 1) if large % d == 0]))
    return small, large, step


@CHEAP
@given(
    chunks=chunk_sizes(),
    n_factor=st.floats(0, 3.5),
    extra=st.integers(1, 9),
    kernels_agree=st.booleans(),
    as_sparse=st.booleans(),
)
def test_chunks_cover_every_row_once_in_order_in_two_call_sizes(chunks, n_factor, extra, kernels_agree, as_sparse):
    small, large, step = chunks
    n = int(n_factor * large) + extra
    calls, rows_seen = [], []

    def compiled(model, input_shape):
        def call(x):
            x = np.asarray(x)  # the backend's tensor: TensorFlow's bulk comes as slices of one tensor
            calls.append(len(x))
            first = x.reshape(len(x), -1)[:, 0]
            rows_seen.extend(first[first != 0])  # the padding rows are zeros, no row of X is
            out = row_function(x)
            # Kernels that computed a row otherwise in large calls: one ulp off.
            return out if kernels_agree or len(x) <= small else np.nextafter(out, np.inf)

        return call

    def loop(model, rows):
        call = compiled(model, None)
        return lambda x: np.concatenate([call(x[i : i + rows]) for i in range(0, len(x), rows)])

    # TensorFlow's loop over a block of chunks is built at the first bulk
    # input, so the stand-ins stay in place through the calls.
    with (
        mock.patch.object(_inference, "compile_model", compiled),
        mock.patch.object(_inference, "_jax_chunk_loop", loop),
        mock.patch.object(_inference, "_tensorflow_chunk_loop", lambda model, shape, rows: loop(model, rows)),
    ):
        chunked = _inference.ChunkedModel(None, (3,), chunks=chunks)
        plan = chunked.plan  # the defaults where they agree (and cost little), else a group of the ladder's sizes
        X = np.arange(1, n * 3 + 1, dtype=np.float32).reshape(n, 3)
        chunked(X)  # the first bulk input builds and checks TensorFlow's loop over a block of chunks
        calls.clear()
        rows_seen.clear()
        out = chunked(sparse.csr_matrix(X) if as_sparse else X)
        # Every row computed once, and its output in its place: a gap, an
        # overlap or a shuffle shows.
        assert sorted(rows_seen) == list(X[:, 0])
        np.testing.assert_allclose(out, row_function(X), rtol=1e-6)
        # No call ever sees a number of rows of its own choosing, and the sizes
        # used are of one group: all up to `small` rows or all above, never both
        # where the kernels disagree.
        assert set(calls) <= {plan.small, plan.step}
        if not kernels_agree:
            assert len({size <= small for size in calls}) == 1
        # At most one chunk's worth of padding, and few small calls.
        assert sum(calls) - n < plan.large
        if plan.step != plan.small:  # else the bulk's calls have small rows too
            assert calls.count(plan.small) <= max(1, math.ceil(plan.large / 8 / plan.small))
        # A row alone gets the bits it got among the others.
        for i in {0, n // 2, n - 1}:
            np.testing.assert_array_equal(chunked(X[i : i + 1]), out[i : i + 1])


# --- The state codec ------------------------------------------------------

layouts = st.builds(SampleLayout, shapes, shapes, st.none() | shapes)
arrays = st.one_of(
    hnp.arrays(
        st.sampled_from([np.int64, np.float32, np.float64, np.bool_]),
        hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4),
    ),
    # Native byte order, as fitted attributes are (NumPy's own pickle makes any array native).
    hnp.arrays(
        hnp.unicode_string_dtypes(endianness="=", max_len=5), hnp.array_shapes(min_dims=1, max_dims=2, min_side=1)
    ),
    st.lists(st.text(max_size=5), min_size=1, max_size=4).map(lambda names: np.array(names, dtype=object)),
)
# Keys that are also the codec's own tags: a plain dict must not be read as one.
keys = st.one_of(st.text(max_size=6), st.sampled_from(["tuple", "ndarray", "dtype", "dict", "layout", "keras_model"]))
plain = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=False),
        st.text(max_size=8),
        arrays,
        layouts,
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.lists(inner, max_size=4).map(tuple),
        st.dictionaries(keys, inner, max_size=4),
    ),
    max_leaves=12,
)


def assert_same(got, expected):
    """Equal values of the same types, all the way down: a tuple is no list, an array keeps its dtype."""
    assert type(got) is type(expected), (got, expected)
    if isinstance(expected, np.ndarray):
        assert got.dtype == expected.dtype and got.shape == expected.shape
        np.testing.assert_array_equal(got, expected)
    elif isinstance(expected, (list, tuple)):
        assert len(got) == len(expected)
        for a, b in zip(got, expected, strict=True):
            assert_same(a, b)
    elif isinstance(expected, dict):
        assert list(got) == list(expected)
        for key in expected:
            assert_same(got[key], expected[key])
    else:
        assert got == expected


@CHEAP
@given(value=plain)
def test_the_state_codec_round_trips_plain_values_through_json(value):
    # What save() writes: JSON text, read back by another process.
    assert_same(_decode(json.loads(json.dumps(_encode("attribute 'x'", value)))), value)


@CHEAP
@given(value=st.one_of(st.integers(-(2**62), 2**62).map(np.int64), st.floats(width=32).map(np.float32)))
def test_numpy_scalars_come_back_as_the_python_numbers_they_equal(value):
    assume(not np.isnan(value))
    got = _decode(json.loads(json.dumps(_encode("x", value))))
    assert type(got) is type(value.item()) and got == value


class _Holder(PlainStateMixin, BaseEstimator):
    """A minimal estimator whose fitted state is a layout and plain values: pickling without Keras."""


@CHEAP
@given(layout=layouts, value=plain)
def test_pickling_encodes_layouts_and_keeps_every_other_attribute(layout, value):
    est = _Holder()
    est.layout_, est.value_ = layout, value
    state = est.__getstate__()
    assert "layout_" not in state and state[ENCODED]["layout_"] == {"layout": layout.to_dict()}
    again = pickle.loads(pickle.dumps(est))
    assert again.layout_ == layout
    assert_same(again.value_, value)


# --- DEC's target distribution -----------------------------------------------


@st.composite
def soft_assignments_q(draw, min_value=1e-3):
    """Rows of soft assignments: positive, each summing to 1."""
    n, k = draw(st.integers(1, 20)), draw(st.integers(1, 8))
    q = draw(hnp.arrays(np.float64, (n, k), elements=st.floats(min_value, 1.0)))
    return q / q.sum(axis=1, keepdims=True)


def targets_by_the_paper(q):
    """DEC's eq. (3), one entry at a time: p_ij = (q_ij^2 / f_j) / sum_j' (q_ij'^2 / f_j'), f_j = sum_i q_ij."""
    n, k = q.shape
    f = [sum(q[i, j] for i in range(n)) for j in range(k)]
    p = np.empty_like(q)
    for i in range(n):
        weights = [q[i, j] ** 2 / f[j] for j in range(k)]
        for j in range(k):
            p[i, j] = weights[j] / sum(weights)
    return p


@CHEAP
@given(q=soft_assignments_q(), data=st.data())
def test_target_distribution_is_decs_eq_3_and_a_distribution_per_row(q, data):
    p = target_distribution(q)
    np.testing.assert_allclose(p, targets_by_the_paper(q), rtol=1e-9, atol=1e-15)
    assert p.shape == q.shape and np.all(p >= 0)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-12)
    # Neither the order of the rows nor the clusters' names matter.
    rows = data.draw(st.permutations(range(len(q))))
    clusters = data.draw(st.permutations(range(q.shape[1])))
    np.testing.assert_allclose(target_distribution(q[rows][:, clusters]), p[rows][:, clusters], rtol=1e-9)


@CHEAP
@given(v=st.lists(st.floats(1e-3, 1.0), min_size=1, max_size=8))
def test_targets_sharpen_assignments_to_clusters_of_equal_size(v):
    # DEC's aim: where the clusters are equally frequent (every column of q
    # sums alike: the rows are all the rotations of one), each row's target
    # is at least as confident as its assignment.
    row = np.asarray(v) / np.sum(v)
    q = np.stack([np.roll(row, shift) for shift in range(len(row))])
    p = target_distribution(q)
    assert np.all(p.max(axis=1) >= q.max(axis=1) - 1e-12)
    # Strictly more, unless the row has no favourite to sharpen.
    if np.ptp(row) > 1e-3:
        assert np.all(p.max(axis=1) > q.max(axis=1))
    # And it favours a cluster the row favoured (ties, to rounding, may go either way).
    np.testing.assert_allclose(q[np.arange(len(q)), p.argmax(axis=1)], q.max(axis=1), rtol=1e-12)


@CHEAP
@given(
    labels=st.lists(st.integers(0, 5), min_size=1, max_size=30),
)
def test_hard_assignments_are_their_own_targets(labels):
    used = sorted(set(labels))  # every cluster holds a row: no empty column to divide by
    q = np.eye(len(used))[[used.index(label) for label in labels]]
    np.testing.assert_array_equal(target_distribution(q), q)


@CHEAP
@given(
    z=hnp.arrays(np.float64, st.tuples(st.integers(1, 10), st.integers(1, 4)), elements=st.floats(-5, 5)),
    data=st.data(),
    alpha=st.sampled_from([0.5, 1.0, 2.0]),
)
def test_soft_assignments_favour_the_nearest_centre(z, data, alpha):
    centers = data.draw(hnp.arrays(np.float64, (data.draw(st.integers(1, 6)), z.shape[1]), elements=st.floats(-5, 5)))
    distances = ((z[:, None, :] - centers[None, :, :]) ** 2).sum(axis=2)
    q = soft_assignments(z, centers, alpha)
    np.testing.assert_allclose(q.sum(axis=1), 1.0, rtol=1e-12)
    assert np.all(q > 0)
    # Checked on the rows whose nearest centre is clearly nearest: ties go either way.
    ordered = np.sort(distances, axis=1)
    clear = ordered[:, 1] - ordered[:, 0] > 1e-6 if centers.shape[0] > 1 else np.ones(len(z), dtype=bool)
    np.testing.assert_array_equal(q.argmax(axis=1)[clear], distances.argmin(axis=1)[clear])
