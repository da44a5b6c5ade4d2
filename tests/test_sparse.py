"""Sparse input: flat-row autoencoders take scipy sparse matrices and arrays, densified one batch at a time."""

import inspect
import re

import numpy as np
import pytest
import scipy.sparse as sp
from _helpers import small_conv, small_dec, small_dense, small_vae, small_wrapper
from sklearn import config_context
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, OneHotEncoder
from sklearn.utils import get_tags

from skae import AutoencoderTransformer, ConvAutoencoder, DenseAutoencoder, VariationalAutoencoder

pytestmark = pytest.mark.backends

FLAT = {
    "dense": lambda: small_dense(noise="gaussian", validation_fraction=0.2),
    "wrapper": lambda: small_wrapper(),
    "vae": lambda: small_vae(hidden_layer_sizes=(8,), latent_dim=2),
}


@pytest.fixture(scope="module")
def sparse_rows():
    X = np.random.default_rng(0).random((300, 40))
    X[X < 0.8] = 0
    return X, sp.csr_matrix(X)


@pytest.mark.parametrize("kind", list(FLAT))
def test_sparse_input_gives_what_dense_input_gives(kind, sparse_rows):
    X, S = sparse_rows
    before = S.copy()
    dense, sparse = FLAT[kind]().fit(X), FLAT[kind]().fit(S)
    # Same seeds, same batches, same noise: the same training.
    assert sparse.history_ == dense.history_
    assert sparse.offset_ == dense.offset_
    np.testing.assert_allclose(sparse.transform(S), dense.transform(X), atol=1e-6)
    np.testing.assert_allclose(sparse.score_samples(S), dense.score_samples(X), atol=1e-6)
    assert sparse.score(S) == pytest.approx(dense.score(X), abs=1e-6)
    np.testing.assert_array_equal(sparse.predict(S), dense.predict(X))
    # partial_fit, and other sparse formats (converted to CSR).
    dense.partial_fit(X)
    sparse.partial_fit(S.tocsc())
    np.testing.assert_allclose(sparse.transform(sp.coo_matrix(S)), dense.transform(X), atol=1e-6)
    assert (S != before).nnz == 0 and S.format == "csr"  # the caller's matrix is untouched


def _weights(estimator):
    """Every weight an estimator learned: its network's, and DEC's centres."""
    if hasattr(estimator, "autoencoder_"):
        return [*_weights(estimator.autoencoder_), estimator.cluster_centers_]
    return [*estimator.encoder_.get_weights(), *estimator.decoder_.get_weights()]


def _assert_same_bits(left, right):
    assert len(left) == len(right)
    for a, b in zip(left, right, strict=True):
        assert np.array_equal(a, b)


@pytest.mark.parametrize("kind", list(FLAT))
def test_sparse_arrays_give_the_bits_of_sparse_matrices(kind, sparse_rows):
    # scikit-learn 1.9 hands out sparse arrays (csr_array) under
    # sparse_interface="sparray": the same rows in either interface must
    # train and score alike, to the bit.
    _, M = sparse_rows
    A = sp.csr_array(M)
    matrix, array = FLAT[kind]().fit(M), FLAT[kind]().fit(A)
    assert array.history_ == matrix.history_
    _assert_same_bits(_weights(array), _weights(matrix))
    codes = array.transform(A)
    assert np.array_equal(codes, matrix.transform(M))
    assert np.array_equal(array.inverse_transform(codes), matrix.inverse_transform(codes))
    assert np.array_equal(array.score_samples(A), matrix.score_samples(M))
    assert array.offset_ == matrix.offset_
    # partial_fit with sample weights, in another format of each interface
    # (converted to CSR as the matrices are).
    weights = np.linspace(0.5, 2.0, M.shape[0])
    matrix.partial_fit(M.tocsc(), sample_weight=weights)
    array.partial_fit(sp.csc_array(A), sample_weight=weights)
    _assert_same_bits(_weights(array), _weights(matrix))
    for fmt in ("coo", "lil", "dok", "bsr"):
        assert np.array_equal(array.transform(A.asformat(fmt)), matrix.transform(M.asformat(fmt)))


