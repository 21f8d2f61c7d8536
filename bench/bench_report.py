"""The report of bench/ffn_bench.py: units, the markdown tables (one set per
thread count) and the PNG plot of GFLOP/s against tokens. Pure Python (the
plot imports matplotlib when it is drawn); rows are the dicts the worker
processes write (see ffn_bench.Row)."""

import os

TOLERANCE = 1e-4  # max |y - ref| / max |ref| against float64; f32 gives ~1e-6

# What limits PyTorch to AVX2: ATen's kernels, MKL's (on Intel CPUs) and
# oneDNN's. Read when torch loads, so ffn_bench.py sets them in the
# environment of the worker process that runs the "PyTorch eager, AVX2" row
# (and removes them from the others).
TORCH_AVX2_ENV = {"ATEN_CPU_CAPABILITY": "avx2", "MKL_ENABLE_INSTRUCTIONS": "AVX2",
                  "ONEDNN_MAX_CPU_ISA": "AVX2"}

# The order of the rows in every table: ours, then PyTorch eager (the first
# baseline; the ratio column is against it), then the other baselines.
ORDER = ["ours", "ours-bf16", "ours-bf16-rh", "ours-avx2", "torch-eager", "torch-eager-avx2",
         "openblas", "numpy", "iree", "torch-compile", "ours-reference"]
BASELINE = {None: "torch-eager", "avx2": "torch-eager-avx2"}  # the ratio's row, by ISA

# The plot's lines: key -> (colour, line style, marker); AVX2 rows dashed,
# with hollow squares.
PLOT_STYLE = {"ours": ("tab:red", "-", "o"), "torch-eager": ("tab:blue", "-", "o"),
              "openblas": ("tab:green", "-", "o"), "iree": ("tab:purple", "-", "o"),
              "ours-avx2": ("tab:red", "--", "s"), "torch-eager-avx2": ("tab:blue", "--", "s")}


def flops(t, d, f):
    return 2.0 * t * (2 * d * f + f * d)


def weight_bytes(d, f):
    return 3.0 * d * f * 4


def short(message, limit=90):
    message = " ".join(str(message).split())
    return message if len(message) <= limit else message[:limit - 3] + "..."


def fmt_ms(seconds):
    ms = seconds * 1e3
    if ms >= 100:
        return "%.0f" % ms
    if ms >= 10:
        return "%.1f" % ms
    return "%.2f" % ms


def fmt_speed(s):
    """A speed ratio (>1: faster than the baseline)."""
    if s is None:
        return "—"
    return ("%.3f×" % s) if s < 0.1 else ("%.2f×" % s) if s < 10 else ("%.0f×" % s)


def fmt_num(v, digits=1):
    return "—" if v is None else ("%.*f" % (digits, v))


def plural(n, what):
    return "%d %s%s" % (n, what, "" if n == 1 else "s")


def threads_title(n, cpus):
    return plural(n, "thread") + (" (all CPUs)" if n == cpus > 1 else "")


def shape_title(t, d, f):
    if t == 1:
        return "decode T=1, d_model=%d, d_ff=%d" % (d, f)
    return "prefill T=%d, d_model=%d, d_ff=%d" % (t, d, f)


def ordered(rows):
    return sorted(rows, key=lambda r: ORDER.index(r["key"]) if r["key"] in ORDER else len(ORDER))


def speed(row, by_key):
    """Time of the row's PyTorch baseline (same ISA) / the row's time."""
    base = by_key.get(BASELINE.get(row.get("isa")))
    if not base or not base["seconds"] or not row["seconds"]:
        return None
    return base["seconds"] / row["seconds"]


# ---------------------------------------------------------------------------
# Tables
# ---------------------------------------------------------------------------


