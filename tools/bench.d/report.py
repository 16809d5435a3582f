#!/usr/bin/env python3
"""Turns the records tools/bench collected into the results table.

Records are lines of tab-separated fields: a kind, then key=value pairs.
  meta      free-form facts about the run (durations, versions, ...)
  scenario  name, label: the wrk rounds in the order they ran
  status    target, phase, status: why a proxy has no numbers in a phase
            (throughput or memory): failed to build, start or survive
  run       scenario, target, rep and wrk's numbers, or failure=...
  mem       one idle-connection measurement (see idle_conns.py)
  allocs    target, allocs (heap allocations during one keep-alive round,
            bench.d/count_allocs.c) and that round's wrk numbers
Prints a plain-text table and writes the same as markdown.
"""

import argparse
import statistics
import sys

TARGETS = [("lbd", "lbd"), ("haproxy", "HAProxy"), ("nginx", "nginx"),
           ("direct", "direct")]
COMPARED = [("haproxy", "lbd/HAProxy"), ("nginx", "lbd/nginx")]
# A run with more failed requests than this is a failure, not a measurement.
MAX_ERROR_SHARE = 0.01
ERROR_KEYS = ("err_connect", "err_read", "err_write", "err_status", "err_timeout")


def parse(path):
    records = []
    with open(path) as f:
        for line in f:
            kind, *fields = line.rstrip("\n").split("\t")
            records.append((kind, dict(field.split("=", 1) for field in fields)))
    return records


def rate(run):
    return int(run["requests"]) / (int(run["duration_us"]) / 1e6)


def p99_ms(run):
    return int(run["p99_us"]) / 1000.0


def run_failure(run):
    """Why a wrk run does not count, or None."""
    if "failure" in run:
        return run["failure"]
    requests = int(run["requests"])
    errors = sum(int(run[key]) for key in ERROR_KEYS)
    if requests == 0:
        return "no responses"
    if errors > MAX_ERROR_SHARE * requests:
        return f"{100.0 * errors / requests:.1f}% errors"
    return None


class Cell:
    """A number, or the reason there is none."""

    def __init__(self, value=None, text=None, note=""):
        self.value, self.note = value, note
        self.text = text if text is not None else ""

    def render(self, fmt):
        if self.value is None:
            return self.text
        return fmt.format(self.value) + self.note


def throughput_cells(runs, status):
    """(req/s cell, p99 cell) for one scenario and target.

    A proxy that failed anywhere in the phase shows the failure in every
    scenario, so that no median of its surviving runs passes for a result.
    """
    failures = [f for f in map(run_failure, runs) if f]
    if failures:
        return Cell(text="FAILED: " + ", ".join(sorted(set(failures)))), Cell(text="-")
    if status:
        return Cell(text=status), Cell(text="-")
    if not runs:
        return Cell(text="-"), Cell(text="-")
    errors = sum(int(r[key]) for r in runs for key in ERROR_KEYS)
    note = f" ({errors} err)" if errors else ""
    return (Cell(statistics.median(map(rate, runs)), note=note),
            Cell(statistics.median(map(p99_ms, runs))))


def memory_cell(mem, status):
    if status:
        return Cell(text=status)
    if mem is None:
        return Cell(text="-")
    if mem["status"] != "ok":
        if "error" in mem:
            return Cell(text=f"FAILED after {mem['opened']} conns: {mem['error']}")
        return Cell(text=f"FAILED: {mem['ok']} got 200, "
                         f"{mem['still_open']} still open of {mem['conns']}")
    per_conn = (int(mem["rss_after_kib"]) - int(mem["rss_before_kib"])) / int(mem["conns"])
    return Cell(per_conn)


def allocation_cell(run, status):
    """Heap allocations per request over one keep-alive round."""
    if status:
        return Cell(text=status)
    if run is None:
        return Cell(text="-")
    failure = run_failure(run)
    if failure:
        return Cell(text="FAILED: " + failure)
    return Cell(int(run["allocs"]) / int(run["requests"]))


