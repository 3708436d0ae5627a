#!/usr/bin/env python3
"""Tables (markdown, on stdout) and PNG plots (docs/img/) of `scripts/bouchet`'s runs.

    python3 scripts/bouchet-plot.py [RUN_DIR]   # default target/bouchet; needs matplotlib
"""
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

run_dir = sys.argv[1] if len(sys.argv) > 1 else "target/bouchet"
img = os.path.join(os.path.dirname(__file__), "..", "docs", "img")
os.makedirs(img, exist_ok=True)


def rows(name):
    path = os.path.join(run_dir, name + ".jsonl")
    if not os.path.exists(path):
        return []
    return [json.loads(line) for line in open(path) if line.strip()]


def secs(v):
    return "–" if v is None else f"{v:.1f}"


def min_paces(rs, key):
    """Per value of `key`: the smallest pace with >= 85 % of the chunks committed."""
    out = {}
    for r in rs:
        k = r["config"][key]
        if r["chunk_commit_pct"] >= 85:
            p = r["config"]["pace"]
            out[k] = min(out.get(k, p), p)
    return out


def save(fig, name):
    fig.tight_layout()
    fig.savefig(os.path.join(img, name), dpi=110)
    plt.close(fig)


# (1) committed % vs chunk size
size = rows("size")
if size:
    print("### (1) Committed chunk transactions vs chunk size\n")
    print("| chunk | members × chunks | load | committed % | finished | tasks re-auctioned | epoch (s) |")
    print("|---|---|---|---|---|---|---|")
    for r in size:
        c = r["config"]
        print(
            f"| {c['chunk_bytes'] // 1024} KiB | {r['members']} × {r['chunks_per_member']} "
            f"| {r['members'] / c['pace']:.0f} tx/s, {r['members'] * c['chunk_bytes'] / c['pace'] / 2**20:.1f} MiB/s "
            f"| {r['chunk_commit_pct']:.1f} | {r['finished']}/{r['members']} "
            f"| {r.get('reauctioned', '–')} / {c['pools']} | {secs(r['epoch_seconds'])} |"
        )
    print()
    fig, ax = plt.subplots(figsize=(5.5, 3.5))
    xs = [r["config"]["chunk_bytes"] / 1024 for r in size]
    ax.plot(xs, [r["chunk_commit_pct"] for r in size], "o-")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("chunk size (KiB)")
    ax.set_ylabel("chunk transactions committed (%)")
    ax.set_ylim(0, 105)
    ax.axhline(85, color="grey", ls="--", lw=0.8)
    ax.set_title("100 chunk tx/s for 20 s (64 members)")
    save(fig, "bouchet-size.png")

# (2) minimum pace vs redundancy, (3) vs model length
for name, key, label, title in [
    ("redundancy", "redundancy", "redundancy r", "1M parameters, 256 KiB chunks"),
    ("length", "params", "model length (parameters)", "redundancy 8, 256 KiB chunks"),
]:
    rs = rows(name)
    if not rs:
        continue
    mp = min_paces(rs, key)
    print(f"### Minimum pace vs {label}\n")
    print(f"| {label} | paces tried (committed %) | minimum pace (s) | epoch at that pace (s) |")
    print("|---|---|---|---|")
    for k in sorted({r["config"][key] for r in rs}):
        tried = [r for r in rs if r["config"][key] == k]
        at = [r for r in tried if r["config"]["pace"] == mp.get(k)]
        if k not in mp:
            best = "> " + str(max(r["config"]["pace"] for r in tried))
        elif mp[k] == min(r["config"]["pace"] for r in rs):
            # the sweep's smallest pace passed: the minimum is at most that
            best = f"≤ {mp[k]}"
        else:
            best = str(mp[k])
        print(
            f"| {k} | "
            + ", ".join(f"{r['config']['pace']} ({r['chunk_commit_pct']:.0f} %)" for r in tried)
            + f" | {best}"
            + f" | {secs(at[0]['epoch_seconds']) if at else '–'} |"
        )
    print()
    fig, ax = plt.subplots(figsize=(5.5, 3.5))
    ks = sorted(mp)
    ax.plot(ks, [mp[k] for k in ks], "-", color="C0")
    # at the sweep's smallest pace the minimum is only bounded from above
    floor = min(r["config"]["pace"] for r in rs)
    exact = [k for k in ks if mp[k] > floor]
    bound = [k for k in ks if mp[k] <= floor]
    ax.plot(exact, [mp[k] for k in exact], "o", color="C0", label="minimum pace")
    if bound:
        ax.plot(bound, [mp[k] for k in bound], "v", color="C0", mfc="white",
                label=f"≤ {floor} s (smallest pace tried)")
    ax.legend(loc="upper left", fontsize=8)
    if key == "params":
        ax.set_xscale("log")
    ax.set_xlabel(label)
    ax.set_ylabel("minimum pace (s)")
    ax.set_ylim(bottom=0)
    ax.set_title(title)
    save(fig, f"bouchet-{name}.png")

# (4) one epoch, 1M parameters, r = 8
ep = rows("epoch")
if ep:
    print("### One epoch, 1M parameters, redundancy 8\n")
    print("| run | chunks | pace (s) | committed % | finished | epoch (s) | reveals (s) |")
    print("|---|---|---|---|---|---|---|")
    for i, r in enumerate(ep, 1):
        c = r["config"]
        print(
            f"| {i} | {r['members']} × {r['chunks_per_member']} of {c['chunk_bytes'] // 1024} KiB "
            f"| {c['pace']} | {r['chunk_commit_pct']:.1f} | {r['finished']}/{r['members']} "
            f"| {secs(r['epoch_seconds'])} | {secs(r['reveal_seconds'])} |"
        )
    print()
    timed = [r for r in ep if r.get("chunks_committed_at")]
    if timed:
        fig, ax = plt.subplots(figsize=(5.5, 3.5))
        for i, r in enumerate(timed, 1):
            c = r["config"]
            ts = r["chunks_committed_at"]
            mib = [(k + 1) * c["chunk_bytes"] / 2**20 for k in range(len(ts))]
            ax.step([0] + ts, [0] + mib, where="post", label=f"run {i}")
            if r["epoch_seconds"] is not None:
                ax.plot([r["epoch_seconds"]], [mib[-1]], "k|", ms=12)
        ax.axvline(60, color="grey", ls="--", lw=0.8)
        ax.text(59, 1, "target 60 s", ha="right", fontsize=8, color="grey")
        ax.set_xlim(0, 65)
        ax.set_xlabel("seconds from the first commitment")
        ax.set_ylabel("update chunks finalized (MiB)")
        ax.set_title("one epoch: 1M parameters, r = 8 (| = last member done)")
        ax.legend(loc="upper left", fontsize=8)
        save(fig, "bouchet-epoch.png")
