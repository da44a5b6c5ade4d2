"""Write the format-3 estimator files that ``tests/test_persistence.py`` loads.

These files were written by skae at commit 25c593f, the last commit before
the fitted network became one object (``network_``), on TensorFlow, on the
CPU. The test checks that they still load and give bit-identical output;
run this again only to add a file, never to refresh one.

    python tests/data/make_format3.py
"""

from pathlib import Path

import keras
import numpy as np
from sklearn.datasets import load_digits

from skae import AutoencoderTransformer, ConvAutoencoder, DeepEmbeddedClustering, DenseAutoencoder

HERE = Path(__file__).parent


def main():
    X = load_digits().data[:300].astype(np.float32) / 16.0
    images = X.reshape(-1, 8, 8)
    probe = X[:20]
    dense = DenseAutoencoder(hidden_layer_sizes=(16,), latent_dim=4, epochs=2, random_state=0).fit(X)
    conv = ConvAutoencoder(filters=(4,), latent_dim=3, epochs=1, random_state=0).fit(images)
    encoder = keras.Sequential([keras.Input((64,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(2)])
    decoder = keras.Sequential([keras.Input((2,)), keras.layers.Dense(64, activation="sigmoid")])
    own = AutoencoderTransformer(encoder, decoder, epochs=1, random_state=0).fit(X)
    dec = DeepEmbeddedClustering(
        3,
        autoencoder=DenseAutoencoder(hidden_layer_sizes=(16,), latent_dim=3),
        pretrain_epochs=2,
        max_iter=20,
        random_state=0,
    ).fit(X)
    outputs = {}
    for name, est in {"dense": dense, "conv": conv, "own": own}.items():
        est.save(HERE / f"format3_{name}.skae")
        outputs[f"{name}_transform"] = est.transform(probe)
        outputs[f"{name}_inverse"] = est.inverse_transform(outputs[f"{name}_transform"])
        outputs[f"{name}_scores"] = est.score_samples(probe)
    dec.save(HERE / "format3_dec.skae")
    outputs["dec_transform"] = dec.transform(probe)
    outputs["dec_proba"] = dec.predict_proba(probe)
    np.savez(HERE / "format3_outputs.npz", probe=probe, **outputs)


if __name__ == "__main__":
    main()
