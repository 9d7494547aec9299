#!/usr/bin/env python3
"""Summarises a Chrome trace written by `bench_diffusion --profile`: total
time per top-level operation (operations not inside another one on the same
thread: the pipeline's named stages, diffss::sd::guided_step, vae_decode and
text_encoder) and, for each, the operations directly inside it.

    profile_summary.py TRACE.json [--top 15] [--skip 1]

--skip N leaves out the first N occurrences of each top-level operation
(the first guided step also reorders the convolution weights once).
"""
import argparse
import collections
import json


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("trace")
    ap.add_argument("--top", type=int, default=15)
    ap.add_argument("--skip", type=int, default=0)
    args = ap.parse_args()
    with open(args.trace) as f:
        events = [e for e in json.load(f) if e.get("ph") == "X"]
    by_thread = collections.defaultdict(list)
    for e in events:
        by_thread[e["tid"]].append(e)
    top = collections.Counter()
    calls = collections.Counter()
    children = collections.defaultdict(collections.Counter)
    seen = collections.Counter()
    for evs in by_thread.values():
        evs.sort(key=lambda e: (e["ts"], -e["dur"]))
        stack = []   # open events: (end, name, counted)
        for e in evs:
            end = e["ts"] + e["dur"]
            while stack and stack[-1][0] <= e["ts"]:
                stack.pop()
            counted = stack[0][2] if stack else seen[e["name"]] >= args.skip
            if not stack:
                seen[e["name"]] += 1
                if counted:
                    top[e["name"]] += e["dur"]
                    calls[e["name"]] += 1
            elif len(stack) == 1 and counted:
                children[stack[0][1]][e["name"]] += e["dur"]
            stack.append((end, e["name"], counted))
    total = sum(top.values())
    print(f"top-level operations: {total / 1e6:.2f} s")
    for name, us in top.most_common(args.top):
        print(f"  {name:40s} {us / 1e6:8.2f} s {100 * us / total:5.1f} %  ({calls[name]} calls)")
        inner = children[name]
        shown = inner.most_common(args.top if name.startswith("diffss::") else 3)
        for child, cus in shown:
            print(f"      {child:36s} {cus / 1e6:8.2f} s {100 * cus / us:5.1f} %")
        rest = us - sum(inner.values())
        if inner and name.startswith("diffss::"):
            print(f"      {'(outside operations)':36s} {rest / 1e6:8.2f} s {100 * rest / us:5.1f} %")


if __name__ == "__main__":
    main()
