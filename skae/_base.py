"""The scikit-learn contract of every skae autoencoder: :class:`AutoencoderTransformer`.

:class:`AutoencoderTransformer` wraps any Keras encoder and decoder. Its
subclasses (:class:`~skae.DenseAutoencoder`, :class:`~skae.ConvAutoencoder`,
:class:`~skae.VariationalAutoencoder`) differ only in how they build that
pair: each overrides :meth:`AutoencoderTransformer._build_encoder_decoder`
and, where it reads images, :meth:`AutoencoderTransformer._layout_request`.
Everything else lives here, in named steps:

* input: ``_check_input`` validates X and, in ``fit``, resolves its
  :class:`~skae._layout.SampleLayout` (``layout_``);
* training: ``_initialize_model`` builds and compiles ``model_``,
  ``_fit_loop`` runs Keras, and ``_set_model`` stores ``model_``,
  ``encoder_`` and ``decoder_`` (also after unpickling and loading);
* inference: ``transform``, ``inverse_transform`` and the scores call
  ``encoder_`` and ``decoder_`` on large batches.
"""

from __future__ import annotations

import math
import sys
from numbers import Integral, Real

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, OutlierMixin, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from ._docstrings import fill_shared_parameters
from ._layout import (
    ANY_ND_INPUT,
    LayoutRequest,
    SampleLayout,
    dense_rows,
    input_ndim,
    n_rows,
    parse_shape,
    resolve_layout,
)
from ._registry import register_estimator
from ._validation import NOISE_KINDS

# Keras, and skae's modules that import it (_builders, _guards, _inference,
# _networks, _persistence, _training, _distribution), are imported inside
# the methods that need them: ``import skae``, building an estimator,
# ``get_params``, ``clone`` and a ``Pipeline`` load no deep-learning
# framework (see ``skae/__init__.py``).

FLOAT_DTYPES = (np.float64, np.float32)
#: Training rows scored to set ``offset_``: all of them up to this many, else a random subset.
OFFSET_SAMPLES = 2048

#: Constraints of the parameters every estimator shares (documented once, in ``_docstrings``).
SHARED_CONSTRAINTS = {
    "optimizer": [str, HasMethods(["get_config", "apply"])],
    "learning_rate": [Interval(Real, 0, None, closed="neither"), None],
    "loss": [str, callable],
    "epochs": [Interval(Integral, 1, None, closed="left")],
    "batch_size": [Interval(Integral, 1, None, closed="left")],
    "validation_fraction": [Interval(Real, 0, 1, closed="left")],
    "early_stopping": ["boolean"],
    "patience": [Interval(Integral, 0, None, closed="left")],
    "callbacks": [list, None],
    "random_state": ["random_state"],
    "verbose": ["verbose"],
    "noise": [StrOptions(set(NOISE_KINDS)), None],
    "noise_level": [Interval(Real, 0, None, closed="left")],
    "shift": [Interval(Real, 0, 1, closed="left")],
    "rotation": [Interval(Real, 0, 180, closed="both")],
    "latent_l1": [Interval(Real, 0, None, closed="left")],
    "contamination": [Interval(Real, 0, 0.5, closed="right")],
    "warm_start": ["boolean"],
    "distribute_strategy": [StrOptions({"default", "mirrored"}), HasMethods(["scope"]), None],
}

#: Constraints of the parameters of the encoders and decoders skae builds itself.
LATENT_CONSTRAINTS = {
    "latent_dim": [Interval(Integral, 1, None, closed="left")],
    "activation": [str, callable],
    "output_activation": [str, callable, None],
}

# Parameters that only steer training: a warm start may change them. Any
# other parameter shapes the model, and changing it needs a fresh fit.
TRAINING_PARAMS = frozenset(
    {
        "epochs",
        "batch_size",
        "validation_fraction",
        "early_stopping",
        "patience",
        "callbacks",
        "random_state",
        "verbose",
        "warm_start",
        "distribute_strategy",
        "noise",
        "noise_level",
        "shift",
        "rotation",
        "contamination",
    }
)


def _same_value(a, b):
    if a is b:
        return True
    try:
        return bool(np.array_equal(np.asarray(a), np.asarray(b))) if np.ndim(a) or np.ndim(b) else bool(a == b)
    except Exception:  # values that cannot be compared are taken as changed
        return False