def ceilings_table(thread_counts, ceilings, cpus):
    """The FMA peaks and read bandwidth measured at the start of the run:
    per thread count, the peak taken as N x the one-thread rate (the N-thread
    measurement next to it) and the best read bandwidth of N threads."""
    avx2 = "fma256" in ceilings
    head = ["threads", "FP32 FMA peak, AVX-512 (GFLOP/s)"]
    head += ["FP32 FMA peak, AVX2 (GFLOP/s)"] if avx2 else []
    head += ["read bandwidth (GB/s)"]
    lines = ["| " + " | ".join(head) + " |", "|---" + "|--:" * (len(head) - 1) + "|"]
    for n in thread_counts:
        cells = [threads_title(n, cpus)]
        for what in ["fma"] + (["fma256"] if avx2 else []):
            one, together, why = ceilings[what][1][0], ceilings[what][n][0], \
                ceilings[what][1][2] or ceilings[what][n][2]
            if one is None:
                cells.append("— (%s)" % why)
            elif n == 1:
                cells.append("**%.1f**" % one)
            else:
                cells.append("**%.1f** = %d × %.1f (%d threads measured together: %s)" % (
                    n * one, n, one, n, fmt_num(together)))
        median, best, why = ceilings["bw"][n]
        cells.append("— (%s)" % why if best is None else
                     "**%.1f** (best of 7; median %.1f)" % (best, median))
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def shape_table(t, d, f, rows, peaks, bw):
    """One shape's table; `peaks` maps an ISA (None, 'avx2') to the FMA peak of
    this thread count, `bw` is its read bandwidth."""
    decode = t == 1
    fl = flops(t, d, f)
    by_key = {r["key"]: r for r in rows}
    head = ["implementation", "ms/call", "n", "GFLOP/s", "% peak", "× PyTorch"]
    if decode:
        head += ["GB/s (weights)", "% bw"]
    head += ["max rel err", "note"]
    lines = ["#### %s — %s GFLOP/call%s" % (
        shape_title(t, d, f), ("%.2f" if fl >= 1e8 else "%.2g") % (fl / 1e9),
        (", %.0f MB of weights" % (weight_bytes(d, f) / 1e6)) if decode else ""), "",
        "| " + " | ".join(head) + " |",
        "|" + "|".join("---" if i in (0, len(head) - 1) else "--:" for i in range(len(head))) + "|"]
    for r in ordered(rows):
        if r["seconds"] is None:
            cells = [r["label"], "—", "", "", "", ""] + (["", ""] if decode else []) \
                + ["", r["status"]]
        else:
            gflops = fl / r["seconds"] / 1e9
            peak = peaks.get(r.get("isa"))
            cells = [r["label"], fmt_ms(r["seconds"]), str(r["n"]), "%.1f" % gflops,
                     fmt_num(100 * gflops / peak if peak else None),
                     fmt_speed(speed(r, by_key))]
            if decode:
                gbs = weight_bytes(d, f) * r.get("weight_scale", 1.0) / r["seconds"] / 1e9
                cells += ["%.1f" % gbs, fmt_num(100 * gbs / bw if bw else None)]
            err = "%.1e" % r["error"]
            if r["wrong"]:
                err = "**%s WRONG**" % err
            cells += [err, r["note"]]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def summary_table(shapes, results):
    """ms per call (speed × PyTorch) of every row and shape of one thread count."""
    head = ["implementation"] + ["%s %d×%d T=%d" % ("decode" if t == 1 else "prefill", d, f, t)
                                 for t, d, f in shapes]
    lines = ["| " + " | ".join(head) + " |", "|---" + "|--:" * len(shapes) + "|"]
    labels = {}
    for shape in shapes:
        for r in results.get(shape, []):
            labels.setdefault(r["key"], r["label"])
    for key in ORDER + sorted(set(labels) - set(ORDER)):
        if key not in labels:
            continue
        cells = [labels[key]]
        for shape in shapes:
            by_key = {r["key"]: r for r in results.get(shape, [])}
            r = by_key.get(key)
            if r is None or r["seconds"] is None:
                cells.append("—")
                continue
            cell = fmt_ms(r["seconds"]) + " ms"
            s = speed(r, by_key)
            if s is not None and key != BASELINE.get(r.get("isa")):
                cell += " (%s)" % fmt_speed(s)
            if r["wrong"]:
                cell += " WRONG"
            cells.append(cell)
        lines.append("| " + " | ".join(cells) + " |")
    return lines


