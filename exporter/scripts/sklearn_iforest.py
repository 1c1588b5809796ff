#!/usr/bin/python3
"""Reference scores from scikit-learn's IsolationForest for the agreement tests and the speed benchmark.

Usage:
  sklearn_iforest.py score IN.f64 D OUT.f64 [TREES] [SAMPLES] [SEED]
      fits on the rows of IN.f64 (raw little-endian float64, row-major, D columns) and writes
      score_samples negated (= s(x, n) of Liu et al., higher = more anomalous) as float64.
  sklearn_iforest.py speed D N_SCORE [TRAIN]
      prints JSON {fit_ms, score_points_per_s} for random normal data, single thread.
"""
import json
import sys
import time

import numpy as np
from sklearn.ensemble import IsolationForest


def main(argv):
    if argv[1] == "score":
        d = int(argv[3])
        x = np.fromfile(argv[2], dtype="<f8").reshape(-1, d)
        trees = int(argv[5]) if len(argv) > 5 else 100
        samples = int(argv[6]) if len(argv) > 6 else 256
        seed = int(argv[7]) if len(argv) > 7 else 0
        f = IsolationForest(n_estimators=trees, max_samples=samples, random_state=seed, n_jobs=1).fit(x)
        (-f.score_samples(x)).astype("<f8").tofile(argv[4])
    elif argv[1] == "speed":
        d, n = int(argv[2]), int(argv[3])
        train = int(argv[4]) if len(argv) > 4 else 10000
        rng = np.random.default_rng(7)
        x = rng.standard_normal((n, d))
        t0 = time.process_time()
        f = IsolationForest(n_estimators=100, max_samples=256, random_state=0, n_jobs=1).fit(x[:train])
        fit = time.process_time() - t0
        t0 = time.process_time()
        f.score_samples(x)
        t = time.process_time() - t0
        print(json.dumps({"fit_ms": fit * 1000, "score_points_per_s": n / t, "sklearn": __import__("sklearn").__version__}))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
