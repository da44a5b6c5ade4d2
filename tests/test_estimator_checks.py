"""scikit-learn's own estimator checks over every skae estimator."""

import pytest
from _helpers import dense_decoder, dense_encoder
from sklearn.mixture import GaussianMixture
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils.estimator_checks import (
    check_global_output_transform_pandas,
    check_global_set_output_transform_polars,
    check_set_output_transform,
    check_set_output_transform_pandas,
    check_set_output_transform_polars,
    check_transformer_get_feature_names_out,
    check_transformer_get_feature_names_out_pandas,
    estimator_checks_generator,
)

from skae import (
    AutoencoderTransformer,
    ConvAutoencoder,
    DeepEmbeddedClustering,
    DenseAutoencoder,
    UMAPMixture,
    VariationalAutoencoder,
)

# The checks feed tiny arrays with any number of features (1, 2, 3, 10, ...),
# so the conv instance uses 1-pixel kernels and strides over images one row
# high (image_shape=(1, -1, 1)): every width then fits, and the checks still
# run the full conv path (reshape to images, Conv2D, Conv2DTranspose, back).
ESTIMATORS = [
    AutoencoderTransformer(dense_encoder, dense_decoder, epochs=2, batch_size=16),
    # The defaults (the tutorial's 784-unit layer, 64 latents, batch size
    # 256): one row encoded alone and in a batch must agree to the bit.
    DenseAutoencoder(epochs=1),
    ConvAutoencoder(image_shape=(1, -1, 1), kernel_size=1, strides=1, epochs=1),
    # The checks feed values up to 3; the default binary cross-entropy wants
    # [0, 1] (PyTorch refuses other targets), so this one fits the MSE.
    # One VAE: a convolutional one (architecture="conv") runs the same
    # estimator code through the conv instance's layers, and its checks
    # took 40 s of CI's slow set. Its row identity, sample weights and
    # ONNX export keep tests of their own (test_variational.py,
    # test_sample_weight.py, test_onnx.py).
    VariationalAutoencoder(hidden_layer_sizes=(8,), latent_dim=2, epochs=2, batch_size=16, loss="mse"),
    # A tiny autoencoder and a few fine-tuning steps: every check passes.
    DeepEmbeddedClustering(
        3,
        autoencoder=DenseAutoencoder(hidden_layer_sizes=(8,), latent_dim=2, output_activation="linear"),
        pretrain_epochs=2,
        max_iter=10,
        update_interval=5,
        batch_size=16,
    ),
    # The clusterer's own code (runs, seeds, the silhouette's choice,
    # validation) on an identity embedding and a one-start mixture: UMAP
    # needs more samples than the checks give (20 neighbours) and takes
    # 20 s to compile, and ten mixture starts per run only cost time.
    UMAPMixture(3, embedding=FunctionTransformer(), mixture=GaussianMixture(), random_state=0),
]


#: Indices in ESTIMATORS of the backend set: DenseAutoencoder(epochs=1), whose checks are in the fast set.
#: The conv and VAE checks (slow) run under TensorFlow only: under JAX
#: and PyTorch they ran the same estimator code as the dense checks, at a
#: third of CI's backend time, and test_contract.py runs every kind's whole
#: contract on every backend.
BACKEND_SET = {1}
#: Every instance but DenseAutoencoder(epochs=1) is slow: the checks fit a
#: model dozens of times per instance, a third of the suite's time, so the
#: fast set runs scikit-learn's checks on the default estimator alone and CI
#: runs the rest with ``-m slow``. One instance a class: a second, smaller
#: dense and conv instance (two epochs in batches of 16) ran the same checks
#: on the same code paths and took a fifth of the slow set's time; the
#: wrapper, the VAE and DEC train in batches of 16.
SLOW_SET = {0, 2, 3, 4}
#: scikit-learn's sparse checks fit once per sparse format (10 s an
#: instance); tests/test_sparse.py checks that the wrapper's and the VAE's
#: sparse input gives the bits of dense input, which covers more than these
#: checks do, so those two instances leave them out.
SPARSE_TESTED_ELSEWHERE = {0, 3}
SPARSE_CHECKS = {"check_estimator_sparse_array", "check_estimator_sparse_matrix"}