def ratio_cells(cells):
    lbd = cells["lbd"].value
    out = []
    for other, _ in COMPARED:
        value = cells[other].value
        out.append(Cell(lbd / value) if lbd is not None and value else Cell(text="-"))
    return out


def ok_rate(run):
    """Successful (2xx/3xx) responses per second."""
    return (int(run["requests"]) - int(run["err_status"])) / (int(run["duration_us"]) / 1e6)


def bounded_cells(runs, status):
    """The bounded round counts errors instead of failing on them: a proxy
    that answers 502/503 for want of a queue is the point of the round.
    Cells: successful req/s, errors, p50 ms, p99 ms, most at once."""
    failures = [r["failure"] for r in runs if "failure" in r]
    failed = failures or [r for r in runs if int(r["requests"]) == 0]
    if failed or status or not runs:
        why = ("FAILED: " + ", ".join(sorted(set(failures)))) if failures else (
            status or ("FAILED: no responses" if failed else "-"))
        return [Cell(text=why)] + [Cell(text="-") for _ in range(4)]
    errors = [sum(int(r[key]) for key in ERROR_KEYS) for r in runs]
    return [Cell(statistics.median(map(ok_rate, runs))),
            Cell(statistics.median(errors)),
            Cell(statistics.median(int(r["p50_us"]) / 1000.0 for r in runs)),
            Cell(statistics.median(map(p99_ms, runs))),
            Cell(max(int(r.get("peak", 0)) for r in runs))]


def streaming_cells(runs, status):
    """The streaming round (sse_streams.py): events/s the clients received,
    the proxy's CPU microseconds per event over the same window, the 99th
    percentile of the time between consecutive events of a reply (the
    backend's interval when the proxy forwards each event as it comes),
    and replies that ended without [DONE] (a few at most: more is a
    failure)."""
    failures = [r["failure"] for r in runs if "failure" in r]
    failures += ["no events" for r in runs if "failure" not in r and int(r["events"]) == 0]
    failures += [f"{r['errors']} failed replies" for r in runs if "failure" not in r
                 and int(r["events"]) and int(r["errors"]) > MAX_ERROR_SHARE * int(r["events"])]
    if failures or status or not runs:
        why = ("FAILED: " + ", ".join(sorted(set(failures)))) if failures else (status or "-")
        return [Cell(text=why), Cell(text="-"), Cell(text="-"), Cell(text="-")]
    events_per_s = [int(r["events"]) / (int(r["duration_us"]) / 1e6) for r in runs]
    cpu = [int(r["cpu_us"]) / int(r["events"]) for r in runs if "cpu_us" in r]
    gaps = [int(r["gap_p99_us"]) / 1000.0 for r in runs if "gap_p99_us" in r]
    return [Cell(statistics.median(events_per_s)),
            Cell(statistics.median(cpu)) if cpu else Cell(text="-"),
            Cell(statistics.median(gaps)) if gaps else Cell(text="-"),
            Cell(statistics.median(int(r["errors"]) for r in runs))]


def cpu_cell(runs, rate_cell):
    """The proxy's CPU microseconds per request over the round (utime +
    stime of its processes, read before and after), median over the runs
    that count; "-" where there is none (direct, or no reading)."""
    cpu = [int(r["cpu_us"]) / int(r["requests"]) for r in runs
           if "cpu_us" in r and int(r.get("requests", 0)) and not run_failure(r)]
    if rate_cell.value is None or not cpu:
        return Cell(text="-")
    return Cell(statistics.median(cpu))


def h2_cells(runs, status):
    """The h2 round (h2load_round.py): req/s and p99 as the wrk rounds,
    plus the proxy's CPU microseconds per request over the same window."""
    rate_cell, p99_cell = throughput_cells(runs, status)
    return [rate_cell, p99_cell, cpu_cell(runs, rate_cell)]


