"""The plan of a model's inference on this machine, and the warning of a costly one.

Kept apart from :mod:`skae._inference`, which imports Keras: ``skae``'s
public names import nothing heavy until they are used, and these two are
plain Python.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["WARN_RATIO", "InferenceCostWarning", "InferencePlan"]

#: The estimated bulk cost, against the fastest call probed, past which ``transform`` warns.
WARN_RATIO = 2.0


class InferenceCostWarning(UserWarning):
    """The inference plan that keeps a row's bits its own costs more than twice the bare call in bulk.

    ``transform`` warns once per network and process (see
    :meth:`AutoencoderTransformer.inference_plan
    <skae.AutoencoderTransformer.inference_plan>` and ``inference="fast"``).
    """


@dataclass(frozen=True)
class InferencePlan:
    """How ``transform`` runs a model on this machine: the call sizes in use, and why.

    A fitted estimator's :meth:`~skae.AutoencoderTransformer.inference_plan`
    returns it; ``str(plan)`` says it in words. Each parameter is an
    attribute of the same name.

    Parameters
    ----------
    backend : str
        The Keras backend.
    mode : {"exact", "fast"}
        ``"exact"``: a row's output has the same bits in any batch, at any
        position. ``"fast"``: blocks of rows run as one call each, as a
        plain Keras call would; a row's last bits may depend on its batch.
    small : int
        Rows of a call for the last few rows of an input (1 row is padded to
        ``small``). 0 in the fast mode, which pads nothing.
    large : int
        Rows of a bulk chunk (in the fast mode, of one call).
    step : int
        Rows of one call inside a bulk chunk; ``large`` where a chunk is one call.
    loop : {"one call", "compiled loop", "calls"}
        How a bulk chunk runs: one call of ``large`` rows, ``large / step``
        calls inside one ``jax.lax.map``, or ``large / step`` calls from Python.
    block_loop : bool or None
        Whether a block of bulk chunks (up to 16 MiB of input) runs as one
        call of a compiled loop over them (``tf.map_fn``), rather than
        chunk by chunk. TensorFlow only, where a chunk is one call: the
        loop is built at the first input of two chunks or more in a block,
        and kept where it gives two chunks of probe rows the bits of each
        chunk's own call; None until then. False on JAX and PyTorch, whose
        calls from Python cost little, and in the fast mode.
    agreeing : tuple of int
        The probed call sizes that give a row the bits of the ``small``-row
        call, at every position probed.
    groups : tuple of tuple of int
        Every group of probed sizes that agree with each other (sizes whose
        calls changed a row's bits with its position are left out).
    one_row_ratio, bulk_ratio : float or None
        Estimated while probing: the time of the ``small``-row call over a
        1-row call, and the time per row of the bulk over the fastest call
        probed. None in the fast mode, and ``one_row_ratio`` also where the
        defaults were kept without probing the ladder (it decides nothing
        there).
    probe_seconds : float
        What choosing the plan took (compilation included).
    reason : str
        Why this plan, in one sentence.
    """

    backend: str
    mode: str
    small: int
    large: int
    step: int
    loop: str
    block_loop: bool | None = False
    agreeing: tuple = ()
    groups: tuple = ()
    one_row_ratio: float | None = None
    bulk_ratio: float | None = None
    probe_seconds: float = 0.0
    reason: str = ""

    def __str__(self):
        if self.mode == "fast":
            return (
                f"{self.backend}, fast: blocks of up to {self.large} rows, one call each; a row's last bits may "
                f"depend on its batch. {self.reason}"
            )
        one_row = "" if self.one_row_ratio is None else f"1 row {self.one_row_ratio:.2f}x, "
        bulk = {
            "one call": f"one call of {self.large} rows",
            "compiled loop": f"{self.large // self.step} calls of {self.step} rows in one compiled loop",
            "calls": f"{self.large // self.step} calls of {self.step} rows",
        }[self.loop]
        if self.block_loop:
            bulk += "; a block of chunks in one compiled loop"
        return (
            f"{self.backend}, exact: bulk in chunks of {self.large} rows ({bulk}), the rest in calls of "
            f"{self.small} rows; sizes that compute a row alike here: {list(self.agreeing)}. Estimated cost "
            f"against the bare call: {one_row}bulk {self.bulk_ratio:.2f}x. "
            f"{self.reason} (chosen in {self.probe_seconds:.2f} s)"
        )