#: scikit-learn's sparse check takes any estimator with predict_proba for a
#: classifier (it reads classifier_tags and expects 2 or 4 columns), so a
#: clusterer that accepts sparse rows and has soft assignments cannot pass
#: it; tests/test_deep_clustering.py checks DEC's sparse input instead.
#: A sample weight of k trains like k copies of the row in expectation over
#: the shuffled batches, not batch for batch as the equivalence checks ask
#: (tests/test_sample_weight.py checks the expectation: one full batch).
WEIGHTS_ARE_NOT_REPEATS = {
    check: "a weight of k is k copies of the row in expectation over the batches, not in every batch"
    for check in ("check_sample_weight_equivalence_on_dense_data", "check_sample_weight_equivalence_on_sparse_data")
}
EXPECTED_FAILURES = {
    "DeepEmbeddedClustering": {
        **{
            check: "the check expects a classifier's predict_proba"
            for check in ("check_estimator_sparse_array", "check_estimator_sparse_matrix")
        },
        **WEIGHTS_ARE_NOT_REPEATS,
    },
    **{
        name: WEIGHTS_ARE_NOT_REPEATS
        for name in ("AutoencoderTransformer", "DenseAutoencoder", "ConvAutoencoder", "VariationalAutoencoder")
    },
}


def _checks():
    """scikit-learn's checks for each estimator, with ids that are the same in every process.

    ``parametrize_with_checks`` names a case by the estimator's repr, which for
    the wrapper holds the builder functions' memory addresses; pytest-xdist's
    workers then collect different test names and refuse to run.
    """
    for index, estimator in enumerate(ESTIMATORS):
        expected = EXPECTED_FAILURES.get(type(estimator).__name__)
        for item in estimator_checks_generator(estimator, legacy=True, expected_failed_checks=expected, mark="xfail"):
            # An expected failure comes as a pytest.param carrying its xfail mark.
            (est, check), marks = (item.values, list(item.marks)) if hasattr(item, "values") else (item, [])
            name = getattr(check, "func", check).__name__
            if index in SPARSE_TESTED_ELSEWHERE and name in SPARSE_CHECKS:
                continue
            if name in WEIGHTS_ARE_NOT_REPEATS:
                # Known to fail by design: skipped rather than run to fail
                # (each fits four times, on dense and on sparse data).
                marks = [pytest.mark.skip(reason=WEIGHTS_ARE_NOT_REPEATS[name])]
            # The default dense autoencoder: CI also runs its checks under JAX and PyTorch.
            if index in BACKEND_SET:
                marks.append(pytest.mark.backends)
            if index in SLOW_SET:
                marks.append(pytest.mark.slow)
            yield pytest.param(est, check, id=f"{index}-{type(estimator).__name__}-{name}", marks=marks)


@pytest.mark.parametrize("estimator, check", list(_checks()))
def test_sklearn_compatible(estimator, check):
    check(estimator)


#: scikit-learn's checks of feature names and of set_output (default,
#: pandas and polars containers), which the generator above does not
#: yield: scikit-learn runs them over its own estimators in tests of their
#: own. The autoencoders share one implementation (AutoencoderTransformer's
#: ClassNamePrefixFeaturesOutMixin) and DEC has its own, so they run on
#: DenseAutoencoder(epochs=1) and on DEC. A set_output check fits a dozen
#: times (DataFrames and arrays, fit then transform and fit_transform), so
#: those are slow; DEC's, about 22 s each, are left to
#: tests/test_output_containers.py, which checks DEC's pandas and polars
#: frames in a few seconds, and to the autoencoder's, which reach the same
#: scikit-learn wrapper. Each check skips itself where pandas or polars is
#: not installed.
FEATURE_NAME_CHECKS = (check_transformer_get_feature_names_out, check_transformer_get_feature_names_out_pandas)
OUTPUT_CHECKS = {
    1: (
        *FEATURE_NAME_CHECKS,
        check_set_output_transform,
        check_set_output_transform_pandas,
        check_global_output_transform_pandas,
        check_set_output_transform_polars,
        check_global_set_output_transform_polars,
    ),
    4: FEATURE_NAME_CHECKS,
}


def _output_checks():
    for index, checks in OUTPUT_CHECKS.items():
        estimator = ESTIMATORS[index]
        name = type(estimator).__name__
        for check in checks:
            slow = index in SLOW_SET or check not in FEATURE_NAME_CHECKS
            yield pytest.param(
                estimator, check, id=f"{index}-{name}-{check.__name__}", marks=[pytest.mark.slow] if slow else []
            )


@pytest.mark.parametrize("estimator, check", list(_output_checks()))
def test_sklearn_output_containers(estimator, check):
    check(type(estimator).__name__, estimator)
