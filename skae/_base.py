"""The scikit-learn contract shared by every skae autoencoder."""

from __future__ import annotations

import contextlib
import warnings
from numbers import Integral, Real

import keras
import numpy as np
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, OutlierMixin, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from ._builders import split_autoencoder
from ._guards import EpochGuard, limit_worker_threads
from ._training import NOISE_KINDS, make_training_data, predict_in_batches

FLOAT_DTYPES = (np.float64, np.float32)

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


def _model_state(model):
    optimizer = getattr(model, "optimizer", None)
    return model.get_weights(), [v.numpy() for v in optimizer.variables] if optimizer is not None else []


def _restore_model_state(model, state):
    weights, optimizer_values = state
    model.set_weights(weights)
    if optimizer_values:
        for variable, value in zip(model.optimizer.variables, optimizer_values, strict=True):
            variable.assign(value)


def _strategy_scope(strategy):
    """Return the ``tf.distribute`` scope to build and compile the model in."""
    if strategy is None:
        return contextlib.nullcontext()
    import tensorflow as tf

    if strategy == "default":
        strategy = tf.distribute.get_strategy()
    elif strategy == "mirrored":
        strategy = tf.distribute.MirroredStrategy()
    return strategy.scope()


class AutoencoderTransformer(ClassNamePrefixFeaturesOutMixin, TransformerMixin, OutlierMixin, BaseEstimator):
    """Base class for scikit-learn transformers that wrap a Keras autoencoder.

    It owns everything the estimators share: input validation, training,
    ``transform`` to the latent space, ``inverse_transform`` back to the
    input space, scoring, outlier detection from the reconstruction error
    (``decision_function``, ``predict``, ``fit_predict``), pickling and
    scikit-learn's estimator tags.
    :class:`DenseAutoencoder` and :class:`ConvAutoencoder` only say how to
    build their Keras model.

    To add an architecture, subclass it, list the new parameters in
    ``__init__`` and ``_parameter_constraints``, and implement
    ``_build_model(self, seed)``: it returns a flat ``keras.Sequential``
    whose input takes one sample of shape ``self._sample_shape()``, whose
    output has the same shape, and whose bottleneck layer is named
    ``"latent"``. Seed the layers' initializers from ``seed`` so that
    ``random_state`` makes fits reproducible.

    Parameters
    ----------
    latent_dim : int, default=64
        Size of the latent code that ``transform`` returns.
    activation : str or callable, default="relu"
        Keras activation of the hidden layers.
    output_activation : str, callable or None, default="sigmoid"
        Activation of the reconstruction. The sigmoid suits data scaled to
        [0, 1], like images; use ``"linear"`` for standardised data.
    optimizer : str or keras.optimizers.Optimizer, default="adam"
        Optimizer name or instance. An instance is copied from its config
        on every fit, so it is never shared between fitted models.
    learning_rate : float or None, default=None
        Learning rate; None keeps the optimizer's own (Adam: 0.001).
    loss : str or callable, default="mse"
        Keras reconstruction loss.
    epochs : int, default=20
        Number of passes over the training data.
    batch_size : int, default=256
        Rows per gradient step.
    validation_fraction : float in [0, 1), default=0.0
        Fraction of the rows held out to report ``val_loss`` in
        ``history_``; early stopping watches it when it is above 0.
    early_stopping : bool, default=False
        Stop when the monitored loss has not improved for ``patience``
        epochs, and keep the best epoch's weights.
    patience : int, default=5
        Epochs without improvement before early stopping ends training.
    callbacks : list of keras.callbacks.Callback or None, default=None
        Extra Keras callbacks, passed to ``model.fit`` as they are.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling and the validation split.
        An int makes fits on the same data reproducible on CPU. No global
        random generator (Python's, NumPy's, Keras's or TensorFlow's) is
        reseeded.
    verbose : int, default=0
        Keras's verbosity: 0 silent, 1 progress bar, 2 one line per epoch.
    noise : {"gaussian", "mask"} or None, default=None
        Corrupt the inputs while training, not the targets, to learn a
        denoising autoencoder: ``"gaussian"`` adds ``noise_level`` times
        standard normal noise, ``"mask"`` sets each value to 0 with
        probability ``noise_level``. Fresh noise is drawn for every batch
        (seeded by ``random_state``); ``transform``, ``inverse_transform``
        and scoring never add noise. None trains on clean inputs.
    noise_level : float >= 0, default=0.1
        Standard deviation of the Gaussian noise, or the masking
        probability (then below 1). Ignored when ``noise=None``.
    latent_l1 : float >= 0, default=0.0
        Weight of an L1 activity penalty on the latent code (the mean over
        the batch of ``latent_l1 * sum(abs(z))``), which pushes codes
        towards sparsity. 0 adds no penalty.
    contamination : float in (0, 0.5], default=0.1
        Expected fraction of outliers in the training data. ``fit`` sets
        ``offset_`` to that quantile of the training rows'
        ``score_samples``, so ``predict`` flags about this fraction of them.
    warm_start : bool, default=False
        When True and the estimator is fitted, ``fit`` trains the current
        model ``epochs`` more epochs instead of building a new one. Only
        training parameters (``epochs``, ``batch_size``, ``callbacks``, ...)
        may change in between.
    distribute_strategy : {"default", "mirrored"}, tf.distribute.Strategy or None, default=None
        TensorFlow distribution strategy to build and train the model under,
        such as ``tf.distribute.MirroredStrategy()`` to train one model on
        several GPUs. The strings build the strategy at fit time, which
        keeps the estimator clonable and picklable; a strategy object is
        used as given. None trains without an explicit strategy.

    Attributes
    ----------
    model_ : keras.Model
        The whole autoencoder.
    encoder_ : keras.Model
        Input to latent code; shares its layers with ``model_``.
    decoder_ : keras.Model
        Latent code to reconstruction; shares its layers with ``model_``.
    history_ : dict of str to list of float
        Per-epoch ``loss`` (and ``val_loss``) from training, over every
        ``fit`` continued by ``warm_start`` and every ``partial_fit``.
    offset_ : float
        Outlier threshold on ``score_samples``: the ``contamination``
        quantile of the training rows' scores. ``decision_function`` is
        ``score_samples(X) - offset_``.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when X was a DataFrame with
        string column names.

    Notes
    -----
    Interrupting training with Ctrl-C (``KeyboardInterrupt``) after at least
    one completed epoch does not lose the work: ``fit`` (or ``partial_fit``)
    warns, keeps the weights of the last completed epoch and returns a
    usable fitted estimator, as skorch does. An interrupt before the first
    epoch completes leaves the estimator as it was and re-raises. A callback
    that sets ``model.stop_training = True`` ends training the same way
    Keras does, keeping the weights at that point.

    A loss that becomes NaN or infinite stops training with a
    ``FloatingPointError`` at the end of that epoch, and the estimator is
    left as it was before the call.
    """

    _parameter_constraints: dict = {
        "latent_dim": [Interval(Integral, 1, None, closed="left")],
        "activation": [str, callable],
        "output_activation": [str, callable, None],
        "optimizer": [str, keras.optimizers.Optimizer],
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
        "latent_l1": [Interval(Real, 0, None, closed="left")],
        "contamination": [Interval(Real, 0, 0.5, closed="right")],
        "warm_start": ["boolean"],
        "distribute_strategy": [StrOptions({"default", "mirrored"}), HasMethods(["scope"]), None],
    }

    def __init__(
        self,
        *,
        latent_dim=64,
        activation="relu",
        output_activation="sigmoid",
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
        latent_l1=0.0,
        contamination=0.1,
        warm_start=False,
        distribute_strategy=None,
    ):
        self.latent_dim = latent_dim
        self.activation = activation
        self.output_activation = output_activation
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
        self.latent_l1 = latent_l1
        self.contamination = contamination
        self.warm_start = warm_start
        self.distribute_strategy = distribute_strategy

    # ------------------------------------------------------------------
    # Hooks for subclasses

    def _build_model(self, seed):
        raise NotImplementedError(
            f"{type(self).__name__} must implement _build_model(self, seed) returning a "
            "keras.Sequential autoencoder with a layer named 'latent'."
        )

    def _check_input(self, X, *, reset):
        """Validate X and return it as a 2-D float array, one row a sample."""
        return validate_data(self, X, reset=reset, dtype=FLOAT_DTYPES)

    def _sample_shape(self):
        """Shape of one sample as the Keras model takes it."""
        return (self.n_features_in_,)

    def _restore_layout(self, X):
        """Give 2-D reconstructions the layout of the data given to fit."""
        return X

    def _latent_regularizer(self):
        """Activity regularizer for the latent layer, or None."""
        return keras.regularizers.L1(self.latent_l1) if self.latent_l1 > 0 else None

    # ------------------------------------------------------------------
    # Fitting

    def fit(self, X, y=None):
        """Train the autoencoder to reconstruct X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data. Values in [0, 1] suit the default sigmoid output.
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
        # A failed fit (bad input, bad parameter, a Keras error, a NaN loss)
        # must leave a previously fitted estimator exactly as it was: its
        # attributes and, when training continued its model, the weights and
        # optimizer state too.
        snapshot = self.__dict__.copy()
        model_state = None
        try:
            self._validate_params()
            self._check_noise_level()
            resume = resume and hasattr(self, "model_")
            if resume:
                self._check_model_params_unchanged()
                X = self._check_input(X, reset=False)
                model_state = _model_state(self.model_)
            else:
                X = self._check_input(X, reset=True)
            limit_worker_threads()
            self._fit(X, epochs=epochs, resume=resume)
            self._fit_offset(X)
        except BaseException:
            if model_state is not None:
                _restore_model_state(self.model_, model_state)
            self.__dict__.clear()
            self.__dict__.update(snapshot)
            raise
        return self

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

    def _fit(self, X, *, epochs, resume):
        done = len(self.history_.get("loss", ())) if resume else 0
        # A different shuffle for every continuation, still reproducible.
        seed = (int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max)) + done) % np.iinfo(
            np.int32
        ).max
        if resume:
            model = self.model_
        else:
            with _strategy_scope(self.distribute_strategy):
                model = self._build_model(seed)
                model.compile(optimizer=self._make_optimizer(), loss=self.loss)

        x = self._to_model_input(X.astype(np.float32, copy=False))
        x_train, validation_data = self._split_validation(x, seed)
        # The guard runs first, so an epoch counts as completed before any
        # user callback (which may interrupt) sees it.
        guard = EpochGuard()
        callbacks = [guard, *(self.callbacks or [])]
        if self.early_stopping:
            callbacks.append(
                keras.callbacks.EarlyStopping(
                    monitor="val_loss" if validation_data is not None else "loss",
                    patience=self.patience,
                    restore_best_weights=True,
                )
            )
        try:
            model.fit(
                **make_training_data(
                    x_train,
                    batch_size=self.batch_size,
                    seed=seed,
                    noise=self.noise,
                    noise_level=self.noise_level,
                ),
                initial_epoch=done,
                epochs=done + epochs,
                verbose=self.verbose,
                callbacks=callbacks,
                validation_data=validation_data,
            )
        except KeyboardInterrupt:
            if guard.weights is None:
                raise
            model.set_weights(guard.weights)
            warnings.warn(
                f"Training was interrupted; {type(self).__name__} keeps the weights of the last "
                f"completed epoch ({done + len(guard.history['loss'])}).",
                UserWarning,
                stacklevel=4,
            )
        if guard.bad_loss is not None:
            epoch, loss = guard.bad_loss
            raise FloatingPointError(
                f"The training loss became {loss} in epoch {epoch + 1}, so {type(self).__name__} stopped "
                "training and kept its previous state. Lower learning_rate, scale X (to [0, 1] for the "
                "sigmoid output, or standardise it with output_activation='linear'), or look for extreme "
                "values in X."
            )
        if not resume:
            self.model_ = model
            self.encoder_, self.decoder_ = split_autoencoder(model)
            self._built_with = self._model_params()
        history = {key: list(values) for key, values in self.history_.items()} if resume else {}
        for key, values in guard.history.items():
            history.setdefault(key, []).extend(values)
        self.history_ = history

    def _check_noise_level(self):
        if self.noise == "mask" and self.noise_level >= 1:
            raise ValueError(
                f"noise='mask' needs a masking probability noise_level in [0, 1); got noise_level={self.noise_level}."
            )

    def _fit_offset(self, X):
        # As scikit-learn's outlier detectors do: the threshold is the
        # contamination quantile of the training scores.
        # X is already validated: validating it again would warn about
        # feature names when fit was given a DataFrame.
        self.offset_ = float(np.percentile(self._reconstruction_scores(X), 100.0 * self.contamination))

    def _make_optimizer(self):
        optimizer = keras.optimizers.get(self.optimizer) if isinstance(self.optimizer, str) else self.optimizer
        config = optimizer.get_config()
        if self.learning_rate is not None:
            config["learning_rate"] = self.learning_rate
        return type(optimizer).from_config(config)

    def _split_validation(self, x, seed):
        if self.validation_fraction == 0:
            return x, None
        n_samples = len(x)
        n_val = int(round(self.validation_fraction * n_samples))
        if not 0 < n_val < n_samples:
            raise ValueError(
                f"validation_fraction={self.validation_fraction} of {n_samples} samples "
                f"leaves {n_val} for validation and {n_samples - n_val} for training; "
                "both need at least one. Use more samples or validation_fraction=0."
            )
        order = np.random.default_rng(seed).permutation(n_samples)
        x_val = x[order[:n_val]]
        return x[order[n_val:]], (x_val, x_val)

    # ------------------------------------------------------------------
    # Inference

    def _to_model_input(self, X):
        return X.reshape((len(X), *self._sample_shape()))

    def _reconstruct(self, X):
        out = predict_in_batches(self.model_, self._to_model_input(X))
        return out.reshape(len(X), -1)

    def transform(self, X):
        """Encode X into the latent space.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data in the layout given to ``fit``.

        Returns
        -------
        Z : ndarray of shape (n_samples, latent_dim)
            Latent codes, float32 for float32 input and float64 otherwise.
        """
        check_is_fitted(self)
        X = self._check_input(X, reset=False)
        Z = predict_in_batches(self.encoder_, self._to_model_input(X))
        return Z.astype(X.dtype, copy=False)

    def inverse_transform(self, X):
        """Decode latent codes into reconstructions.

        Parameters
        ----------
        X : array-like of shape (n_samples, latent_dim)
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
        out = predict_in_batches(self.decoder_, Z)
        return self._restore_layout(out.reshape(len(Z), -1).astype(Z.dtype, copy=False))

    def score_samples(self, X):
        """Negated mean squared reconstruction error of each sample.

        Higher is better, as for scikit-learn's outlier detectors: unusual
        samples reconstruct badly and get low scores.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data in the layout given to ``fit``.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            ``-mean((X - reconstruction) ** 2)`` over each row's features.
        """
        check_is_fitted(self)
        return self._reconstruction_scores(self._check_input(X, reset=False))

    def _reconstruction_scores(self, X):
        """``score_samples`` of rows that ``_check_input`` already validated."""
        error = np.mean((X - self._reconstruct(X)) ** 2, axis=1, dtype=np.float64)
        return (-error).astype(X.dtype, copy=False)

    def score(self, X, y=None):
        """Negated mean squared reconstruction error over all of X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data in the layout given to ``fit``.
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
        X : array-like of shape (n_samples, n_features)
            Data in the layout given to ``fit``.

        Returns
        -------
        decision : ndarray of shape (n_samples,)
            ``score_samples(X) - offset_``: below 0 the reconstruction is
            worse than that of the ``contamination`` worst training rows.
        """
        return self.score_samples(X) - self.offset_

    def predict(self, X):
        """Label each sample as an inlier (1) or an outlier (-1).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data in the layout given to ``fit``.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            -1 where ``decision_function(X) < 0``, else 1.
        """
        return np.where(self.decision_function(X) < 0, -1, 1)

    @property
    def _n_features_out(self):
        """Number of latent features, for ``get_feature_names_out``."""
        return int(self.encoder_.output.shape[-1])

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
        from ._persistence import save

        save(self, path)

    # ------------------------------------------------------------------
    # Pickling: Keras models pickle natively, but encoder_ and decoder_
    # share model_'s layers. Pickling model_ alone and re-deriving the two
    # keeps them sharing weights after a round trip.

    def __getstate__(self):
        state = dict(super().__getstate__())
        state.pop("encoder_", None)
        state.pop("decoder_", None)
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        if "model_" in state:
            self.encoder_, self.decoder_ = split_autoencoder(self.model_)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        tags.input_tags.allow_nan = False
        return tags
