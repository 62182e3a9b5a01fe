#!/usr/bin/env python3
"""scikit-learn oracle for ser's classic models (src/classic).

Fits scikit-learn's SVC / LogisticRegression on the given (already standardised) training rows
and prints, as one JSON object on stdout, its predictions for the test rows:

    {"sklearn": "1.2.1", "pred": [...], "proba": [[...], ...], "classes": [...],
     "gamma": <SVC's resolved gamma or null>, "n_iter": <solver iterations or null>,
     "fit_seconds": <float>}

Rows: .npy (any float dtype, 2-D) or .csv (numbers only, an optional header line is skipped).
Labels: .npy or .csv/.txt (one integer per line, or one column).

Examples:
    scripts/oracle_classic.py --train Xtr.npy --train-labels ytr.npy --test Xte.npy \
        --model svm --kernel rbf --C 10 --gamma scale
    scripts/oracle_classic.py --train Xtr.npy --train-labels ytr.npy --test Xte.npy \
        --model logreg --multi-class ovr --C 0.1

Settings mirror ser::classic::ClassicSettings:
    svm:    SVC(kernel, C, gamma ("scale" or a number), probability, tol, cache_size,
                class_weight, random_state=seed)
    logreg: ovr         -> LogisticRegression(solver="liblinear", C, tol, class_weight)
            multinomial -> LogisticRegression(solver="lbfgs", multi_class="multinomial", C, tol,
                                              max_iter, class_weight)
Needs numpy and scikit-learn (Debian: python3-sklearn; run it with /usr/bin/python3 when another
python3 comes first on PATH).
"""
import argparse
import json
import sys
import time
import warnings

import numpy as np


def load_array(path, ndmin):
    """A .npy file, or a CSV with or without a header line."""
    if path.endswith(".npy"):
        return np.load(path)
    with open(path) as f:
        first = f.readline()
    try:
        [float(v) for v in first.strip().split(",") if v != ""]
        skip = 0
    except ValueError:
        skip = 1
    return np.loadtxt(path, delimiter=",", skiprows=skip, ndmin=ndmin)


def load_rows(path):
    a = np.asarray(load_array(path, 2), dtype=np.float64)
    if a.ndim != 2:
        sys.exit(f"oracle_classic: {path}: expected a 2-D array, got shape {a.shape}")
    return a


def load_labels(path):
    a = np.asarray(load_array(path, 1)).reshape(-1)
    if not np.all(a == np.round(a)):
        sys.exit(f"oracle_classic: {path}: labels must be integers")
    return a.astype(np.int64)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--train", required=True)
    p.add_argument("--train-labels", required=True)
    p.add_argument("--test", required=True)
    p.add_argument("--model", choices=["svm", "logreg"], required=True)
    p.add_argument("--C", type=float, default=1.0)
    p.add_argument("--kernel", choices=["rbf", "linear"], default="rbf")
    p.add_argument("--gamma", default="scale", help='"scale" or a number > 0 (<= 0 also means scale)')
    p.add_argument("--probability", type=int, default=1)
    p.add_argument("--tol", type=float, default=None, help="default: 1e-3 (svm), 1e-4 (logreg)")
    p.add_argument("--cache-mb", type=float, default=200)
    p.add_argument("--multi-class", choices=["ovr", "multinomial"], default="ovr")
    p.add_argument("--max-iter", type=int, default=1000)
    p.add_argument("--class-weight", choices=["none", "balanced"], default="none")
    p.add_argument("--seed", type=int, default=42)
    a = p.parse_args()

    import sklearn
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import SVC

    Xtr, ytr, Xte = load_rows(a.train), load_labels(a.train_labels), load_rows(a.test)
    if Xtr.shape[0] != ytr.shape[0]:
        sys.exit(f"oracle_classic: {Xtr.shape[0]} training rows but {ytr.shape[0]} labels")
    if Xte.shape[1] != Xtr.shape[1]:
        sys.exit(f"oracle_classic: test rows have {Xte.shape[1]} columns, training rows {Xtr.shape[1]}")
    cw = None if a.class_weight == "none" else "balanced"

    gamma_out = None
    if a.model == "svm":
        gamma = a.gamma
        if gamma != "scale":
            gamma = float(gamma)
            if gamma <= 0:
                gamma = "scale"
        clf = SVC(C=a.C, kernel=a.kernel, gamma=gamma, probability=bool(a.probability),
                  tol=1e-3 if a.tol is None else a.tol, cache_size=a.cache_mb, class_weight=cw,
                  random_state=a.seed)
    else:
        tol = 1e-4 if a.tol is None else a.tol
        if a.multi_class == "ovr":
            clf = LogisticRegression(C=a.C, solver="liblinear", tol=tol, class_weight=cw)
        else:
            clf = LogisticRegression(C=a.C, solver="lbfgs", multi_class="multinomial", tol=tol,
                                     max_iter=a.max_iter, class_weight=cw)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(Xtr, ytr)
    fit_seconds = time.perf_counter() - t0
    if a.model == "svm":
        gamma_out = float(clf._gamma) if a.kernel == "rbf" else None
    pred = clf.predict(Xte)
    out = {
        "sklearn": sklearn.__version__,
        "pred": [int(v) for v in pred],
        "classes": [int(c) for c in clf.classes_],
        "gamma": gamma_out,
        "n_iter": None if not hasattr(clf, "n_iter_") else [int(v) for v in np.ravel(clf.n_iter_)],
        "fit_seconds": fit_seconds,
    }
    if a.model == "logreg" or a.probability:
        out["proba"] = [[float(v) for v in row] for row in clf.predict_proba(Xte)]
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
