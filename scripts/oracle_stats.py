#!/usr/bin/env python3
"""SciPy oracle for ser::eval::stats (src/eval/stats.cpp).

Reads fixed predictions of two results over the same items from a CSV with the header
unit,truth,pred_a,pred_b (one repeat; units are 0..n_units-1) and prints, as one JSON object,
what SciPy computes for them:

    {"scipy": "1.10.1",
     "point": {"a": {"accuracy":..,"balanced_accuracy":..,"macro_f1":..}, "b": {..}},
     "bootstrap": {"a": {metric: {"low","high","se_low","se_high"}}, "difference": {..}},
     "permutation": {"pvalue":.., "n":.., "exact":..},
     "binomtest": [[b, c, pvalue], ...]}

bootstrap:   scipy.stats.bootstrap((unit indices,), statistic, method="percentile",
             vectorized=False) where the statistic expands the drawn units into their items
             (with multiplicity) and computes the metric; "difference" uses A - B on the same
             draw. se_low/se_high: Monte-Carlo standard error of each endpoint, estimated from
             SciPy's bootstrap distribution (endpoint_se), for the caller's tolerance.
permutation: scipy.stats.permutation_test over units, permutation_type="samples",
             alternative="two-sided", statistic UAR(A) - UAR(B): each unit's A/B labels swap.
binomtest:   scipy.stats.binomtest(b, b + c, 0.5).pvalue for each --mcnemar pair (1 when b+c=0).

Metrics follow sklearn's accuracy, balanced_accuracy and macro F1 over the classes present in
truth or predictions (ser::eval::compute_metrics). Needs numpy and scipy (Debian:
python3-scipy; run it with /usr/bin/python3 when another python3 comes first on PATH).

Example:
    scripts/oracle_stats.py --csv preds.csv --n-classes 4 --resamples 4000 \
        --permutations 4000 --seed 1 --mcnemar 0,5 40,60 0,0
"""
import argparse
import json

import numpy as np
import scipy
from scipy import stats

METRICS = ("accuracy", "balanced_accuracy", "macro_f1")


def metrics(conf):
    """compute_metrics on a confusion matrix [truth][pred]."""
    tp = np.diag(conf).astype(float)
    support = conf.sum(axis=1).astype(float)
    predicted = conf.sum(axis=0).astype(float)
    n = conf.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted > 0, tp / predicted, 0.0)
        recall = np.where(support > 0, tp / support, 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    present_true = support > 0
    present_any = present_true | (predicted > 0)
    return {
        "accuracy": float(tp.sum() / n) if n else 0.0,
        "balanced_accuracy": float(recall[present_true].mean()) if present_true.any() else 0.0,
        "macro_f1": float(f1[present_any].mean()) if present_any.any() else 0.0,
    }


def unit_confusions(unit, truth, pred, n_units, k):
    out = np.zeros((n_units, k, k), dtype=np.int64)
    np.add.at(out, (unit, truth, pred), 1)
    return out


def endpoint_se(dist, q):
    """Monte-Carlo standard error of the q-quantile of `dist`: sqrt(q(1-q)/N) / density, the
    density taken both from the order statistics (half the spread between the quantiles
    q -/+ sqrt(q(1-q)/N)) and from a normal fit; the larger, since the first is 0 on a plateau
    of a discrete statistic."""
    s = np.sqrt(q * (1 - q) / len(dist))
    lo, hi = np.percentile(dist, [100 * max(q - s, 0.0), 100 * min(q + s, 1.0)])
    normal = s / stats.norm.pdf(stats.norm.ppf(q)) * np.std(dist, ddof=1)
    return float(max((hi - lo) / 2, normal))


def bootstrap(units, statistic, args):
    res = stats.bootstrap((units,), statistic, vectorized=False, method="percentile",
                          n_resamples=args.resamples, confidence_level=args.level,
                          random_state=np.random.default_rng(args.seed))
    alpha = (1 - args.level) / 2
    dist = res.bootstrap_distribution
    return {"low": float(res.confidence_interval.low), "high": float(res.confidence_interval.high),
            "se_low": endpoint_se(dist, alpha), "se_high": endpoint_se(dist, 1 - alpha)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--csv", required=True)
    ap.add_argument("--n-classes", type=int, required=True)
    ap.add_argument("--resamples", type=int, default=4000)
    ap.add_argument("--permutations", type=int, default=4000)
    ap.add_argument("--level", type=float, default=0.95)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-bootstrap", action="store_true")
    ap.add_argument("--mcnemar", nargs="*", default=[], help="b,c pairs")
    args = ap.parse_args()

    data = np.loadtxt(args.csv, delimiter=",", skiprows=1, dtype=np.int64, ndmin=2)
    unit, truth, pred_a, pred_b = data.T
    n_units, k = int(unit.max()) + 1, args.n_classes
    conf = {"a": unit_confusions(unit, truth, pred_a, n_units, k),
            "b": unit_confusions(unit, truth, pred_b, n_units, k)}
    units = np.arange(n_units)
    out = {"scipy": scipy.__version__, "numpy": np.__version__,
           "point": {s: metrics(conf[s].sum(axis=0)) for s in ("a", "b")}}

    if not args.no_bootstrap:
        # Each metric on its own call with the same seed: the same resamples for all of them.
        out["bootstrap"] = {"a": {}, "difference": {}}
        for m in METRICS:
            out["bootstrap"]["a"][m] = bootstrap(units, lambda idx: metrics(conf["a"][idx].sum(axis=0))[m], args)
            out["bootstrap"]["difference"][m] = bootstrap(
                units, lambda idx: metrics(conf["a"][idx].sum(axis=0))[m] - metrics(conf["b"][idx].sum(axis=0))[m],
                args)

    # Codes 0..n_units-1 are "unit u with A's predictions", n_units.. "with B's"; the "samples"
    # permutation swaps x[u] and y[u], i.e. the A/B labels of unit u.
    def uar_of(codes):
        c = np.where(codes < n_units, 0, 1)
        u = codes % n_units
        total = conf["a"][u[c == 0]].sum(axis=0) + conf["b"][u[c == 1]].sum(axis=0)
        return metrics(total)["balanced_accuracy"]

    res = stats.permutation_test((units, units + n_units), lambda x, y: uar_of(x) - uar_of(y),
                                 permutation_type="samples", alternative="two-sided", vectorized=False,
                                 n_resamples=args.permutations, random_state=np.random.default_rng(args.seed))
    n_null = len(res.null_distribution)
    out["permutation"] = {"statistic": float(res.statistic), "pvalue": float(res.pvalue), "n": n_null,
                          "exact": bool(2 ** n_units <= args.permutations)}

    out["binomtest"] = []
    for pair in args.mcnemar:
        b, c = (int(v) for v in pair.split(","))
        p = 1.0 if b + c == 0 else float(stats.binomtest(b, b + c, 0.5).pvalue)
        out["binomtest"].append([b, c, p])
    print(json.dumps(out))


if __name__ == "__main__":
    main()