def build_rows(records):
    """Rows of (round, metric, [cells per target], [ratio cells], value format)."""
    def status(target, phase):
        return ", ".join(r["status"] for kind, r in records if kind == "status"
                         and r["target"] == target and r["phase"] == phase) or None

    scenarios = [r for kind, r in records if kind == "scenario"]
    runs = [r for kind, r in records if kind == "run"]
    mems = {(r.get("mode", "sequential"), r["target"]): r for kind, r in records if kind == "mem"}
    rows = []
    for scenario in scenarios:
        if scenario["name"] == "bounded":
            per_target = {}
            for target, _ in TARGETS:
                mine = [r for r in runs if r["scenario"] == "bounded" and r["target"] == target]
                per_target[target] = bounded_cells(mine, status(target, "throughput"))
            metrics = [("ok req/s", "{:.0f}"), ("errors", "{:.0f}"), ("p50 ms", "{:.2f}"),
                       ("p99 ms", "{:.2f}"), ("max at once", "{:.0f}")]
            for i, (metric, fmt) in enumerate(metrics):
                rows.append((scenario["label"] if i == 0 else "", metric,
                             {t: per_target[t][i] for t, _ in TARGETS}, fmt))
            continue
        if scenario["name"] == "streaming":
            per_target = {}
            for target, _ in TARGETS:
                mine = [r for r in runs if r["scenario"] == "streaming" and r["target"] == target]
                per_target[target] = streaming_cells(mine, status(target, "throughput"))
            metrics = [("events/s", "{:.0f}"), ("CPU us/event", "{:.2f}"),
                       ("p99 ms between events", "{:.1f}"), ("failed replies", "{:.0f}")]
            for i, (metric, fmt) in enumerate(metrics):
                rows.append((scenario["label"] if i == 0 else "", metric,
                             {t: per_target[t][i] for t, _ in TARGETS}, fmt))
            continue
        if scenario["name"] == "h2":
            per_target = {}
            for target, _ in TARGETS:
                mine = [r for r in runs if r["scenario"] == "h2" and r["target"] == target]
                per_target[target] = h2_cells(mine, status(target, "throughput"))
            metrics = [("req/s", "{:.0f}"), ("p99 ms", "{:.2f}"), ("CPU us/req", "{:.2f}")]
            for i, (metric, fmt) in enumerate(metrics):
                rows.append((scenario["label"] if i == 0 else "", metric,
                             {t: per_target[t][i] for t, _ in TARGETS}, fmt))
            continue
        rate_cells, p99_cells, cpu_cells = {}, {}, {}
        for target, _ in TARGETS:
            mine = [r for r in runs
                    if r["scenario"] == scenario["name"] and r["target"] == target]
            rate_cells[target], p99_cells[target] = throughput_cells(
                mine, status(target, "throughput"))
            cpu_cells[target] = cpu_cell(mine, rate_cells[target])
        rows.append((scenario["label"], "req/s", rate_cells, "{:.0f}"))
        rows.append(("", "p99 ms", p99_cells, "{:.2f}"))
        rows.append(("", "CPU us/req", cpu_cells, "{:.2f}"))
    allocs = {r["target"]: r for kind, r in records if kind == "allocs"}
    if allocs or any(kind == "status" and r["phase"] == "allocations" for kind, r in records):
        cells = {target: allocation_cell(allocs.get(target), status(target, "allocations"))
                 for target, _ in TARGETS}
        rows.append(("keep-alive, 100 conns, counting allocator", "heap allocations/req", cells, "{:.2f}"))
    for mode, label in (("sequential", "idle keep-alive client conns"),
                        ("burst", "idle conns after a burst")):
        if not any(m == mode for m, _ in mems) and mode == "burst":
            continue
        cells = {target: memory_cell(mems.get((mode, target)), status(target, "memory"))
                 for target, _ in TARGETS}
        rows.append((label, "KiB/conn", cells, "{:.2f}"))
    return [(label, metric, [cells[t].render(fmt) for t, _ in TARGETS],
             [c.render("{:.2f}") for c in ratio_cells(cells)])
            for label, metric, cells, fmt in rows]