def test_deep_clustering_takes_sparse_arrays_as_matrices(sparse_rows):
    _, M = sparse_rows
    A = sp.csr_array(M)
    weights = np.linspace(0.5, 2.0, M.shape[0])
    matrix = small_dec(max_iter=20).fit(M, sample_weight=weights)
    array = small_dec(max_iter=20).fit(A, sample_weight=weights)
    np.testing.assert_array_equal(array.labels_, matrix.labels_)
    _assert_same_bits(_weights(array), _weights(matrix))
    assert np.array_equal(array.transform(A), matrix.transform(M))
    assert np.array_equal(array.predict_proba(A), matrix.predict_proba(M))


@pytest.mark.skipif(
    "sparse_interface" not in inspect.signature(config_context).parameters,
    reason="this scikit-learn has no sparse_interface (1.9 and newer)",
)
def test_a_pipeline_under_the_sparray_interface_gives_the_bits_of_matrices():
    rng = np.random.default_rng(0)
    words = np.array(["red", "green", "blue", "cat", "dog", "fish", "runs", "sleeps", "eats", "fast", "slow", "big"])
    documents = [" ".join(rng.choice(words, rng.integers(3, 9))) for _ in range(120)]
    with config_context(sparse_interface="sparray"):
        vectorizer = TfidfVectorizer().fit(documents)
        rows = vectorizer.transform(documents)
        pipe = make_pipeline(TfidfVectorizer(), small_dense(latent_dim=3))
        codes = pipe.fit_transform(documents)
        scores = pipe.score_samples(documents)
    # What the autoencoder got: a sparse array, not a matrix.
    assert sp.issparse(rows) and not sp.isspmatrix(rows) and rows.format == "csr"
    with config_context(sparse_interface="spmatrix"):
        matrix_pipe = make_pipeline(TfidfVectorizer(), small_dense(latent_dim=3))
        assert sp.isspmatrix(matrix_pipe[0].fit_transform(documents))
        assert np.array_equal(matrix_pipe.fit_transform(documents), codes)
        assert np.array_equal(matrix_pipe.score_samples(documents), scores)
    _assert_same_bits(_weights(pipe[-1]), _weights(matrix_pipe[-1]))


def test_sparse_transform_densifies_one_batch_at_a_time(sparse_rows, monkeypatch):
    from skae import _layout

    X, S = sparse_rows
    ae = small_dense().fit(X)
    sizes = []
    real = _layout.dense_rows

    def spy(x, dtype=None):
        sizes.append(x.shape[0])
        return real(x, dtype)

    monkeypatch.setattr("skae._inference.dense_rows", spy)
    # Blocks of one 100-row chunk: 4 bytes a float32, 40 features.
    monkeypatch.setattr("skae._inference.BLOCK_BYTES", 4 * X.shape[1] * 100)
    from skae._inference import ChunkedModel

    chunked = ChunkedModel(ae.encoder_, (X.shape[1],), chunks=(20, 100, 100))
    sizes.clear()  # choosing the plan densifies nothing, but be sure
    out = chunked(S)
    plan = chunked.plan  # (20, 100) where this machine's kernels compute a row alike at both
    assert sum(sizes) == len(X) and max(sizes) <= max(plan.large, plan.small)
    if (plan.small, plan.large) == (20, 100):
        assert sizes == [100, 100, 100]
    np.testing.assert_allclose(out, ae.transform(X), atol=1e-6)


@pytest.mark.parametrize("interface", [sp.csr_matrix, sp.csr_array], ids=["matrix", "array"])
def test_image_models_refuse_sparse_input_clearly(interface, sparse_rows):
    X, S = sparse_rows
    S = interface(S)
    conv = small_conv(image_shape=(4, 10, 1), kernel_size=1, strides=1)
    with pytest.raises(TypeError, match=rf"expected a dense array.*sparse {interface.__name__} of shape \(300, 40\)"):
        conv.fit(S)
    assert not hasattr(conv, "layout_")
    conv.fit(X)
    state = {key: value for key, value in vars(conv).items() if key != "_inference_cache"}
    with pytest.raises(TypeError, match=r"reads samples of shape \(4, 10, 1\)"):
        conv.transform(S)
    with pytest.raises(TypeError, match="sparse"):
        conv.partial_fit(S)
    assert {key: value for key, value in vars(conv).items() if key != "_inference_cache"}.keys() == state.keys()
    assert conv.history_ == state["history_"]
    wrapper = small_wrapper(input_shape=(4, 10))
    with pytest.raises(TypeError, match="expected a dense array"):
        wrapper.fit(S)


