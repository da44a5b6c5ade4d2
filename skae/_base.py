"""The scikit-learn contract of every skae autoencoder: :class:`AutoencoderTransformer`.

:class:`AutoencoderTransformer` wraps any Keras encoder and decoder. Its
subclasses (:class:`~skae.DenseAutoencoder`, :class:`~skae.ConvAutoencoder`,
:class:`~skae.VariationalAutoencoder`) differ only in how they build that
pair: each overrides :meth:`AutoencoderTransformer._build_encoder_decoder`
and, where it reads images, :meth:`AutoencoderTransformer._layout_request`.

The estimator is thin, as scikit-learn's are: it holds the parameters
(declared once in :mod:`skae._params`), validates X (:mod:`skae._input`)
and runs the fit; the fitted network, ``network_``, is one
:class:`~skae._networks.AutoencoderNetwork` holding the layout, the Keras
models and inference. X goes one way down those layers:

* ``fit``: :func:`~skae._input.check_input` gives float rows and their
  :class:`~skae._layout.SampleLayout`, :meth:`_build_network` builds the
  network for that layout, and :mod:`skae._training`, the one home of
  training, trains it on the layout's samples as the estimator's
  :class:`~skae._training.TrainingPlan` says;
* ``transform``, ``inverse_transform`` and the scores: ``check_input``
  against the fitted layout, then the network's method of the same name.

Warm starts (:mod:`skae._warm_start`) and the scores and outlier threshold
(:mod:`skae._outliers`) are mixins of their own.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, OutlierMixin, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_array, check_is_fitted

from ._docstrings import fill_shared_parameters
from ._input import FLOAT_DTYPES, check_input, check_loss_targets, check_sample_weight, warn_out_of_reach
from ._layout import ANY_ND_INPUT, LayoutRequest, declared_input_shape, n_rows, parse_shape
from ._outliers import ReconstructionScoresMixin
from ._params import LATENT_CONSTRAINTS, SHARED_CONSTRAINTS, RoutedParamsMixin, resolve_epochs, store_init_params
from ._persistence import PlainStateMixin
from ._registry import register_estimator
from ._warm_start import WarmStartMixin

# Keras, and skae's modules that import it (_builders, _guards, _inference,
# _networks, _training, _distribution), are imported inside the methods
# that need them: ``import skae``, building an estimator, ``get_params``,
# ``clone`` and a ``Pipeline`` load no deep-learning framework (see
# ``skae/__init__.py``).

__all__ = ["LATENT_CONSTRAINTS", "SHARED_CONSTRAINTS", "AutoencoderTransformer"]

#: What to change when the training loss stops being finite.
FIT_HINT = (
    "Lower learning_rate, scale X (to [0, 1] for the sigmoid output, or standardise it with "
    "output_activation='linear'), or look for extreme values in X."
)


@fill_shared_parameters
class AutoencoderTransformer(
    RoutedParamsMixin,
    WarmStartMixin,
    ReconstructionScoresMixin,
    PlainStateMixin,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    OutlierMixin,
    BaseEstimator,
):
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
        function ``encoder(input_shape, **encoder_params) -> keras.Model``
        called with the shape of one sample as a tuple, such as ``(784,)``
        or ``(28, 28, 1)``. A model is a template: every ``fit`` trains a
        fresh copy with new weights and never changes the given object. A
        function that names ``n_features_in_``, ``sample_shape``,
        ``data_shape`` or ``meta`` among its parameters also gets that fact
        about the data (``meta``: a dict of the three).
    decoder : keras.Model or callable, default=None
        The network from a latent code back to one sample: a ``keras.Model``
        or a function ``decoder(latent_shape, output_shape,
        **decoder_params) -> keras.Model``, which may ask for the same facts
        as ``encoder``. Its output is the reconstruction as it is: no
        activation is added.
    input_shape : tuple of int or None, default=None
        The shape of one sample as the encoder takes it, one entry may be
        -1 (inferred, as in ``numpy.reshape``). Flat rows, as a ``Pipeline``
        passes them, are reshaped to it. None takes the input shape the
        encoder declares, when it is a built model with one input, and
        otherwise the data's own sample shape. A given ``input_shape`` wins
        over the encoder's declared shape, and ``fit`` raises if the two
        disagree.
    encoder_params : dict or None, default=None
        Keyword arguments of the ``encoder`` function, such as
        ``{"units": 64}``. Each is also a parameter of its own,
        ``encoder__<name>``, in ``set_params``, ``get_params(deep=True)``
        and grid searches (``{"ae__encoder__units": [32, 64]}`` in a
        ``Pipeline``). ``fit`` raises ``ValueError`` for a name the function
        does not take, and for any when ``encoder`` is a ``keras.Model``.
    decoder_params : dict or None, default=None
        Keyword arguments of the ``decoder`` function, as
        ``encoder_params`` are of the encoder's (``decoder__<name>``).
    %(shared_parameters)s

    Attributes
    ----------
    network_ : AutoencoderNetwork
        The fitted network (``skae._networks.AutoencoderNetwork``):
        the layout, the Keras models and inference. ``model_``,
        ``encoder_``, ``decoder_`` and ``layout_`` are its own.
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
        quantile (weighted, with ``sample_weight``) of the scores of the
        training samples, or of 2,048 of them drawn with ``random_state``
        when there are more.
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
    each network through one function compiled the backend's way, reads
    the networks' weights when it runs (there is no cache to clear), and
    gives a row the same bits whatever batch it comes in and wherever it
    sits in it, within one process, backend and machine. The user guide's
    :ref:`serving` page, section "A row's bits in any batch", says how.

    ``sample_weight`` (``fit``, ``partial_fit``, ``score``) scales each
    row's loss; with ``sklearn.set_config(enable_metadata_routing=True)``,
    ``set_fit_request(sample_weight=True)`` has a ``Pipeline`` or a search
    pass it on (user guide, "Sample weights and metadata routing").

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
        "encoder_params": [dict, None],
        "decoder_params": [dict, None],
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
        encoder_params=None,
        decoder_params=None,
        optimizer="adam",
        optimizer_params=None,
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
        inference="exact",
    ):
        store_init_params(self, locals())

    # ------------------------------------------------------------------
    # What a kind of autoencoder says about itself

    def _layout_request(self):
        """How X's rows become the model's samples (plain data; see :mod:`skae._layout`)."""
        if self.input_shape is not None:
            shape, name = parse_shape("input_shape", self.input_shape), "input_shape"
        else:
            shape, name = declared_input_shape(self.encoder), "the encoder's input shape"
        return LayoutRequest(shape=shape, name=name, nd_input=ANY_ND_INPUT, owner=type(self).__name__)

    def _build_encoder_decoder(self, sample_shape, seeds, meta):
        """Return fresh ``(encoder, decoder, latent_shape)`` for samples of ``sample_shape``.

        ``seeds`` is an iterator of ints (:func:`skae._builders.seed_stream`):
        take one for every seeded layer or network built, in order.
        ``meta`` holds the facts about the data a builder may ask for
        (:data:`skae._networks.META_NAMES`). ``latent_shape`` is the shape of
        one code, computed here once.
        """
        from . import _networks

        owner = type(self).__name__
        encoder = _networks.build_network(
            _networks.ENCODER,
            self.encoder,
            (sample_shape,),
            next(seeds),
            owner=owner,
            params=self.encoder_params,
            meta=meta,
        )
        latent = _networks.latent_shape_of(encoder, sample_shape)
        decoder = _networks.build_network(
            _networks.DECODER,
            self.decoder,
            (latent, sample_shape),
            next(seeds),
            owner=owner,
            params=self.decoder_params,
            meta=meta,
        )
        return encoder, decoder, latent

    def _check_routed_params(self):
        """Refuse routed parameters that cannot reach their builder or optimizer, before anything is built."""
        from . import _builders, _networks

        owner, routes = type(self).__name__, self._routes()
        for role in (_networks.ENCODER, _networks.DECODER):
            if role in routes:
                _networks.check_routed(role, getattr(self, role), getattr(self, routes[role]), owner=owner)
        if self.optimizer_params:
            _builders.make_optimizer(self.optimizer, self.learning_rate, self.optimizer_params)

    # ------------------------------------------------------------------
    # Fitted attributes: the network's

    @property
    def model_(self):
        """The autoencoder ``keras.Sequential``: layers ``[encoder_, decoder_]``."""
        return self.network_.model

    @property
    def encoder_(self):
        """The trained encoder, ``model_``'s first layer."""
        return self.network_.encoder

    @property
    def decoder_(self):
        """The trained decoder, ``model_``'s last layer."""
        return self.network_.decoder

    @property
    def layout_(self):
        """The layout (``SampleLayout``) of the samples ``fit`` got: ``sample_shape`` and ``data_shape``."""
        return self.network_.layout

    # ------------------------------------------------------------------
    # Fitting

    def fit(self, X, y=None, sample_weight=None):
        """Train the autoencoder to reconstruct X.

        Parameters
        ----------
        X : array-like, scipy sparse matrix or sparse array of shape (n_samples, n_features) or (n_samples, ...)
            Training data: flat rows, or samples of their own shape (images)
            where the estimator takes them. A sparse matrix or sparse array
            (``csr_array``; other formats are converted to CSR) is taken
            where the model's samples are flat rows, and densified one batch
            at a time; a model that reads images raises ``TypeError`` for it.
        y : None
            Ignored; present for API consistency.
        sample_weight : array-like of shape (n_samples,) or None, default=None
            Weight of each sample's loss, validation rows included (so
            ``val_loss`` and early stopping are weighted), and of its score
            in ``offset_``'s quantile. The weights are rescaled to mean 1,
            so a sample of weight 2 counts as that sample twice and their
            scale leaves the learning rate alone; weights all alike are no
            weights, bit for bit. None weighs the samples alike.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._train(X, sample_weight, resume=self.warm_start, epochs=self.epochs)

    def partial_fit(self, X, y=None, sample_weight=None):
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
        sample_weight : array-like of shape (n_samples,) or None, default=None
            Weight of each sample of the chunk, as in ``fit``.

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
        return self._train(X, sample_weight, resume=True, epochs=1)

    def _train(self, X, sample_weight, *, resume, epochs, checked=False):
        """Check, build (unless ``resume``), train and record: ``fit`` and ``partial_fit``.

        ``checked``: X is float samples, and ``sample_weight`` the output of
        ``check_sample_weight``, that another estimator validated already
        (deep clustering's pretraining): X's values and the weights are not
        read again. A failed call leaves a fitted estimator as it was (see
        ``_rollback``).
        """
        from ._rollback import Rollback

        with Rollback(self) as rollback:
            resume = self._check_params(resume)
            # Keras, once the parameters are known to be valid.
            from . import _training

            layout = self.network_.layout if resume else None
            request = None if resume else self._layout_request()
            rows, layout = check_input(self, X, layout=layout, request=request, finite=checked)
            check_loss_targets(rows, self.loss, type(self).__name__)
            weights = sample_weight if checked else check_sample_weight(sample_weight, n_rows(rows))
            if resume:
                rollback.keep(self.network_.model)
            else:
                warn_out_of_reach(rows, self._output_activation(), type(self).__name__)
            trainer = _training.Trainer(self.distribute_strategy)
            done = len(self.history_.get("loss", ())) if resume else 0
            seed = trainer.agree(rows, self, self._fit_seed(done))
            network = self.network_ if resume else self._build_network(layout, seed, trainer)
            x = network.to_model(rows.astype(np.float32, copy=False))
            epochs = resolve_epochs(epochs, n_rows(rows))
            plan = self._training_plan(network, seed, weights)
            history = self._fit_epochs(trainer, network, x, plan, initial_epoch=done, epochs=epochs)
            if not resume:
                self.network_ = network
                self._record_built()
            self._record_history(history, resume=resume)
            self.offset_ = self._offset(network, rows, seed, weights)
        return self

    def _check_params(self, resume):
        """Validate the parameters for a fit; return whether it continues the current model."""
        self._validate_params()
        if self.noise == "mask" and self.noise_level >= 1:
            raise ValueError(
                f"noise='mask' needs a masking probability noise_level in [0, 1); got noise_level={self.noise_level}."
            )
        resume = resume and hasattr(self, "network_")
        if resume:
            self._check_model_params_unchanged()
        self._check_routed_params()
        return resume

    def _output_activation(self):
        """Return the ``output_activation`` skae builds, for the reach check; None for the user's own network."""
        return self.get_params(deep=False).get("output_activation")

    def _fit_seed(self, done):
        """Return this call's seed: from ``random_state``, moved on by the ``done`` epochs of a continuation."""
        # A different shuffle for every continuation, still reproducible.
        top = np.iinfo(np.int32).max
        return (int(check_random_state(self.random_state).randint(top)) + done) % top

    def _build_network(self, layout, seed, trainer):
        """Build the encoder and decoder for ``layout``, compose and compile them in the trainer's scope."""
        from . import _builders, _networks, _training

        meta = {
            "n_features_in_": self.n_features_in_,
            "sample_shape": layout.sample_shape,
            "data_shape": layout.data_shape,
        }
        with trainer.build_scope():
            encoder, decoder, latent = self._build_encoder_decoder(
                layout.sample_shape, _builders.seed_stream(seed), meta
            )
            network = _networks.AutoencoderNetwork.build(
                encoder, decoder, layout, latent_l1=self.latent_l1, latent_shape=latent
            )
            optimizer = _builders.make_optimizer(self.optimizer, self.learning_rate, self.optimizer_params)
            _training.compile_for_training(network.model, optimizer=optimizer, loss=self.loss)
        return network

    def _training_plan(self, network, seed, sample_weight):
        """Return the :class:`~skae._training.TrainingPlan` of this fit: the training parameters as plain data."""
        from ._training import TrainingPlan, loss_axes

        return TrainingPlan(
            owner=type(self).__name__,
            hint=FIT_HINT,
            batch_size=self.batch_size,
            seed=seed,
            noise=self.noise,
            noise_level=self.noise_level,
            sample_weight=sample_weight,
            weight_axes=0 if sample_weight is None else loss_axes(self.loss, network.layout.sample_shape),
            validation_fraction=self.validation_fraction,
            early_stopping=self.early_stopping,
            patience=self.patience,
            callbacks=tuple(self.callbacks or ()),
            verbose=self.verbose,
            **network.image_moves(self.shift, self.rotation, owner=type(self).__name__),
        )

    def _fit_epochs(self, trainer, network, x, plan, **epochs):
        """Train ``network.model`` on ``x`` as ``plan`` says (a kind whose loss is not the model's overrides it)."""
        return trainer.fit_epochs(network.model, x, plan, **epochs)

    # ------------------------------------------------------------------
    # Inference: validate X against the fitted layout, then the network

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
        rows, _ = check_input(self, X, layout=self.network_.layout)
        return self.network_.transform(rows, self.inference)

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
        if Z.shape[1] != self.network_.n_latent:
            raise ValueError(
                f"X has {Z.shape[1]} features, but {type(self).__name__}.inverse_transform "
                f"expects latent codes of {self.network_.n_latent} features "
                "(the output of transform)."
            )
        return self.network_.inverse_transform(Z, self.inference)

    def inference_plan(self, part="encoder"):
        """Return how this machine runs the encoder and decoder: the call sizes in use, and why.

        With ``inference="exact"`` (the default), the first use of the
        encoder or decoder on this machine and process chooses the call sizes whose
        kernels give a row the same bits alone or among any rows, by
        measurement; this method chooses them if nothing has run yet.

        Parameters
        ----------
        part : {"encoder", "decoder"}, default="encoder"
            The encoder runs ``transform`` and, with the decoder, the scores; the decoder
            ``inverse_transform``.

        Returns
        -------
        plan : InferencePlan
            The sizes, what the probe measured they cost against the bare
            call, and why; ``print(plan)`` says it in words.

        Examples
        --------
        >>> import numpy as np
        >>> from skae import DenseAutoencoder
        >>> X = np.random.default_rng(0).random((100, 20), dtype=np.float32)
        >>> ae = DenseAutoencoder(hidden_layer_sizes=(8,), latent_dim=2, epochs=1, random_state=0).fit(X)
        >>> plan = ae.inference_plan()
        >>> plan.mode, plan.small <= plan.large
        ('exact', True)
        """
        check_is_fitted(self)
        return self.network_.inference_plan(part, self.inference)

    @property
    def _n_features_out(self):
        """Number of latent features, for ``get_feature_names_out``."""
        return self.network_.n_latent

    # ------------------------------------------------------------------
    # Saving: ``save`` (``PlainStateMixin``) writes the format-3 file, and
    # pickling and skops the network's state, through one codec
    # (:mod:`skae._persistence`).

    def _saved_state(self):
        """Return the Keras models ``save`` writes besides the fitted attributes (see :mod:`skae._persistence`)."""
        return {"models": {"model_": self.network_.model}}

    def _restore_saved_state(self, *, fitted, models, estimators):
        """Take back a loaded state: the fitted attributes, and the network of its model and layout."""
        from . import _networks

        fitted = dict(fitted)
        layout = fitted.pop("layout_")
        super()._restore_saved_state(fitted=fitted, models=models, estimators=estimators)
        self.network_ = _networks.AutoencoderNetwork.restore(models["model_"], layout)
        self._record_built()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        tags.input_tags.allow_nan = False
        tags.input_tags.three_d_array = True
        # One rule for every estimator: sparse rows where the model's samples
        # are flat rows (LayoutRequest.takes_sparse).
        try:
            tags.input_tags.sparse = self._layout_request().takes_sparse
        except ValueError:  # an invalid shape parameter: fit will say so
            tags.input_tags.sparse = False
        return tags


register_estimator(AutoencoderTransformer)
