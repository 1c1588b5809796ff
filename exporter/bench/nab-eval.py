#!/usr/bin/python3
"""NAB figures per category and overall from ONE load of the data and scores, with ../shared/bench/nab/eval.py's
own functions (imported, not copied): bench/nab.ts calls it once per (settings, seed) instead of running eval.py
seven times.

NAB's score is normalised over the files evaluated together (the null detector and the perfect total of that set),
so each category is evaluated as its own set, exactly as `eval.py --subset <category>/` would. A set without
windows (artificialNoAnomaly) has no normalised score (perfect = null = 0: eval.py would divide by zero); for it the
raw NAB total at the fixed threshold (0 = no false alarm, negative = the false alarms' cost) and the false-alarm
events are reported instead.

Usage: nab-eval.py --eval ../shared/bench/nab/eval.py --data-dir D/data --windows D/labels/combined_windows.json
                   --scores-dir S --json OUT.json [--threshold 0.5]
"""
import argparse
import importlib.util
import json
import sys


def load_eval(path):
    spec = importlib.util.spec_from_file_location("nab_eval", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def fixed_events(E, files, scores, thr):
    """Windows detected and false-alarm events (eval.py's event_metrics) with NAB's alarm rule score >= thr."""
    evs = [E.event_metrics(fd, scores[fd.rel], thr, strict=False) for fd in files]
    return dict(windows=sum(e["windows"] for e in evs), detected=sum(e["detected"] for e in evs),
                fa_events=sum(e["fa_events"] for e in evs))


def evaluate_set(E, files, scores, thr):
    out = dict(files=len(files), **fixed_events(E, files, scores, thr))
    if out["windows"] == 0:
        out["nab"] = None
        out["raw_fixed"] = {pn: sum(E.nab_total_at(fd, scores[fd.rel], thr, prof) for fd in files)
                            for pn, prof in E.PROFILES.items()}
        return out
    _, agg = E.evaluate(files, scores, thr)
    out["nab"] = {pn: dict(opt_score=e["opt_score"], opt_threshold=e["opt_threshold"], fixed_score=e["fixed_score"])
                  for pn, e in agg["nab"].items()}
    out["roc_auc_pooled"] = agg["roc_auc_pooled"]
    out["pr_auc_pooled"] = agg["pr_auc_pooled"]
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--eval", required=True)
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--windows", required=True)
    ap.add_argument("--scores-dir", required=True)
    ap.add_argument("--json", required=True)
    ap.add_argument("--threshold", type=float, default=0.5)
    a = ap.parse_args()
    E = load_eval(a.eval)
    try:
        files = E.load_corpus(a.data_dir, a.windows)
        scores = E.load_scores(files, a.scores_dir)
    except ValueError as e:
        print("nab-eval.py: %s" % e, file=sys.stderr)
        return 2
    sets = {"all": evaluate_set(E, files, scores, a.threshold)}
    for cat in sorted({fd.rel.split("/", 1)[0] for fd in files}):
        sets[cat] = evaluate_set(E, [fd for fd in files if fd.rel.startswith(cat + "/")], scores, a.threshold)
    with open(a.json, "w") as f:
        json.dump(dict(threshold=a.threshold, sets=sets), f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