@pytest.mark.parametrize(
    ("shape", "hint"),
    [
        ((40,), r"Reshape it with X.reshape\(\(1, -1\)\) if it holds one sample"),
        ((30, 4, 10), r"Flatten its samples with X.reshape\(\(X.shape\[0\], -1\)\)"),
    ],
    ids=["1-d", "3-d"],
)
def test_sparse_arrays_of_other_ranks_are_refused_clearly(shape, hint, fitted_small):
    try:
        rank = sp.coo_array(np.zeros(shape)).ndim
    except (TypeError, ValueError):
        rank = None
    if rank != len(shape):  # older SciPy makes a 1-D array 2-D, and refuses N-D ones
        pytest.skip("this SciPy has no sparse arrays of this rank")
    # Sparse arrays, unlike matrices, can be 1-D (csr_array, coo_array) or N-D (coo_array).
    X = sp.coo_array(np.arange(np.prod(shape), dtype=np.float64).reshape(shape))
    expected = (
        r"expected sparse X of 2 dimensions, \(n_samples, n_features\); "
        rf"got a sparse coo_array of shape {re.escape(str(shape))}\. "
    )
    for estimator in (small_dense(), small_conv(image_shape=(4, 10, 1))):
        with pytest.raises(ValueError, match=expected + hint):
            estimator.fit(X)
        assert not hasattr(estimator, "layout_")
    with pytest.raises(ValueError, match=expected):
        fitted_small("dense").transform(X)


def test_failed_sparse_fit_leaves_a_fitted_model_as_it_was(sparse_rows):
    X, S = sparse_rows
    ae = small_dense().fit(X)
    codes = ae.transform(X)
    with pytest.raises(ValueError, match="features"):
        ae.partial_fit(S[:, :10])
    bad = S.copy()
    bad.data[0] = np.nan
    with pytest.raises(ValueError):
        ae.partial_fit(bad)
    np.testing.assert_array_equal(ae.transform(X), codes)


def test_tags_say_which_estimators_take_sparse_input():
    assert get_tags(DenseAutoencoder()).input_tags.sparse
    assert get_tags(VariationalAutoencoder()).input_tags.sparse
    assert not get_tags(VariationalAutoencoder(architecture="conv")).input_tags.sparse
    assert not get_tags(ConvAutoencoder()).input_tags.sparse
    assert get_tags(AutoencoderTransformer()).input_tags.sparse
    assert not get_tags(AutoencoderTransformer(input_shape=(28, 28, 1))).input_tags.sparse
    assert get_tags(AutoencoderTransformer(input_shape=(-1,))).input_tags.sparse


def test_one_hot_columns_feed_an_autoencoder():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    n = 400
    frame = pd.DataFrame(
        {
            "city": rng.choice(["Oslo", "Lima", "Pune", "Kyiv"], n),
            "plan": rng.choice(["free", "pro", "team"], n),
            "age": rng.integers(18, 80, n).astype(float),
            "spend": rng.gamma(2.0, 30.0, n),
        }
    )
    columns = ColumnTransformer(
        [("onehot", OneHotEncoder(), ["city", "plan"]), ("scale", MinMaxScaler(), ["age", "spend"])],
        sparse_threshold=1.0,
    )
    pipe = make_pipeline(columns, small_dense(latent_dim=3))
    codes = pipe.fit_transform(frame)
    assert sp.issparse(columns.transform(frame))  # the autoencoder got sparse rows
    assert codes.shape == (n, 3)
    dense_pipe = make_pipeline(clone(columns).set_params(sparse_threshold=0.0), small_dense(latent_dim=3))
    np.testing.assert_allclose(dense_pipe.fit_transform(frame), codes, atol=1e-6)
    assert list(pipe.get_feature_names_out()) == ["denseautoencoder0", "denseautoencoder1", "denseautoencoder2"]