@fill_shared_parameters
class AutoencoderTransformer(ClassNamePrefixFeaturesOutMixin, TransformerMixin, OutlierMixin, BaseEstimator):
    """Any Keras encoder and decoder as a scikit-learn transformer.

    ``fit`` trains the encoder followed by the decoder to reconstruct X,
    ``transform`` returns the encoder's output (the latent code, flattened
    to one row per sample), ``inverse_transform`` decodes codes back to
    samples. The estimator also scores reconstructions and flags outliers
    (``score_samples``, ``decision_function``, ``predict``), pickles,
    clones, saves with :meth:`save`, and takes part in ``Pipeline`` and
    ``GridSearchCV`` like any scikit-learn transformer.

    :class:`DenseAutoencoder`, :class:`ConvAutoencoder` and
    :class:`VariationalAutoencoder` are this class with an encoder and a
    decoder that skae builds from their parameters.

    Parameters
    ----------
    encoder : keras.Model or callable, default=None
        The network from one sample to its latent code: a ``keras.Model``
        (Sequential, functional or subclassed with ``get_config``), or a
        function ``encoder(input_shape) -> keras.Model`` called with the
        shape of one sample as a tuple, such as ``(784,)`` or
        ``(28, 28, 1)``. A model is a template: every ``fit`` trains a
        fresh copy with new weights and never changes the given object.
    decoder : keras.Model or callable, default=None
        The network from a latent code back to one sample: a ``keras.Model``
        or a function ``decoder(latent_shape, output_shape) -> keras.Model``.
        Its output is the reconstruction as it is: no activation is added.
    input_shape : tuple of int or None, default=None
        The shape of one sample as the encoder takes it, one entry may be
        -1 (inferred, as in ``numpy.reshape``). Flat rows, as a ``Pipeline``
        passes them, are reshaped to it. None takes the input shape the
        encoder declares, when it is a built model with one input, and
        otherwise the data's own sample shape. A given ``input_shape`` wins
        over the encoder's declared shape, and ``fit`` raises if the two
        disagree.
    %(shared_parameters)s

    Attributes
    ----------
    model_ : keras.Sequential
        The autoencoder: layers ``[encoder_, decoder_]``, with the
        ``latent_l1`` regularizer between them when set.
    encoder_ : keras.Model
        The trained copy of the encoder.
    decoder_ : keras.Model
        The trained copy of the decoder.
    layout_ : SampleLayout
        ``sample_shape``, one sample as the model takes it, and
        ``data_shape``, one sample as ``fit`` got it (the layout
        ``inverse_transform`` returns).
    history_ : dict of str to list of float
        Per-epoch ``loss`` (and ``val_loss``) from training, over every
        ``fit`` continued by ``warm_start`` and every ``partial_fit``.
    offset_ : float
        Outlier threshold on ``score_samples``: the ``contamination``
        quantile of the scores of the training samples, or of 2,048 of
        them drawn with ``random_state`` when there are more.
        ``decision_function`` is ``score_samples(X) - offset_``.
    n_features_in_ : int
        Number of features seen during fit (values per sample).
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when X was a DataFrame with
        string column names.

    See Also
    --------
    DenseAutoencoder : An encoder and decoder of ``Dense`` layers.
    ConvAutoencoder : Convolutional encoder and decoder for images.

    Notes
    -----
    Keras draws the seed of an initializer or dropout layer that was given
    none from Python's ``random`` module. To make fits reproducible, skae
    builds the user's networks with that module seeded from
    ``random_state`` and then restores its previous state.

    Interrupting training with Ctrl-C (``KeyboardInterrupt``) after at least
    one completed epoch does not lose the work: ``fit`` (or ``partial_fit``)
    warns, keeps the weights of the last completed epoch and returns a
    usable fitted estimator. An interrupt before the first epoch completes
    leaves the estimator as it was and re-raises. A loss that becomes NaN or
    infinite stops training with a ``FloatingPointError``, and the estimator
    is left as it was before the call.

    Inference (``transform``, ``inverse_transform`` and the scores) runs
    each network through one function compiled the backend's way
    (``tf.function``, ``jax.jit`` or ``torch.no_grad``), once per fitted
    model whatever the batch size, from as many threads as you like. It
    reads the networks' weights when it runs, so after you train
    ``encoder_`` further yourself (inside another Keras model, say),
    ``transform`` returns the new codes; there is no cache to clear. Short
    inputs are padded to one of a few fixed sizes, so a row's code does not
    depend on the rows that came with it.

    The estimator trains on whichever Keras backend is set (``KERAS_BACKEND``
    or ``keras.json``): TensorFlow, JAX or PyTorch. A file written by
    :meth:`save` loads under any of them.

    Examples
    --------
    A functional encoder with a skip connection, given as builder
    functions so the input size comes from the data:

    >>> import keras
    >>> from sklearn.datasets import load_digits
    >>> from skae import AutoencoderTransformer
    >>> def encoder(input_shape):
    ...     x = keras.Input(input_shape)
    ...     h = keras.layers.Dense(32, activation="relu")(x)
    ...     h = keras.layers.Concatenate()([h, keras.layers.Dense(8)(x)])
    ...     return keras.Model(x, keras.layers.Dense(4)(h))
    >>> def decoder(latent_shape, output_shape):
    ...     return keras.Sequential([
    ...         keras.Input(latent_shape),
    ...         keras.layers.Dense(32, activation="relu"),
    ...         keras.layers.Dense(output_shape[0], activation="sigmoid"),
    ...     ])
    >>> X = load_digits().data / 16.0
    >>> ae = AutoencoderTransformer(encoder, decoder, epochs=2, random_state=0).fit(X)
    >>> ae.transform(X[:3]).shape
    (3, 4)
    >>> ae.inverse_transform(ae.transform(X[:3])).shape
    (3, 64)
    """

    _parameter_constraints: dict = {
        "encoder": [callable, None],
        "decoder": [callable, None],
        "input_shape": ["array-like", None],
        **SHARED_CONSTRAINTS,
    }
    #: Fitted attributes, besides the Keras model, that ``save`` writes.
    _fitted_attributes = ("n_features_in_", "feature_names_in_", "history_", "layout_", "offset_")

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        register_estimator(cls)

    def __init__(
        self,
        encoder=None,
        decoder=None,
        *,
        input_shape=None,
        optimizer="adam",
        learning_rate=None,
        loss="mse",
        epochs=20,
        batch_size=256,
        validation_fraction=0.0,
        early_stopping=False,
        patience=5,
        callbacks=None,
        random_state=None,
        verbose=0,
        noise=None,
        noise_level=0.1,
        shift=0.0,
        rotation=0.0,
        latent_l1=0.0,
        contamination=0.1,
        warm_start=False,
        distribute_strategy=None,
    ):
        self.encoder = encoder
        self.decoder = decoder
        self.input_shape = input_shape
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.loss = loss
        self.epochs = epochs
        self.batch_size = batch_size
        self.validation_fraction = validation_fraction
        self.early_stopping = early_stopping
        self.patience = patience
        self.callbacks = callbacks
        self.random_state = random_state
        self.verbose = verbose
        self.noise = noise
        self.noise_level = noise_level
        self.shift = shift
        self.rotation = rotation
        self.latent_l1 = latent_l1
        self.contamination = contamination
        self.warm_start = warm_start
        self.distribute_strategy = distribute_strategy

    # ------------------------------------------------------------------
    # What a kind of autoencoder says about itself

    def _layout_request(self):
        """How X's rows become the model's samples; see :mod:`skae._layout`."""
        if self.input_shape is not None:
            shape, name = parse_shape("input_shape", self.input_shape), "input_shape"
        else:
            from . import _networks

            shape, name = _networks.declared_input_shape(self.encoder), "the encoder's input shape"
        return LayoutRequest(shape=shape, name=name, nd_input=ANY_ND_INPUT)

    def _build_encoder_decoder(self, sample_shape, seeds):
        """Return fresh ``(encoder, decoder)`` Keras models for samples of ``sample_shape``.

        ``seeds`` is an iterator of ints (:func:`skae._builders.seed_stream`):
        take one for every seeded layer or network built, in order.
        """
        from . import _networks

        owner = type(self).__name__
        encoder = _networks.build_network(_networks.ENCODER, self.encoder, (sample_shape,), next(seeds), owner=owner)
        latent = _networks.latent_shape_of(encoder, sample_shape)
        decoder = _networks.build_network(
            _networks.DECODER, self.decoder, (latent, sample_shape), next(seeds), owner=owner
        )
        return encoder, decoder

    # ------------------------------------------------------------------
    # Input

    def _check_input(self, X, *, reset):
        """Validate X and return it as 2-D float rows; in ``fit``, set ``layout_``."""
        if not reset and self._is_plain_rows(X):
            return X
        if sparse.issparse(X):
            return self._check_sparse_input(X, reset=reset)
        ndim = input_ndim(X)
        if reset:
            request = self._layout_request()
            nd_input = request.nd_input or ()
        else:
            request = None
            fitted_nd = len(self.layout_.sample_shape) > 1 or len(self.layout_.data_shape) > 1
            nd_input = ANY_ND_INPUT if fitted_nd else ()
        if ndim > 2 and ndim in nd_input:
            samples = check_array(X, allow_nd=True, dtype=FLOAT_DTYPES, input_name="X", estimator=self)
            data_shape = samples.shape[1:]
            if not reset and not self.layout_.accepts(data_shape):
                noun = "images" if len(self.layout_.sample_shape) == 3 else "samples"
                shown = data_shape if len(data_shape) == len(self.layout_.sample_shape) else (*data_shape, 1)
                raise ValueError(
                    f"X holds {noun} of shape {shown}, but {type(self).__name__} was fitted on {noun} of "
                    f"shape {self.layout_.sample_shape}."
                )
            # Finite values were checked above; this pass only records or
            # checks the feature count on the flat view.
            X = validate_data(self, samples.reshape(len(samples), -1), reset=reset, ensure_all_finite=False)
        else:
            X = validate_data(self, X, reset=reset, dtype=FLOAT_DTYPES)
            data_shape = (X.shape[1],)
        if reset:
            self.layout_ = resolve_layout(data_shape, request)
        return X

    def _check_sparse_input(self, X, *, reset):
        """Validate scipy sparse X as CSR float rows, for a model whose samples are flat rows.

        The rows stay sparse: training and inference densify one batch at a
        time, so a large sparse matrix is never densified whole. A model
        that reads images (or any N-D sample) refuses sparse input.
        """
        layout = getattr(self, "layout_", None)
        if reset:
            try:
                layout = resolve_layout((X.shape[1],), self._layout_request())
            except ValueError:  # no flat layout fits: the refusal below says why
                layout = None
        if layout is None or len(layout.sample_shape) != 1:
            reads = f"samples of shape {layout.sample_shape}" if layout is not None else "images (N-D samples)"
            raise TypeError(
                f"{type(self).__name__} expected a dense array: its model reads {reads}, and only models of flat "
                f"samples take sparse input. Got a sparse {type(X).__name__} of shape {X.shape}. Densify it with "
                "X.toarray(), or use an estimator of flat rows, such as DenseAutoencoder, which takes it sparse."
            )
        X = validate_data(self, X, reset=reset, dtype=FLOAT_DTYPES, accept_sparse="csr")
        if reset:
            self.layout_ = layout
        return X

    def _takes_sparse(self):
        """Whether ``fit`` takes scipy sparse rows: when the model's samples are flat rows.

        Decided from the parameters alone, without importing Keras: an
        ``input_shape`` of one axis, an encoder model declaring one, or
        samples taken from the data (flat rows).
        """
        if self.input_shape is not None:
            try:
                return len(parse_shape("input_shape", self.input_shape)) == 1
            except ValueError:
                return False
        keras = sys.modules.get("keras")
        if keras is not None and isinstance(self.encoder, keras.Model):
            from . import _networks

            shape = _networks.declared_input_shape(self.encoder)
            return shape is None or len(shape) == 1
        return True

    def _is_plain_rows(self, X):
        """Whether X is already what validation would return: finite float rows of the fitted width.

        A web server's one-row ``transform`` spends more time in scikit-learn's
        validation than in the network; an ndarray that needs no conversion
        skips it. Anything else (lists, DataFrames, other dtypes, a model
        fitted on named features, non-finite values) takes the full path,
        which gives the usual errors and warnings.
        """
        return (
            type(X) is np.ndarray
            and X.ndim == 2
            and X.dtype in FLOAT_DTYPES
            and 0 < X.shape[0]
            and X.shape[1] == self.n_features_in_
            and not hasattr(self, "feature_names_in_")
            and bool(np.isfinite(X).all())
        )

    # ------------------------------------------------------------------
    # Fitting

    def fit(self, X, y=None):
        """Train the autoencoder to reconstruct X.

        Parameters
        ----------
        X : array-like or scipy sparse matrix of shape (n_samples, n_features) or (n_samples, ...)
            Training data: flat rows, or samples of their own shape (images)
            where the estimator takes them. A sparse matrix (CSR) is taken
            where the model's samples are flat rows, and densified one batch
            at a time; a model that reads images raises ``TypeError`` for it.
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._train(X, resume=self.warm_start, epochs=self.epochs)

    def partial_fit(self, X, y=None):
        """Train one epoch on one chunk of data.

        The first call builds the model as ``fit`` would; each later call
        continues training the same model, weights and optimizer state, on
        a new chunk. Data larger than memory can so stream through the
        estimator chunk by chunk, as with
        :class:`~sklearn.decomposition.IncrementalPCA`. Every chunk must
        have the features (and, for images, the shape) of the first.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            One chunk of training data.
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        self : object
            The fitted estimator.

        Examples
        --------
        >>> import numpy as np
        >>> from skae import DenseAutoencoder
        >>> X = np.random.default_rng(0).random((300, 20))
        >>> ae = DenseAutoencoder(hidden_layer_sizes=(16,), latent_dim=4, random_state=0)
        >>> for chunk in np.array_split(X, 3):
        ...     ae = ae.partial_fit(chunk)
        >>> len(ae.history_["loss"])
        3
        """
        return self._train(X, resume=True, epochs=1)

    def _train(self, X, *, resume, epochs):
        # A failed fit leaves a fitted estimator as it was (see _rollback).
        from ._rollback import Rollback

        with Rollback(self) as rollback:
            self._validate_params()
            self._check_noise_level()
            # Keras, once the parameters are known to be valid.
            from . import _distribution, _guards

            resume = resume and hasattr(self, "model_")
            if resume:
                self._check_model_params_unchanged()
                X = self._check_input(X, reset=False)
                rollback.keep(self.model_)
            else:
                X = self._check_input(X, reset=True)
            _guards.limit_worker_threads()
            # Resolved once per call: "mirrored" builds a strategy object.
            placement = _distribution.placement(self.distribute_strategy)
            done = len(self.history_.get("loss", ())) if resume else 0
            # A different shuffle for every continuation, still reproducible.
            seed = (int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max)) + done) % np.iinfo(
                np.int32
            ).max
            model = self.model_ if resume else self._initialize_model(seed, placement)
            history = self._fit_loop(model, X, initial_epoch=done, epochs=epochs, seed=seed, placement=placement)
            if not resume:
                self._set_model(model)
                self._built_with = self._model_params()
            self._record_history(history, resume=resume)
            self._fit_offset(X, seed)
        return self

    def _initialize_model(self, seed, placement):
        """Build the encoder and decoder, compose them and compile, under ``placement``: the new ``model_``."""
        from . import _builders, _networks

        with placement.build_scope():
            sample_shape = self.layout_.sample_shape
            encoder, decoder = self._build_encoder_decoder(sample_shape, _builders.seed_stream(seed))
            model = _networks.compose_autoencoder(encoder, decoder, sample_shape, latent_l1=self.latent_l1)
            model.compile(optimizer=self._make_optimizer(), loss=self.loss)
        return model

    def _fit_loop(self, model, X, *, initial_epoch, epochs, seed, placement):
        """Train ``model`` on X for ``epochs`` epochs; return the completed epochs' logs.

        Ctrl-C after a completed epoch keeps that epoch's weights and warns;
        a non-finite loss raises ``FloatingPointError``.
        """
        import keras

        from . import _guards, _training

        x = self.layout_.to_model(X.astype(np.float32, copy=False))
        moves = self._image_moves()
        x_train, x_val = self._split_validation(x, seed)
        batches = _training.TrainingBatches(
            x_train,
            batch_size=self.batch_size,
            seed=seed,
            noise=self.noise,
            noise_level=self.noise_level,
            multiple_of=placement.n_devices,
            **moves,
        )
        validation_data = None
        if x_val is not None:
            validation_data = _training.TrainingBatches(
                x_val, batch_size=self.batch_size, seed=seed, shuffle=False, multiple_of=placement.n_devices
            )
        callbacks = list(self.callbacks or [])
        if self.early_stopping:
            callbacks.append(
                keras.callbacks.EarlyStopping(
                    monitor="val_loss" if validation_data is not None else "loss",
                    patience=self.patience,
                    restore_best_weights=True,
                )
            )
        with placement.fit_scope():
            return _guards.guarded_fit(
                model,
                batches,
                owner=type(self).__name__,
                hint="Lower learning_rate, scale X (to [0, 1] for the sigmoid output, or standardise it with "
                "output_activation='linear'), or look for extreme values in X.",
                initial_epoch=initial_epoch,
                epochs=epochs,
                callbacks=callbacks,
                verbose=self.verbose,
                validation_data=validation_data,
            )

    def _set_model(self, model):
        """Make ``model`` (a composed autoencoder) this estimator's ``model_``, ``encoder_`` and ``decoder_``."""
        from . import _networks

        self.model_ = model
        self.encoder_, self.decoder_ = _networks.split_autoencoder(model)
        self._latent_shape = _networks.latent_shape_of(self.encoder_, self.layout_.sample_shape)
        # The compiled inference functions of encoder_ and decoder_, built on
        # first use. They read the live weights, so training never makes
        # them stale; a new dict (not a cleared one) leaves a copy of the
        # estimator its own.
        self._inference_cache = {}

    def _record_history(self, history, *, resume):
        merged = {key: list(values) for key, values in self.history_.items()} if resume else {}
        for key, values in history.items():
            merged.setdefault(key, []).extend(values)
        self.history_ = merged

    def _model_params(self):
        return {key: value for key, value in self.get_params(deep=False).items() if key not in TRAINING_PARAMS}

    def _check_model_params_unchanged(self):
        built = getattr(self, "_built_with", None)
        if built is None:
            return
        changed = [key for key, value in self._model_params().items() if not _same_value(value, built.get(key))]
        if changed:
            raise ValueError(
                f"{type(self).__name__} continues training its current model (warm_start=True or "
                f"partial_fit), but {', '.join(changed)} changed since that model was built: "
                f"{', '.join(f'{key}={built.get(key)!r} -> {getattr(self, key)!r}' for key in changed)}. "
                "Set warm_start=False, or clone the estimator, to build a new model."
            )

    def _image_moves(self):
        """Return the ``image_shape``, ``shift`` (in pixels) and ``rotation`` arguments of the training batches.

        Deep clustering's fine-tuning batches take the same, so both phases
        move the images alike.
        """
        from . import _training

        if not self.shift and not self.rotation:
            return {"image_shape": None, "shift": (0, 0), "rotation": 0.0}
        image_shape = self._image_shape()
        return {
            "image_shape": image_shape,
            "shift": _training.shift_pixels(self.shift, image_shape),
            "rotation": float(self.rotation),
        }

    def _image_shape(self):
        """Return the shape of one sample as an image, height and width first, for ``shift`` and ``rotation``.

        Images given as images keep their own shape; flat rows are images
        where the model reads them as such (a convolutional network).
        """
        for shape in (self.layout_.data_shape, self.layout_.sample_shape):
            if len(shape) >= 2:
                return shape
        moves = f"shift={self.shift} moves" if self.shift else f"rotation={self.rotation} turns"
        raise ValueError(
            f"{moves} images, but {type(self).__name__} got flat rows of "
            f"{self.layout_.data_shape[0]} features, which it does not read as images. Give X as images of shape "
            "(n_samples, height, width[, channels]), or set shift=0 and rotation=0."
        )

    def _check_noise_level(self):
        if self.noise == "mask" and self.noise_level >= 1:
            raise ValueError(
                f"noise='mask' needs a masking probability noise_level in [0, 1); got noise_level={self.noise_level}."
            )

    def _fit_offset(self, X, seed):
        # As scikit-learn's outlier detectors do: the threshold is the
        # contamination quantile of the training scores. Scoring every
        # training row cost a full extra forward pass (a fifth of a two-epoch
        # fit); OFFSET_SAMPLES rows estimate the quantile to about half a
        # percentage point of contamination at a few percent of that cost.
        # X is already validated: validating it again would warn about
        # feature names when fit was given a DataFrame.
        if n_rows(X) > OFFSET_SAMPLES:
            X = X[np.sort(np.random.default_rng(seed).choice(n_rows(X), OFFSET_SAMPLES, replace=False))]
        self.offset_ = float(np.percentile(self._reconstruction_scores(X), 100.0 * self.contamination))

    def _make_optimizer(self):
        from . import _builders

        return _builders.make_optimizer(self.optimizer, self.learning_rate)

    def _split_validation(self, x, seed):
        if self.validation_fraction == 0:
            return x, None
        n_samples = n_rows(x)
        n_val = int(round(self.validation_fraction * n_samples))
        if not 0 < n_val < n_samples:
            raise ValueError(
                f"validation_fraction={self.validation_fraction} of {n_samples} samples "
                f"leaves {n_val} for validation and {n_samples - n_val} for training; "
                "both need at least one. Use more samples or validation_fraction=0."
            )
        order = np.random.default_rng(seed).permutation(n_samples)
        return x[order[n_val:]], x[order[:n_val]]

    # ------------------------------------------------------------------
    # Inference

    def _encode(self, x):
        """Latent codes of samples ``x`` in the model's layout, float32."""
        from . import _inference

        return _inference.predict(self._inference_cache, "encoder", self.encoder_, self.layout_.sample_shape, x)

    def _decode(self, z):
        """Reconstructions of latent codes ``z`` of ``_latent_shape``, float32."""
        from . import _inference

        return _inference.predict(self._inference_cache, "decoder", self.decoder_, self._latent_shape, z)

    def transform(self, X):
        """Encode X into the latent space.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, ...)
            Data in a layout ``fit`` accepted.

        Returns
        -------
        Z : ndarray of shape (n_samples, n_latent)
            Latent codes, one flat row per sample; float32 for float32
            input and float64 otherwise.
        """
        check_is_fitted(self)
        X = self._check_input(X, reset=False)
        Z = self._encode(self.layout_.to_model(X))
        return Z.reshape(n_rows(X), -1).astype(X.dtype, copy=False)

    def inverse_transform(self, X):
        """Decode latent codes into reconstructions.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_latent)
            Latent codes, such as the output of ``transform``.

        Returns
        -------
        X_original : ndarray
            Reconstructions in the layout of the data given to ``fit``.
        """
        check_is_fitted(self)
        Z = check_array(X, dtype=FLOAT_DTYPES, input_name="X", estimator=self)
        if Z.shape[1] != self._n_features_out:
            raise ValueError(
                f"X has {Z.shape[1]} features, but {type(self).__name__}.inverse_transform "
                f"expects latent codes of {self._n_features_out} features "
                "(the output of transform)."
            )
        out = self._decode(Z.reshape((len(Z), *self._latent_shape)))
        return self.layout_.restore(out.reshape(len(Z), -1).astype(Z.dtype, copy=False))

    def score_samples(self, X):
        """Negated mean squared reconstruction error of each sample.

        Higher is better, as for scikit-learn's outlier detectors: unusual
        samples reconstruct badly and get low scores.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, ...)
            Data in a layout ``fit`` accepted.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            ``-mean((X - reconstruction) ** 2)`` over each sample's values.
        """
        check_is_fitted(self)
        return self._reconstruction_scores(self._check_input(X, reset=False))

    def _reconstruction_scores(self, X):
        """``score_samples`` of rows that ``_check_input`` already validated (ndarray or sparse CSR)."""
        from ._inference import INFERENCE_BATCH_SIZE as step

        # decoder_(encoder_(x)) is model_ at inference (its latent_l1 layer
        # is the identity then), with the two functions transform and
        # inverse_transform already use. One chunk at a time: memory holds
        # one chunk's reconstructions, and sparse rows are densified only
        # chunk by chunk.
        error = np.empty(n_rows(X), dtype=np.float64)
        for start in range(0, n_rows(X), step):
            chunk = dense_rows(X[start : start + step])
            reconstruction = self._decode(self._encode(self.layout_.to_model(chunk))).reshape(len(chunk), -1)
            error[start : start + len(chunk)] = np.mean((chunk - reconstruction) ** 2, axis=1, dtype=np.float64)
        return (-error).astype(X.dtype, copy=False)

    def score(self, X, y=None):
        """Negated mean squared reconstruction error over all of X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, ...)
            Data in a layout ``fit`` accepted.
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        score : float
            ``-mean((X - reconstruction) ** 2)``; higher is better, so
            ``GridSearchCV`` can rank reconstructions without labels.
        """
        return float(np.mean(self.score_samples(X)))

    def decision_function(self, X):
        """Outlier decision: negative for outliers, positive for inliers.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, ...)
            Data in a layout ``fit`` accepted.

        Returns
        -------
        decision : ndarray of shape (n_samples,)
            ``score_samples(X) - offset_``: below 0 the reconstruction is
            worse than that of the ``contamination`` worst training samples.
        """
        return self.score_samples(X) - self.offset_

    def predict(self, X):
        """Label each sample as an inlier (1) or an outlier (-1).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, ...)
            Data in a layout ``fit`` accepted.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            -1 where ``decision_function(X) < 0``, else 1.
        """
        return np.where(self.decision_function(X) < 0, -1, 1)

    @property
    def _n_features_out(self):
        """Number of latent features, for ``get_feature_names_out``."""
        return math.prod(self._latent_shape)

    # ------------------------------------------------------------------
    # Saving

    def save(self, path):
        """Write the fitted estimator to one file, without pickle.

        The file is a zip archive holding the Keras model in Keras's
        ``.keras`` format and a JSON document with the estimator's class,
        parameters, fitted attributes and the skae, Keras and scikit-learn
        versions that wrote it. :func:`skae.load` reads it back without
        unpickling anything and loads the model in Keras's safe mode, so a
        crafted file cannot run code. ``callbacks`` and a
        ``distribute_strategy`` object are not saved (they become None).
        An ``encoder`` or ``decoder`` given as a model is saved as a
        ``.keras`` template beside the model; one given as a function is
        saved by its import name and found again among the modules
        already imported when loading.

        Parameters
        ----------
        path : str or path-like
            Where to write; an existing file is replaced only once the new
            one is complete.

        Raises
        ------
        TypeError
            If a parameter is not a plain value JSON can hold, such as an
            activation given as a Python function.

        See Also
        --------
        skae.load : Read the file back.
        """
        from . import _persistence

        _persistence.save(self, path)

    def _saved_state(self):
        """Return the Keras models ``save`` writes besides the fitted attributes (see :mod:`skae._persistence`)."""
        return {"models": {"model_": self.model_}}

    def _restore_saved_state(self, *, models, estimators):
        """Take back what ``_saved_state`` returned, once parameters and fitted attributes are set."""
        model = models["model_"]
        expected = (None, *self.layout_.sample_shape)
        if tuple(model.input_shape) != expected:
            raise ValueError(f"its model takes inputs of shape {tuple(model.input_shape)}, expected {expected}")
        self._set_model(model)
        self._built_with = self._model_params()

    # ------------------------------------------------------------------
    # Pickling (and skops, which reads the same state): the fitted model is
    # held as the bytes of its ``.keras`` archive, not as a live Keras
    # object, so the state is plain data that loads in Keras's safe mode,
    # under any backend, without importing TensorFlow. encoder_ and
    # decoder_ are model_'s layers; they are taken from it again after
    # loading, so they stay shared. The compiled inference functions are
    # rebuilt on first use.
    #
    # Parameters given as Keras objects (an ``encoder`` or ``decoder``
    # model, an ``optimizer`` object), and the record of them in
    # ``_built_with``, are held the same way, under ``_keras_objects``;
    # ``layout_`` as a dict of tuples. skops then needs to trust only the
    # estimator classes themselves.

    def __getstate__(self):
        from . import _persistence

        state = dict(super().__getstate__())
        for name in ("encoder_", "decoder_", "_latent_shape", "_inference_cache"):
            state.pop(name, None)
        if "model_" in state:
            state["model_"] = _persistence.model_to_bytes(state["model_"])
        if isinstance(state.get("layout_"), SampleLayout):
            layout = state["layout_"]
            state["layout_"] = {"sample_shape": layout.sample_shape, "data_shape": layout.data_shape}
        params, built = _persistence.keras_params_to_state(self, state), {}
        if isinstance(state.get("_built_with"), dict):
            state["_built_with"] = dict(state["_built_with"])  # a copy: the live record stays as it is
            for name, value in state["_built_with"].items():
                if name in params and value is getattr(self, name):
                    built[name], state["_built_with"][name] = ("parameter", None), None
                elif (entry := _persistence.keras_to_state(value)) is not None:
                    built[name], state["_built_with"][name] = entry, None
        if params or built:
            state["_keras_objects"] = {"params": params, "built_with": built}
        return state

    def __setstate__(self, state):
        state = dict(state)
        state.pop("_custom_objects", None)  # written by earlier pickles
        model = state.pop("model_", None)
        keras_objects = state.pop("_keras_objects", None)
        if isinstance(state.get("layout_"), dict):
            layout = state["layout_"]
            state["layout_"] = SampleLayout(tuple(layout["sample_shape"]), tuple(layout["data_shape"]))
        super().__setstate__(state)
        from . import _persistence

        if keras_objects:
            _persistence.keras_params_from_state(self, keras_objects["params"])
            for name, entry in keras_objects["built_with"].items():
                value = getattr(self, name) if entry[0] == "parameter" else _persistence.keras_from_state(entry)
                self._built_with[name] = value
        if model is not None:
            # Bytes since this format; a live model from an older pickle.
            if isinstance(model, (bytes, bytearray)):
                model = _persistence.model_from_bytes(bytes(model))
            self._set_model(model)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        tags.input_tags.allow_nan = False
        tags.input_tags.three_d_array = True
        tags.input_tags.sparse = self._takes_sparse()
        return tags


register_estimator(AutoencoderTransformer)