def header():
    return (["round", "metric"] + [name for _, name in TARGETS]
            + [name for _, name in COMPARED])


def as_text(rows):
    table = [header()] + [[label, metric] + cells + ratios
                          for label, metric, cells, ratios in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    lines = []
    for row in table:
        first = [row[0].ljust(widths[0]), row[1].ljust(widths[1])]
        rest = [cell.rjust(width) for cell, width in zip(row[2:], widths[2:])]
        lines.append("  ".join(first + rest).rstrip())
    return "\n".join(lines)


def as_markdown(rows):
    table = [header(), ["---", "---"] + ["---:"] * (len(header()) - 2)]
    table += [[label, metric] + cells + ratios for label, metric, cells, ratios in rows]
    return "\n".join("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |"
                     for row in table)


def per_run_markdown(records):
    lines = ["| round | target | req/s per run | p99 ms per run |", "|---|---|---|---|"]
    labels = {r["name"]: r["label"] for kind, r in records if kind == "scenario"}
    keys = []
    for kind, r in records:
        if kind == "run" and (r["scenario"], r["target"]) not in keys:
            keys.append((r["scenario"], r["target"]))
    for scenario, target in keys:
        runs = [r for kind, r in records if kind == "run"
                and r["scenario"] == scenario and r["target"] == target]
        if scenario == "streaming":
            rates = ", ".join(r.get("failure") or
                              f"{int(r['events']) / (int(r['duration_us']) / 1e6):.0f} events/s" for r in runs)
            p99s = ", ".join("-" if "failure" in r or "cpu_us" not in r else
                             f"CPU {int(r['cpu_us']) / max(int(r['events']), 1):.2f} us/event" for r in runs)
            lines.append(f"| {labels[scenario]} | {target} | {rates} | {p99s} |")
            continue
        rates = ", ".join(r.get("failure") or f"{rate(r):.0f}" for r in runs)
        p99s = ", ".join("-" if "failure" in r else f"{p99_ms(r):.2f}" for r in runs)
        if any("cpu_us" in r for r in runs):
            p99s += " (CPU us/req: " + ", ".join(
                "-" if "failure" in r or "cpu_us" not in r else f"{int(r['cpu_us']) / max(int(r['requests']), 1):.2f}"
                for r in runs) + ")"
        lines.append(f"| {labels[scenario]} | {target} | {rates} | {p99s} |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("records")
    parser.add_argument("--markdown", required=True, help="file to write")
    args = parser.parse_args()

    records = parse(args.records)
    meta = {}
    for kind, r in records:
        if kind == "meta":
            meta.update(r)
    rows = build_rows(records)
    legend = (
        "req/s and p99 are medians over the repeated rounds. Ratios are lbd's value "
        "over the other's: above 1 is better for req/s, below 1 is better for p99 "
        "and memory (and CPU us/event: the proxy's utime + stime over the streaming "
        "window / events the clients received; CPU us/req likewise over each "
        "round / the requests (WebSocket: echoed messages) it completed). heap allocations/req = "
        "malloc, calloc, realloc and aligned allocations by the proxy's processes during a "
        "keep-alive round after a one-second warm-up / the requests it served (a preloaded "
        "counter, bench.d/count_allocs.c). KiB/conn = (RSS with the idle connections open - RSS before) / "
        "connections, RSS summed over the proxy's processes; the clients connect one after another, or (after a burst) all send their request at once and then stay idle, RSS read 3 s after the last response (nginx: master + its "
        "one worker; HAProxy and lbd: their single process). 'direct' is wrk "
        "straight to one nginx backend, one round.")
    settings = "\n".join(f"- {k}: {v}" for k, v in meta.items())

    print(as_text(rows))
    with open(args.markdown, "w") as f:
        f.write("# lbd benchmark\n\n")
        f.write(settings + "\n\n")
        f.write(as_markdown(rows) + "\n\n")
        f.write(legend + "\n\n")
        f.write("## Every run\n\n" + per_run_markdown(records) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
