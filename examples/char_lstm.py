"""A character-level LSTM language model on English text that ships with Python.

The corpus is the documentation inside the Python standard library (the docstrings of a
fixed list of modules, their classes and functions), so it runs offline. The model reads
windows of characters and predicts each next one: ``Embedding -> LSTM(return_sequences)
-> Dense(vocabulary)`` with the sparse cross-entropy at every step. Its validation
perplexity, ``exp(cross-entropy)``, is compared with the unigram baseline (predicting every
character by its frequency alone): the LSTM's must be far lower, because it learns
spelling, words and punctuation from the context. The script ends by sampling text.

Run: ``python examples/char_lstm.py`` (a few minutes on two cores); ``--epochs``,
``--units`` and ``--chars`` change the budget.
"""

import argparse
import importlib
import inspect

import numpy as np

import lapenna as lp

MODULES = [
    "argparse",
    "collections",
    "functools",
    "itertools",
    "json",
    "logging",
    "pathlib",
    "re",
    "string",
    "textwrap",
    "typing",
    "unittest",
    "datetime",
    "random",
    "statistics",
    "heapq",
    "bisect",
    "csv",
    "shutil",
    "subprocess",
    "threading",
    "queue",
    "contextlib",
    "dataclasses",
    "enum",
    "fractions",
    "decimal",
    "difflib",
    "pprint",
    "tempfile",
]


def stdlib_text(max_chars=400_000):
    """Docstrings of ``MODULES`` and their public members, joined; deterministic for a
    given Python version."""
    parts, seen = [], set()
    for name in MODULES:
        module = importlib.import_module(name)
        for obj in [
            module,
            *(getattr(module, n) for n in sorted(dir(module)) if not n.startswith("_")),
        ]:
            doc = (
                inspect.getdoc(obj)
                if inspect.ismodule(obj) or inspect.isclass(obj) or inspect.isroutine(obj)
                else None
            )
            if doc and doc not in seen:
                seen.add(doc)
                parts.append(doc)
    return "\n\n".join(parts)[:max_chars]


def encode(text, min_count=20):
    """``(ids, vocabulary)``: characters seen fewer than ``min_count`` times become id 0."""
    chars, counts = np.unique(list(text), return_counts=True)
    vocabulary = ["?"] + [c for c, n in zip(chars, counts) if n >= min_count]
    index = {c: i for i, c in enumerate(vocabulary)}
    return np.array([index.get(c, 0) for c in text], dtype="int64"), vocabulary


def windows(ids, length):
    """Non-overlapping ``(inputs, next characters)`` windows of ``length``."""
    n = (len(ids) - 1) // length
    x = ids[: n * length].reshape(n, length)
    y = ids[1 : n * length + 1].reshape(n, length)
    return x, y


def unigram_perplexity(train_ids, val_ids, size):
    counts = np.bincount(train_ids, minlength=size) + 1.0
    p = counts / counts.sum()
    return float(np.exp(-np.mean(np.log(p[val_ids]))))


def build(vocabulary_size, units=128, embedding_dim=32):
    model = lp.Sequential(
        [
            lp.layers.Input((None,), dtype="int64"),
            lp.layers.Embedding(vocabulary_size, embedding_dim),
            lp.layers.LSTM(units, return_sequences=True),
            lp.layers.Dense(vocabulary_size),
        ],
        name="char_lstm",
    )
    model.compile(
        optimizer=lp.optimizers.Adam(0.005),
        loss=lp.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    return model


def sample(model, vocabulary, seed_text, length=200, temperature=0.6, seed=0):
    """Extend ``seed_text`` one character at a time (the whole text is re-read each step)."""
    rng = np.random.default_rng(seed)
    index = {c: i for i, c in enumerate(vocabulary)}
    ids = [index.get(c, 0) for c in seed_text]
    for _ in range(length):
        logits = model.predict(np.array([ids[-100:]]), verbose=0)[0, -1] / temperature
        p = np.exp(logits - logits.max())
        ids.append(int(rng.choice(len(p), p=p / p.sum())))
    return "".join(vocabulary[i] for i in ids)


def main(chars=400_000, length=100, epochs=3, units=128, batch_size=64, seed=0, verbose=0):
    """Train; returns validation perplexities per epoch, the unigram baseline and a sample."""
    lp.set_seed(seed)
    ids, vocabulary = encode(stdlib_text(chars))
    split = int(len(ids) * 0.9)
    (x, y), (x_val, y_val) = windows(ids[:split], length), windows(ids[split:], length)
    model = build(len(vocabulary), units)
    history = model.fit(
        x,
        y,
        batch_size=batch_size,
        epochs=epochs,
        validation_data=(x_val, y_val),
        verbose=verbose,
    )
    perplexity = [float(np.exp(v)) for v in history.history["val_loss"]]
    baseline = unigram_perplexity(ids[:split], ids[split:], len(vocabulary))
    text = sample(model, vocabulary, "Return the ", length=120)
    print(f"vocabulary {len(vocabulary)}, {len(x)} training windows of {length}")
    print("validation perplexity by epoch: " + " ".join(f"{p:.2f}" for p in perplexity))
    print(f"unigram baseline perplexity: {baseline:.2f}")
    print(f"sample: {text!r}")
    return {"perplexity": perplexity, "unigram": baseline, "sample": text}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chars", type=int, default=400_000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--units", type=int, default=128)
    args = parser.parse_args()
    main(args.chars, epochs=args.epochs, units=args.units)
