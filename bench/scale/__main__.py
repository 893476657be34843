"""``python -m bench.scale``: the scale test (``make scale-test``); see :mod:`bench.scale`."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from bench.scale import FAULTS, Plan, run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__)
    parser.add_argument(
        "--base-port",
        type=int,
        default=5800,
        help="nginx on it; app servers +11, +12; Redis +20; SMTP +25; proxy +30",
    )
    parser.add_argument(
        "--postgres",
        default=Plan.admin_url,
        help="a PostgreSQL server to create the test database on",
    )
    parser.add_argument(
        "--invitations", type=int, default=Plan.invitations, help="mailed at the launch"
    )
    parser.add_argument(
        "--mail-rate",
        type=float,
        default=Plan.mail_rate_per_minute,
        help="the worker's MAIL_RATE_PER_MINUTE; 0: as fast as it goes",
    )
    parser.add_argument(
        "--smtp-delay",
        type=float,
        default=Plan.smtp_delay_s,
        help="seconds the SMTP server waits before it answers a message (a slow server)",
    )
    parser.add_argument("--respondents", type=int, default=Plan.respondents)
    parser.add_argument("--readers", type=int, default=Plan.readers)
    parser.add_argument("--measure", type=float, default=Plan.measure_s, help="seconds")
    parser.add_argument("--fault-gap", type=float, default=Plan.fault_gap_s, help="seconds")
    parser.add_argument(
        "--faults",
        default=",".join(FAULTS),
        help=f"comma-separated, of {', '.join(FAULTS)}; empty: none",
    )
    parser.add_argument("--bootstrap", type=int, default=Plan.bootstrap)
    parser.add_argument("--keep", type=Path, help="keep the logs in this folder")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args(argv)
    faults = tuple(f for f in args.faults.split(",") if f)
    unknown = set(faults) - set(FAULTS)
    if unknown:
        parser.error(f"--faults takes {', '.join(FAULTS)}; got {sorted(unknown)}")
    with tempfile.TemporaryDirectory(prefix="manyi-scale-") as tmp:
        plan = Plan(
            folder=args.keep or Path(tmp),
            admin_url=args.postgres,
            base_port=args.base_port,
            invitations=args.invitations,
            mail_rate_per_minute=args.mail_rate,
            smtp_delay_s=args.smtp_delay,
            respondents=args.respondents,
            readers=args.readers,
            measure_s=args.measure,
            fault_gap_s=args.fault_gap,
            faults=faults,
            bootstrap=args.bootstrap,
        )
        result = run(plan)
    print(
        json.dumps(
            {"figures": result.figures, "faults": result.faults},
            indent=2,
            ensure_ascii=False,
            default=str,
        )
    )
    if args.json:
        args.json.write_text(
            json.dumps({"figures": result.figures, "faults": result.faults}, indent=2, default=str)
        )
    for problem in result.problems:
        print(f"PROBLEM: {problem}", file=sys.stderr)
    print("scale test: " + ("passed" if result.ok else f"{len(result.problems)} problem(s)"))
    return 0 if result.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
