#!/usr/bin/env python
"""Evaluate PaperScout's recommender on a dataset in the citeulike-a layout (published protocol).

    python scripts/evaluate.py --P 10 --out var/eval/p10
    python scripts/evaluate.py --data <dataset dir> --P 1 --out var/eval/p1 --users 500
    python scripts/evaluate.py --P 10 --tune --out var/eval/tune   # search on a validation split carved from training
    python scripts/evaluate.py --protocol cold --split <dataset dir>/cold-heater --out var/eval/cold
    python scripts/evaluate.py --protocol cold --split <split dir> --eval-on vali --embedding off

The dataset directory comes from --data, else the PAPERSCOUT_DATA environment variable, else
../shared/data/citeulike-a beside the project. --tune writes tuning.json and the chosen config.json into --out;
only --write-default-config also writes it into the packaged default config. See docs/evaluation.md and
docs/tuning.md.
"""

from __future__ import annotations

import argparse
import json
import logging
import shlex
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from recommender.config import load_config  # noqa: E402
from recommender.offline import cold, report, runner, tuning  # noqa: E402
from recommender.offline.datasets import TEXT_FIELDS, default_data_dir, load_citeulike  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", help="dataset directory (citeulike-a layout)")
    ap.add_argument(
        "--protocol",
        default="warm",
        choices=("warm", "cold"),
        help="warm: the published P=1/P=10 split; cold: an item cold-start split (--split)",
    )
    ap.add_argument("--split", help="with --protocol cold: directory with train.csv, vali.csv, test.csv")
    ap.add_argument(
        "--eval-on", default="test", choices=cold.EVAL_FILES, help="with --protocol cold: the file evaluated"
    )
    ap.add_argument(
        "--embedding",
        default="auto",
        choices=("auto", "off"),
        help="with --protocol cold: use the optional sentence embedding when installed (auto) or never (off)",
    )
    ap.add_argument("--P", type=int, default=10, choices=(1, 10), help="published split: items per user in training")
    ap.add_argument("--out", default="var/eval", help="output directory for results.json, report.md, plots")
    ap.add_argument("--methods", default=",".join(runner.ALL_METHODS), help="comma-separated methods")
    ap.add_argument("--users", type=int, default=None, help="evaluate a seeded sample of N users")
    ap.add_argument(
        "--svm-users",
        type=int,
        default=600,
        help="cap the users of the asl_svm peer (one LinearSVC each); 0 = all (default 600)",
    )
    ap.add_argument("--svm-jobs", type=int, default=2, help="threads training per-user SVMs")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--config", help="JSON config merged over the packaged default (default: none)")
    ap.add_argument(
        "--text-fields",
        default=",".join(TEXT_FIELDS),
        help=f"item side information the recommender reads, comma-separated (default: {','.join(TEXT_FIELDS)})",
    )
    ap.add_argument("--tune", action="store_true", help="hyper-parameter search on a train-only validation split")
    ap.add_argument(
        "--write-default-config",
        action="store_true",
        help="with --tune: also write the chosen config into the packaged default config (used by retrain)",
    )
    ap.add_argument("--quiet", action="store_true", help="no progress bars")
    return ap.parse_args(argv)


def run_tuning(args: argparse.Namespace, data_dir: Path, fields: tuple[str, ...]) -> int:
    # validation is carved from the P=10 TRAINING items only
    data = load_citeulike(data_dir, 10, text_fields=fields)
    result = tuning.tune(data, seed=args.seed, progress=not args.quiet, max_users=args.users or 1500)
    paths = tuning.save_tuning(result, args.out, write_default=args.write_default_config)
    print(json.dumps({k: result[k] for k in ("best", "best_objective", "ranking")}, indent=2))
    print(f"wrote {paths['tuning']} and {paths['config']} (the chosen config: pass it as --config)")
    if "default_config" in paths:
        print(f"wrote {paths['default_config'].name}")
    return 0


def run_evaluation(
    args: argparse.Namespace, data_dir: Path, fields: tuple[str, ...], config: dict | None, argv: list[str]
) -> int:
    t0 = time.perf_counter()
    data = load_citeulike(data_dir, args.P, text_fields=fields)
    results = runner.run(
        data,
        methods=[m.strip() for m in args.methods.split(",") if m.strip()],
        n_users=args.users,
        svm_users=args.svm_users or None,
        seed=args.seed,
        config=config,
        progress=not args.quiet,
        svm_jobs=args.svm_jobs,
    )
    results["wall_seconds"] = round(time.perf_counter() - t0, 1)
    command = "python scripts/evaluate.py " + shlex.join(_without_data_path(argv))
    paths = report.write_outputs(results, args.out, command=command)
    print(report.results_table(results))
    print(f"\nwall time {results['wall_seconds']} s; wrote {paths['results']} and {paths['report']}")
    return 0


def run_cold(args: argparse.Namespace, data_dir: Path, config: dict | None, argv: list[str]) -> int:
    if not args.split:
        print("--protocol cold needs --split <directory with train.csv, vali.csv, test.csv>", file=sys.stderr)
        return 2
    try:
        split = cold.load_cold_split(data_dir, args.split, args.eval_on)
    except (FileNotFoundError, ValueError) as exc:
        print(f"cannot read the cold-start split: {exc}", file=sys.stderr)
        return 2
    results = cold.run_cold(
        split, config=config, embedding=args.embedding, n_users=args.users, seed=args.seed, progress=not args.quiet
    )
    command = "python scripts/evaluate.py " + shlex.join(_without_data_path(argv))
    paths = cold.write_cold_outputs(results, args.out, command=command)
    print(cold.cold_table(results))
    print(f"\nwall time {results['wall_seconds']} s; wrote {paths['results']} and {paths['report']}")
    return 0


def _without_data_path(argv: list[str]) -> list[str]:
    """The arguments with --data's and --split's values replaced, so no machine path goes into a committed report."""
    shown = list(argv)
    for flag, shown_as in (("--data", "<dataset dir>"), ("--split", "<split dir>")):
        i = shown.index(flag) if flag in shown else -1
        if i >= 0 and i + 1 < len(shown):
            shown[i + 1] = shown_as
    return shown


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    data_dir = Path(args.data) if args.data else default_data_dir(ROOT)
    if data_dir is None or not (data_dir / "users.dat").exists():
        print("no dataset: pass --data or set PAPERSCOUT_DATA", file=sys.stderr)
        return 2
    config = load_config(args.config) if args.config else None
    fields = tuple(f.strip() for f in args.text_fields.split(",") if f.strip())
    unknown = set(fields) - set(TEXT_FIELDS)
    if unknown:
        print(f"unknown --text-fields {sorted(unknown)}; choose from {','.join(TEXT_FIELDS)}", file=sys.stderr)
        return 2
    if args.protocol == "cold":
        return run_cold(args, data_dir, config, list(argv if argv is not None else sys.argv[1:]))
    if args.tune:
        return run_tuning(args, data_dir, fields)
    return run_evaluation(args, data_dir, fields, config, list(argv if argv is not None else sys.argv[1:]))


if __name__ == "__main__":
    raise SystemExit(main())