# ---------------------------------------------------------------------------
# Plot
# ---------------------------------------------------------------------------


def write_plot(path, results, thread_counts, peaks, cpus, title):
    """GFLOP/s against tokens (log x), one line per implementation of
    PLOT_STYLE, one panel per (d_model, d_ff) (rows) and thread count
    (columns), the AVX-512 FMA peak as a dotted line. `results` maps a thread
    count to {(T, D, F): rows}, `peaks` a thread count to {ISA: GFLOP/s}.
    Returns None when written, else why not (never raises)."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except Exception as e:  # noqa: BLE001 - the benchmark goes on without a plot
        return "matplotlib not importable: %s" % short(e, 120)
    try:
        dfs = []
        for n in thread_counts:
            for (_, d, f) in results.get(n, {}):
                if (d, f) not in dfs:
                    dfs.append((d, f))
        if not dfs:
            return "nothing measured"
        height = 3.6 * len(dfs) + 0.9  # the panels and the legend below them
        width = max(8.5, 5.2 * len(thread_counts))
        fig, axes = plt.subplots(len(dfs), len(thread_counts), squeeze=False,
                                 figsize=(width, height))
        handles = {}
        for i, (d, f) in enumerate(dfs):
            for j, n in enumerate(thread_counts):
                ax = axes[i][j]
                shapes = sorted(s for s in results.get(n, {}) if s[1:] == (d, f))
                tokens = [s[0] for s in shapes]
                for key, (colour, style, marker) in PLOT_STYLE.items():
                    points = []
                    for shape in shapes:
                        r = {r["key"]: r for r in results[n][shape]}.get(key)
                        if r and r["seconds"] and not r["wrong"]:
                            points.append((shape[0], flops(*shape) / r["seconds"] / 1e9))
                            label = r["label"]
                    if points:
                        line, = ax.plot([p[0] for p in points], [p[1] for p in points],
                                        color=colour, linestyle=style, marker=marker,
                                        markersize=4, label=label,
                                        fillstyle="none" if marker == "s" else "full")
                        handles.setdefault(label, line)
                peak = peaks.get(n, {}).get(None)
                if peak:
                    line = ax.axhline(peak, color="grey", linestyle=":", linewidth=1,
                                      label="FP32 FMA peak (AVX-512, N threads)")
                    handles.setdefault(line.get_label(), line)
                ax.set_xscale("log", base=2)
                if tokens:
                    ax.set_xticks(tokens)
                    ax.set_xticklabels([str(t) for t in tokens], fontsize=8)
                    ax.set_xlim(min(tokens) / 1.5, max(tokens) * 1.5)
                ax.set_ylim(bottom=0)
                ax.grid(True, alpha=0.3)
                ax.set_title("d_model=%d, d_ff=%d, %s" % (d, f, threads_title(n, cpus)),
                             fontsize=9)
                ax.set_xlabel("tokens T", fontsize=8)
                ax.set_ylabel("GFLOP/s", fontsize=8)
                ax.tick_params(axis="y", labelsize=8)
        fig.suptitle(title, fontsize=10)
        ncol = min(3 if width > 10 else 2, len(handles))
        fig.legend(list(handles.values()), list(handles.keys()), loc="lower center",
                   ncol=ncol, fontsize=8, frameon=False)
        legend_rows = (len(handles) + ncol - 1) // ncol if handles else 0
        fig.tight_layout(rect=(0, (0.15 + 0.2 * legend_rows) / height, 1,
                               1 - 0.35 / height))
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        fig.savefig(path, dpi=110)
        plt.close(fig)
    except Exception as e:  # noqa: BLE001
        return "drawing failed: %s" % short(e, 160)
    return None
