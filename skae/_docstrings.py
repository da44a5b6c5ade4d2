"""One source for the docs of the parameters every skae estimator shares.

Each estimator repeats the shared training parameters in its ``__init__``
signature, because scikit-learn reads parameters from the signature. Their
documentation is written once, here, and put into each class's docstring
where it says ``%(shared_parameters)s``: copies cannot drift apart. A class
that documents one of them itself (the VAE's own ``loss`` default, say)
keeps its text, and the shared one is left out.
"""

from __future__ import annotations

import re
import textwrap

SHARED_PARAMETERS = {
    "optimizer": (
        'str or keras.optimizers.Optimizer, default="adam"',
        "Optimizer name or instance. An instance is copied from its config on every fit, so it is never "
        "shared between fitted models.",
    ),
    "learning_rate": (
        "float or None, default=None",
        "Learning rate; None keeps the optimizer's own (Adam: 0.001).",
    ),
    "loss": ('str or callable, default="mse"', "Keras reconstruction loss."),
    "epochs": ("int, default=20", "Number of passes over the training data."),
    "batch_size": ("int, default=256", "Samples per gradient step."),
    "validation_fraction": (
        "float in [0, 1), default=0.0",
        "Fraction of the samples held out to report ``val_loss`` in ``history_``; early stopping watches it "
        "when it is above 0.",
    ),
    "early_stopping": (
        "bool, default=False",
        "Stop when the monitored loss has not improved for ``patience`` epochs, and keep the best epoch's weights.",
    ),
    "patience": ("int, default=5", "Epochs without improvement before early stopping ends training."),
    "callbacks": (
        "list of keras.callbacks.Callback or None, default=None",
        "Extra Keras callbacks, passed to ``model.fit`` as they are.",
    ),
    "random_state": (
        "int, RandomState instance or None, default=None",
        "Seeds every random draw of ``fit``: weight initialisation, shuffling, the validation split, training "
        "noise (and deep clustering's KMeans). An int makes fits "
        "on the same data reproducible on CPU. No global random generator (NumPy's, Keras's or "
        "TensorFlow's) is reseeded.",
    ),
    "verbose": ("int, default=0", "Keras's verbosity: 0 silent, 1 progress bar, 2 one line per epoch."),
    "noise": (
        '{"gaussian", "mask"} or None, default=None',
        'Corrupt the inputs while training, not the targets, to learn a denoising autoencoder: "gaussian" '
        'adds ``noise_level`` times standard normal noise, "mask" sets each value to 0 with probability '
        "``noise_level``. Fresh noise is drawn for every batch (seeded by ``random_state``); "
        "``transform``, ``inverse_transform`` and scoring never add noise. None trains on clean inputs.",
    ),
    "noise_level": (
        "float >= 0, default=0.1",
        "Standard deviation of the Gaussian noise, or the masking probability (then below 1). Ignored when "
        "``noise=None``.",
    ),
    "shift": (
        "float in [0, 1), default=0.0",
        "Image augmentation: train on copies of the images moved by up to this fraction of their height and "
        "width (rounded to whole pixels; 0.1 is up to 3 pixels of a 28x28 digit), a fresh random move for every "
        "batch (seeded by ``random_state``), with the uncovered border filled with zeros, as "
        "``keras.layers.RandomTranslation`` does. Input and target move together, so the model learns from "
        "more images rather than to undo the move (unlike ``noise``). Needs image samples: X given as images "
        "``(n_samples, height, width[, channels])``, or a model that reads its flat rows as images (a "
        ":class:`~skae.ConvAutoencoder`). ``transform`` and scoring never move anything. 0 trains on the images "
        "as they are.",
    ),
    "rotation": (
        "float in [0, 180], default=0.0",
        "Image augmentation: also turn each training image about its centre by a random angle of up to this "
        "many degrees either way (resampled bilinearly, the uncovered corners filled with zeros), drawn with "
        "the moves of ``shift``, as ``keras.layers.RandomRotation`` does; DEC-DA (Guo et al., 2018) turns "
        "MNIST digits by up to 10 degrees. Needs image samples, as ``shift`` does. 0 turns nothing.",
    ),
    "latent_l1": (
        "float >= 0, default=0.0",
        "Weight of an L1 activity penalty on the latent code (the mean over the batch of "
        "``latent_l1 * sum(abs(z))``), which pushes codes towards sparsity. It is a "
        "``keras.layers.ActivityRegularization`` layer named ``latent_l1`` between the encoder and the "
        "decoder in ``model_``; 0 adds none.",
    ),
    "contamination": (
        "float in (0, 0.5], default=0.1",
        "Expected fraction of outliers in the training data. ``offset_``, the threshold of ``predict``, "
        "is that quantile of the training samples' ``score_samples``: of all of them up to 2,048 samples, "
        "else of 2,048 drawn with ``random_state``, which keeps the threshold to a small part of the cost of "
        "a fit (a full pass over the training data took a sixth of a two-epoch fit).",
    ),
    "warm_start": (
        "bool, default=False",
        "When True and the estimator is fitted, ``fit`` trains the current model ``epochs`` more epochs "
        "instead of building a new one. Only training parameters (``epochs``, ``batch_size``, "
        "``callbacks``, ...) may change in between.",
    ),
    "distribute_strategy": (
        '{"default", "mirrored"}, strategy object or None, default=None',
        'Data-parallel training. "mirrored" trains one model on every local device (GPUs, or virtual CPU '
        "devices): TensorFlow's MirroredStrategy under the tensorflow backend, "
        'keras.distribution.DataParallel under jax; the torch backend has none and raises. "default" uses '
        "the strategy or distribution already set. The strings build the strategy at fit time, which keeps "
        "the estimator clonable and picklable; a tf.distribute.Strategy (tensorflow) or a "
        "keras.distribution.Distribution (jax) is used as given. None trains on one device.",
    ),
}

MARKER = "%(shared_parameters)s"


def _documented(doc):
    return set(re.findall(r"^\s{4}(\w+) : ", doc, flags=re.MULTILINE))


def format_parameters(names, indent="    "):
    """Return the numpydoc entries of the shared parameters ``names``."""
    lines = []
    for name in names:
        kind, text = SHARED_PARAMETERS[name]
        lines.append(f"{indent}{name} : {kind}")
        lines.extend(
            textwrap.wrap(
                text, width=79 - len(indent) - 4, initial_indent=indent + "    ", subsequent_indent=indent + "    "
            )
        )
    return "\n".join(lines)


def fill_shared_parameters(cls):
    """Class decorator: put the shared parameters' docs where the marker is.

    The marker stands alone on a line, indented like the other parameter
    entries, in the Parameters section. Parameters that the docstring
    already documents are skipped.
    """
    doc = cls.__doc__
    if doc is None or MARKER not in doc:
        raise ValueError(f"{cls.__name__}'s docstring lacks the line {MARKER!r}.")
    mine = _documented(doc.replace(MARKER, ""))
    # Only the shared parameters this class has (deep clustering has few).
    own = set(cls._get_param_names())
    names = [name for name in SHARED_PARAMETERS if name not in mine and name in own]
    cls.__doc__ = doc.replace(f"    {MARKER}", format_parameters(names))
    return cls
