#!/usr/bin/env python3
"""A/B timing of command lines, one run of each in turn.

    bench/ab.py [-n RUNS] [-w WARMUP] [-p PREPARE] 'CMD A' 'CMD B' [...]

For comparing two builds of ours (a change worth a few percent) on a VM
whose speed drifts by 20-40 % within seconds: hyperfine times one command's
runs in a block, so a slow spell lands on one side; here the commands take
turns run by run (the order flips every round), and each gets the same
share of slow and fast moments. Prints each command's median, mean and
quartiles of wall time in ms, and the median of the paired differences
against the first command. Commands are split on whitespace (no shell);
output goes to /dev/null. PREPARE, a bash command, runs untimed before
every run (as hyperfine's --prepare).
"""
import argparse
import os
import statistics
import subprocess
import sys
import time


def run_once(argv, devnull):
    start = time.perf_counter_ns()
    pid = os.posix_spawn(argv[0], argv, os.environ,
                         file_actions=[(os.POSIX_SPAWN_DUP2, devnull, 1),
                                       (os.POSIX_SPAWN_DUP2, devnull, 2)])
    _, status = os.waitpid(pid, 0)
    elapsed = (time.perf_counter_ns() - start) / 1e6
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"ab.py: {' '.join(argv)} failed")
    return elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=1000, help="runs of each (1000)")
    parser.add_argument("-w", type=int, default=20, help="warm-up rounds (20)")
    parser.add_argument("-p", metavar="PREPARE", help="bash command run before each run")
    parser.add_argument("commands", nargs="+")
    args = parser.parse_args()
    argvs = [c.split() for c in args.commands]
    for argv in argvs:
        if not os.access(argv[0], os.X_OK):
            sys.exit(f"ab.py: {argv[0]} is not an executable path")
    devnull = os.open(os.devnull, os.O_WRONLY)
    times = [[] for _ in argvs]
    for round_no in range(args.w + args.n):
        order = list(range(len(argvs)))
        if round_no % 2:
            order.reverse()
        for i in order:
            if args.p:
                subprocess.run(["bash", "-c", args.p], check=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            t = run_once(argvs[i], devnull)
            if round_no >= args.w:
                times[i].append(t)
    for i, (cmd, t) in enumerate(zip(args.commands, times)):
        q = statistics.quantiles(t, n=4)
        line = (f"median {statistics.median(t):7.3f}  mean {statistics.mean(t):7.3f}"
                f"  p25 {q[0]:7.3f}  p75 {q[2]:7.3f}")
        if i > 0:
            diff = statistics.median(b - a for a, b in zip(times[0], t))
            line += f"  vs first {diff:+.3f}"
        print(f"{line}  {cmd}")


if __name__ == "__main__":
    main()
