"""The parameters every skae autoencoder shares, each declared once.

A shared parameter is one :class:`Shared` entry of :data:`SHARED`: its
default, its ``_parameter_constraints`` entry, its documentation and whether
it only steers training. Everything else is derived from that table:

* :data:`SHARED_CONSTRAINTS`, which each estimator class spreads into its
  ``_parameter_constraints``;
* :data:`TRAINING_PARAMS`, the parameters a warm start may change;
* the numpydoc entries that :func:`skae._docstrings.fill_shared_parameters`
  puts into each class's docstring.

Each class still lists the shared parameters in its ``__init__`` signature,
because scikit-learn reads the parameters from the signature, and stores
them with :func:`store_init_params`; ``tests/test_structure.py`` checks
that every signature, constraint and docstring agrees with this table.
``CONTRIBUTING.md`` gives the recipe for adding one.

Routed parameters (``encoder__units``, ``optimizer__beta_1``) are here too:
:data:`ROUTES` names, for each prefix, the dict parameter that holds them.
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral, Real

from sklearn.utils._param_validation import HasMethods, Interval, StrOptions

from ._validation import NOISE_KINDS

__all__ = [
    "AUTO_EPOCHS_MAX",
    "AUTO_EPOCHS_SAMPLES",
    "LATENT_CONSTRAINTS",
    "ROUTES",
    "SHARED",
    "RoutedParamsMixin",
    "SHARED_CONSTRAINTS",
    "TRAINING_PARAMS",
    "Shared",
    "refuse_unknown_routed",
    "resolve_epochs",
    "store_init_params",
]

#: ``epochs="auto"``: as many passes as make this many samples, which bounds
#: a fit's time on large data: the clustering preset's dense network then
#: trains 80 epochs on all 70,000 MNIST images and fits within 15 minutes on
#: two CPU cores, where 60 epochs clustered less accurately ...
AUTO_EPOCHS_SAMPLES = 5_600_000
#: ... and at most this many on small data, where more passes did not cluster
#: better (benchmarks/results.md, section 4c, gives both measurements).
AUTO_EPOCHS_MAX = 100


def resolve_epochs(epochs, n_samples):
    """Return a fit's epochs, ``"auto"`` resolved for a fit on ``n_samples`` rows."""
    if epochs != "auto":
        return epochs
    return min(AUTO_EPOCHS_MAX, -(-AUTO_EPOCHS_SAMPLES // max(n_samples, 1)))


@dataclass(frozen=True)
class Shared:
    """One shared parameter: its default, constraints, documentation and role.

    Parameters
    ----------
    default : object
        The default every class's ``__init__`` gives it.
    constraints : list
        Its ``_parameter_constraints`` entry.
    type_text : str
        The numpydoc type, before ``", default=..."``.
    doc : str
        The numpydoc description, one paragraph.
    training : bool, default=False
        Whether it only steers training, so that a warm start may change
        it; any other parameter shapes the model.
    """

    default: object
    constraints: list
    type_text: str
    doc: str
    training: bool = False

    @property
    def kind(self):
        """The numpydoc type line: ``type_text, default=...`` (strings in double quotes)."""
        default = f'"{self.default}"' if isinstance(self.default, str) else repr(self.default)
        return f"{self.type_text}, default={default}"


SHARED = {
    "optimizer": Shared(
        "adam",
        [str, HasMethods(["get_config", "apply"])],
        "str or keras.optimizers.Optimizer",
        "Optimizer name or instance. An instance is copied from its config on every fit, so it is never "
        "shared between fitted models.",
    ),
    "optimizer_params": Shared(
        None,
        [dict, None],
        "dict or None",
        "Keyword arguments of the optimizer, such as ``{'beta_1': 0.95}`` for Adam, set on its config in every "
        "fit. Each is also a parameter of its own, ``optimizer__<name>``, in ``set_params``, "
        "``get_params(deep=True)`` and grid searches. A name the optimizer does not take raises ``ValueError`` "
        "in ``fit``; ``learning_rate`` has its own parameter.",
    ),
    "learning_rate": Shared(
        None,
        [Interval(Real, 0, None, closed="neither"), None],
        "float or None",
        "Learning rate; None keeps the optimizer's own (Adam: 0.001).",
    ),
    "loss": Shared("mse", [str, callable], "str or callable", "Keras reconstruction loss."),
    "epochs": Shared(
        20,
        [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        'int or "auto"',
        'Number of passes over the training data. ``"auto"`` scales them with the data: as many as make '
        f"{AUTO_EPOCHS_SAMPLES:,} samples ({resolve_epochs('auto', 70_000)} passes over 70,000 images), at most "
        f"{AUTO_EPOCHS_MAX}; :func:`skae.presets.clustering_pipeline` trains its autoencoder so.",
        True,
    ),
    "batch_size": Shared(256, [Interval(Integral, 1, None, closed="left")], "int", "Samples per gradient step.", True),
    "validation_fraction": Shared(
        0.0,
        [Interval(Real, 0, 1, closed="left")],
        "float in [0, 1)",
        "Fraction of the samples held out to report ``val_loss`` in ``history_``; early stopping watches it "
        "when it is above 0.",
        True,
    ),
    "early_stopping": Shared(
        False,
        ["boolean"],
        "bool",
        "Stop when the monitored loss has not improved for ``patience`` epochs, and keep the best epoch's weights.",
        True,
    ),
    "patience": Shared(
        5,
        [Interval(Integral, 0, None, closed="left")],
        "int",
        "Epochs without improvement before early stopping ends training.",
        True,
    ),
    "callbacks": Shared(
        None,
        [list, None],
        "list of keras.callbacks.Callback or None",
        "Extra Keras callbacks, passed to ``model.fit`` as they are.",
        True,
    ),
    "random_state": Shared(
        None,
        ["random_state"],
        "int, RandomState instance or None",
        "Seeds every random draw of ``fit``: weight initialisation, shuffling, the validation split, training "
        "noise (and deep clustering's KMeans). An int makes fits "
        "on the same data reproducible on CPU. No global random generator (NumPy's, Keras's or "
        "TensorFlow's) is reseeded.",
        True,
    ),
    "verbose": Shared(
        0, ["verbose"], "int", "Keras's verbosity: 0 silent, 1 progress bar, 2 one line per epoch.", True
    ),
    "noise": Shared(
        None,
        [StrOptions(set(NOISE_KINDS)), None],
        '{"gaussian", "mask"} or None',
        'Corrupt the inputs while training, not the targets, to learn a denoising autoencoder: "gaussian" '
        'adds ``noise_level`` times standard normal noise, "mask" sets each value to 0 with probability '
        "``noise_level``. Fresh noise is drawn for every batch (seeded by ``random_state``); "
        "``transform``, ``inverse_transform`` and scoring never add noise. None trains on clean inputs.",
        True,
    ),
    "noise_level": Shared(
        0.1,
        [Interval(Real, 0, None, closed="left")],
        "float >= 0",
        "Standard deviation of the Gaussian noise, or the masking probability (then below 1). Ignored when "
        "``noise=None``.",
        True,
    ),
    "shift": Shared(
        0.0,
        [Interval(Real, 0, 1, closed="left")],
        "float in [0, 1)",
        "Image augmentation: train on copies of the images moved by up to this fraction of their height and "
        "width (rounded to whole pixels; 0.1 is up to 3 pixels of a 28x28 digit), a fresh random move for every "
        "batch (seeded by ``random_state``), with the uncovered border filled with zeros, as "
        "``keras.layers.RandomTranslation`` does. Input and target move together, so the model learns from "
        "more images rather than to undo the move (unlike ``noise``). Needs image samples: X given as images "
        "``(n_samples, height, width[, channels])``, flat rows with ``image_shape`` where the estimator takes it, "
        "or a model that reads its flat rows as images (a :class:`~skae.ConvAutoencoder`). ``transform`` and "
        "scoring never move anything. 0 trains on the images "
        "as they are.",
        True,
    ),
    "rotation": Shared(
        0.0,
        [Interval(Real, 0, 180, closed="both")],
        "float in [0, 180]",
        "Image augmentation: also turn each training image about its centre by a random angle of up to this "
        "many degrees either way (resampled bilinearly, the uncovered corners filled with zeros), drawn with "
        "the moves of ``shift``, as ``keras.layers.RandomRotation`` does; DEC-DA (Guo et al., 2018) turns "
        "MNIST digits by up to 10 degrees. Needs image samples, as ``shift`` does. 0 turns nothing.",
        True,
    ),
    "latent_l1": Shared(
        0.0,
        [Interval(Real, 0, None, closed="left")],
        "float >= 0",
        "Weight of an L1 activity penalty on the latent code (the mean over the batch of "
        "``latent_l1 * sum(abs(z))``), which pushes codes towards sparsity. It is a "
        "``keras.layers.ActivityRegularization`` layer named ``latent_l1`` between the encoder and the "
        "decoder in ``model_``; 0 adds none.",
    ),
    "contamination": Shared(
        0.1,
        [Interval(Real, 0, 0.5, closed="right")],
        "float in (0, 0.5]",
        "Expected fraction of outliers in the training data. ``offset_``, the threshold of ``predict``, "
        "is that quantile of the training samples' ``score_samples``: of all of them up to 2,048 samples, "
        "else of 2,048 drawn with ``random_state``, which keeps the threshold to a small part of the cost of "
        "a fit (see the anomaly detection section of the user guide).",
        True,
    ),
    "warm_start": Shared(
        False,
        ["boolean"],
        "bool",
        "When True and the estimator is fitted, ``fit`` trains the current model ``epochs`` more epochs "
        "instead of building a new one. Only training parameters (``epochs``, ``batch_size``, "
        "``callbacks``, ...) may change in between.",
        True,
    ),
    "distribute_strategy": Shared(
        None,
        [StrOptions({"default", "mirrored"}), HasMethods(["scope"]), None],
        '{"default", "mirrored"}, strategy object or None',
        'Data-parallel training. "mirrored" trains one model on every local device (GPUs, or virtual CPU '
        "devices): TensorFlow's MirroredStrategy under the tensorflow backend, "
        "keras.distribution.DataParallel under jax, also over several processes and hosts after "
        "keras.distribution.initialize() in each (each process then reads its own slice of every batch); "
        'the torch backend has none and raises. "default" uses '
        "the strategy or distribution already set. The strings build the strategy at fit time, which keeps "
        "the estimator clonable and picklable; a tf.distribute.Strategy (tensorflow) or a "
        "keras.distribution.Distribution (jax) is used as given. None trains on one device.",
        True,
    ),
    "inference": Shared(
        "exact",
        [StrOptions({"exact", "fast"})],
        '{"exact", "fast"}',
        '"exact": ``transform``, ``inverse_transform`` and the scores give a row the same bits alone or among '
        "any rows, at any position, by running inputs in call sizes that this machine's kernels compute alike "
        '(chosen on first use, see ``inference_plan``). "fast": blocks of rows run as one call each, as a plain '
        "Keras call would; a row's last bits may then depend on its batch. It changes no fitted state, so it may "
        "be set after ``fit``.",
        True,
    ),
}

#: Constraints of the shared parameters, for each class's ``_parameter_constraints``.
SHARED_CONSTRAINTS = {name: param.constraints for name, param in SHARED.items()}

#: Parameters that only steer training: a warm start may change them. Any
#: other parameter shapes the model, and changing it needs a fresh fit.
TRAINING_PARAMS = frozenset(name for name, param in SHARED.items() if param.training)

#: Constraints of the parameters of the encoders and decoders skae builds itself.
LATENT_CONSTRAINTS = {
    "latent_dim": [Interval(Integral, 1, None, closed="left")],
    "activation": [str, callable],
    "output_activation": [str, callable, None],
}

#: Routed parameters: ``<prefix>__<name>`` is key ``<name>`` of the dict
#: parameter ``ROUTES[prefix]``, where a class has that parameter.
ROUTES = {"encoder": "encoder_params", "decoder": "decoder_params", "optimizer": "optimizer_params"}


def store_init_params(estimator, arguments):
    """Store each ``__init__`` argument unchanged as the attribute of its name.

    scikit-learn's convention: ``__init__`` only stores its arguments, so
    that ``get_params`` and ``clone`` see them as given. A class's
    ``__init__`` calls ``store_init_params(self, locals())`` after listing
    its parameters in its signature.
    """
    for name, value in arguments.items():
        if name not in ("self", "__class__"):
            setattr(estimator, name, value)


class RoutedParamsMixin:
    """``<prefix>__<name>`` parameters for the dict parameters that :data:`ROUTES` names.

    scikit-learn reads an estimator's parameters from its ``__init__``
    signature, so a builder's own arguments (``units``, ``depth``) cannot be
    parameters of their own without ``**kwargs``, which its estimator
    checks refuse. They live instead in one explicit dict parameter each
    (``encoder_params``), and this mixin shows every key of it as a
    parameter of its own: ``get_params(deep=True)`` lists
    ``encoder__units``, and ``set_params(encoder__units=64)`` sets that key
    of a new dict. ``clone``, ``Pipeline`` (``ae__encoder__units``) and the
    searches then route them like any nested parameter, with no change to
    scikit-learn. A prefix the class has no dict parameter for takes
    scikit-learn's usual path, and so its usual invalid-parameter error.
    """

    def _routes(self):
        """``{prefix: dict parameter}`` of the routes this class has."""
        own = set(self._get_param_names())
        return {prefix: holder for prefix, holder in ROUTES.items() if holder in own}

    def get_params(self, deep=True):
        """Get parameters for this estimator.

        Parameters
        ----------
        deep : bool, default=True
            If True, also return the parameters of contained estimators
            and the routed parameters: each key ``<name>`` of
            ``encoder_params`` (``decoder_params``, ``optimizer_params``)
            as ``encoder__<name>``.

        Returns
        -------
        params : dict
            Parameter names mapped to their values.
        """
        params = super().get_params(deep=deep)
        if deep:
            for prefix, holder in self._routes().items():
                routed = params.get(holder)
                # Validated in fit: set_params stores any value as given.
                for name, value in routed.items() if isinstance(routed, dict) else ():
                    params[f"{prefix}__{name}"] = value
        return params

    def set_params(self, **params):
        """Set the parameters of this estimator.

        ``encoder__<name>`` (``decoder__<name>``, ``optimizer__<name>``)
        sets key ``<name>`` of a copy of ``encoder_params`` (the caller's
        dict is never changed); every other name is set as scikit-learn's
        ``set_params`` sets it.

        Parameters
        ----------
        **params : dict
            Estimator parameters.

        Returns
        -------
        self : estimator instance
            Estimator instance.
        """
        routes = self._routes()
        routed = {}
        for key in list(params):
            prefix, sep, name = key.partition("__")
            if sep and prefix in routes and "__" not in name:
                routed.setdefault(routes[prefix], {})[name] = params.pop(key)
        super().set_params(**params)
        for holder, values in routed.items():
            current = getattr(self, holder)
            setattr(self, holder, {**(current if isinstance(current, dict) else {}), **values})
        return self


def refuse_unknown_routed(params, accepted, *, prefix, what, takes_none="none"):
    """Raise ``ValueError`` for routed ``params`` that ``what`` does not take, naming those it does take.

    Parameters
    ----------
    params : dict
        The routed parameters, by name (``units`` for ``encoder__units``).
    accepted : list of str
        The names ``what`` takes.
    prefix : str
        The route (``"encoder"``), to name the parameters as they were given.
    what : str
        What they are routed to, to start the message ("The optimizer Adam").
    takes_none : str, default="none"
        What the message says ``what`` takes when ``accepted`` is empty.
    """
    unknown = [name for name in params if name not in accepted]
    if unknown:
        raise ValueError(
            f"{what} takes no parameter {', '.join(map(repr, unknown))} (given as "
            f"{', '.join(f'{prefix}__{name}' for name in unknown)}). "
            f"It takes {', '.join(map(repr, accepted)) if accepted else takes_none}."
        )
