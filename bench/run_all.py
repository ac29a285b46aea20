"""Every lead and object benchmark at the size of a real instance, against its bare floor.

    .venv/bin/python bench/run_all.py [--sizes 10000,100000,1000000] [--db sqlite|postgresql://HOST:PORT]
                                      [--out docs/benchmarks.md] [--plot docs/images/cost-per-call.png]

For each size: the cached database from build_db.py (built when missing), a real
`mktows serve` on it (127.0.0.1, call limits off, an instance file with the bench user and a
custom object), then, each bounded in count and time:

- getLead by IDNUM, EMAIL, COOKIE and SFDCLEADID (keys that match one lead), 10 keep-alive
  clients from `wrk` for --seconds each: calls/s, p50 and p99; plus a short sequential probe by
  SFDCACCOUNTID (five leads share each value);
- getMultipleLeads, LastUpdateAtSelector, batchSize 1000, the 10 fields: one stream from the
  oldest lead (all of it when it fits --stream-seconds, else its head plus the last pages,
  reached through a window that starts near the end), first and last page times, server RSS;
  and the vendor's advice, 10 windows of 30 days paged in parallel by 10 client threads;
- syncMultipleLeads, 300 new leads a call with the 10 fields (--sync-leads in all);
- syncMObjects, getMObjects, syncCustomObjects, getCustomObjects (objects_throughput.py).

Then, with the server stopped, the floors: bare sqlite3 (or psycopg) plus bare lxml doing the
same work on the same database in the same run. What the benchmark wrote is deleted again
(build_db.reset). Results go to bench/.data/results/<backend>-<size>.json; --out renders every
stored result into the generated section of the benchmarks page, and --plot draws cost per call
against database size.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import build_db as B
import leadbench as L
import objects_throughput
from soapbench import start_server, stop_server

RESULTS = B.DATA / "results"
ROOT = B.HERE.parent
BEGIN, END = "<!-- BEGIN run_all.py: generated, do not edit by hand -->", "<!-- END run_all.py -->"
OBJECT_OPS = ("syncMObjects", "getMObjects", "syncCustomObjects", "getCustomObjects")


def backend_of(db: str) -> str:
    return "sqlite" if db == "sqlite" else "postgresql"


def measure(size: int, db: str, args: argparse.Namespace) -> dict[str, Any]:
    built = B.ensure(size, db)
    B.reset(built)
    with tempfile.TemporaryDirectory(prefix="mktows-bench-") as tmp:
        return _measure(built, size, db, args, Path(tmp))


def _measure(built: B.Built, size: int, db: str, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    out: dict[str, Any] = {
        "size": size,
        "backend": backend_of(db),
        "url": built.url,
        "build_seconds": built.seconds,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "ops": {},
    }
    ops = out["ops"]
    proc, url = start_server(built.url, work, objects_throughput.INSTANCE)
    pid = proc.pid
    try:
        L.verify(built, url)
        out["rss_start_mb"] = L.rss_kb(pid) / 1024
        L.wrk_get_lead(url, size, "IDNUM", 2, 10, work, pid)  # warm-up, not counted
        for key_type in L.KEY_TYPES:
            r = L.wrk_get_lead(url, size, key_type, args.seconds, 10, work, pid)
            ops[f"getLead {key_type}"] = {
                "unit": "calls/s",
                "server": r["calls_per_s"],
                "ms": r["ms_per_call"],
                "p50_ms": r["p50_ms"],
                "p99_ms": r["p99_ms"],
                "requests": r["requests"],
            }
            print(
                f"  getLead {key_type:10}: {r['calls_per_s']:7.0f} calls/s, p50 {r['p50_ms']:.1f} ms, "
                f"p99 {r['p99_ms']:.1f} ms",
                flush=True,
            )
        r = L.probe_get_lead(url, size, "SFDCACCOUNTID")
        ops["getLead SFDCACCOUNTID (5 leads a key, sequential)"] = {
            "unit": "ms",
            "server": r["p50_ms"],
            "ms": r["p50_ms"],
        }
        print(f"  getLead SFDCACCOUNTID (sequential probe): p50 {r['p50_ms']:.1f} ms", flush=True)

        oldest = built.start - timedelta(days=1)
        rss0 = L.rss_kb(pid)
        head = L.stream(url, oldest, None, max_pages=args.stream_pages, max_seconds=args.stream_seconds, pid=pid)
        stream = {
            "unit": "leads/s",
            "server": head["leads_per_s"],
            "ms": head["median_page_ms"],
            "first_page_ms": head["first_page_ms"],
            "pages": head["pages"],
            "leads": head["leads"],
            "complete": head["remaining"] == 0,
            "rss_growth_mb": (max(head["rss_kb"]) - rss0) / 1024,
        }
        if head["remaining"]:
            tail_from = L.tail_start(built, args.tail_pages * L.PAGE)
            tail = L.stream(
                url, tail_from, None, max_pages=args.tail_pages + 2, max_seconds=args.stream_seconds, pid=pid
            )
            stream["last_page_ms"] = tail["last_page_ms"]
            stream["tail_first_page_ms"] = tail["first_page_ms"]
            stream["rss_growth_mb"] = (max(head["rss_kb"] + tail["rss_kb"]) - rss0) / 1024
        else:
            stream["last_page_ms"] = head["last_page_ms"]
        ops["getMultipleLeads stream"] = stream
        print(
            f"  getMultipleLeads stream: {head['leads_per_s']:7.0f} leads/s over {head['pages']} pages "
            f"({'all' if stream['complete'] else 'head + tail'}); first page {stream['first_page_ms']:.0f} ms, "
            f"last page {stream['last_page_ms']:.0f} ms; RSS +{stream['rss_growth_mb']:.0f} MB",
            flush=True,
        )
        r = L.parallel_windows(url, built, args.window_pages, args.stream_seconds)
        ops["getMultipleLeads 10 windows in parallel"] = {
            "unit": "leads/s",
            "server": r["leads_per_s"],
            "ms": r["seconds"] * 1000 / r["pages"],
            "pages": r["pages"],
            "leads": r["leads"],
            "complete": r["complete"],
        }
        print(
            f"  getMultipleLeads 10 windows: {r['leads_per_s']:7.0f} leads/s ({r['leads']} leads, {r['pages']} pages)",
            flush=True,
        )

        r = L.sync(url, args.sync_leads)
        ops["syncMultipleLeads"] = {
            "unit": "leads/s",
            "server": r["leads_per_s"],
            "ms": r["ms_per_call"],
            "leads": r["leads"],
        }
        print(
            f"  syncMultipleLeads: {r['leads_per_s']:7.0f} leads/s ({r['leads']} new leads, "
            f"{r['ms_per_call']:.0f} ms a call)",
            flush=True,
        )
        if args.objects:
            timings = objects_throughput.measure_server(url, args.objects)
            for label in OBJECT_OPS:
                ops[label] = {
                    "unit": "objects/s",
                    "server": args.objects / timings[label],
                    "ms": timings[label] * 1000 / (args.objects / objects_throughput.BATCH),
                }
                print(f"  {label:18}: {ops[label]['server']:7.0f} objects/s", flush=True)
        out["rss_end_mb"] = L.rss_kb(pid) / 1024
    finally:
        stop_server(proc)
        B.reset(built)

    # the floors, with the server stopped, on the same database
    for key_type in L.KEY_TYPES:
        r = L.floor_get_lead(built, key_type)
        ops[f"getLead {key_type}"] |= {"floor": r["calls_per_s"], "floor_ms": r["ms_per_call"]}
    s = ops["getMultipleLeads stream"]
    r = L.floor_stream(built, oldest, None, max_pages=s["pages"], max_seconds=args.stream_seconds)
    s |= {"floor": r["leads_per_s"], "floor_ms": r["median_page_ms"]}
    total, pages, began = 0, 0, time.perf_counter()
    for w in L.windows(built):
        r = L.floor_stream(built, w[0], w[1], max_pages=args.window_pages, max_seconds=args.stream_seconds)
        total, pages = total + r["leads"], pages + r["pages"]
    elapsed = time.perf_counter() - began
    ops["getMultipleLeads 10 windows in parallel"] |= {
        "floor": total / elapsed,
        "floor_ms": elapsed * 1000 / pages,
        "floor_note": "one thread, windows one after another",
    }
    r = L.floor_sync(built, args.sync_leads)
    ops["syncMultipleLeads"] |= {"floor": r["leads_per_s"], "floor_ms": r["ms_per_call"]}
    B.reset(built)
    if args.objects:
        bare = objects_throughput.run_bare(argparse.Namespace(objects=args.objects), work)
        for label in OBJECT_OPS:
            ops[label] |= {
                "floor": args.objects / bare[label],
                "floor_ms": bare[label] * 1000 / (args.objects / objects_throughput.BATCH),
            }
    for op in ops.values():
        if op.get("floor"):
            op["ratio"] = op["floor"] / op["server"]
    if args.store:
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / f"{out['backend']}-{size}.json").write_text(json.dumps(out, indent=1))
    return out


# --- reporting ------------------------------------------------------------------------


def fmt(v: float) -> str:
    return f"{v:,.0f}" if v >= 100 else f"{v:,.1f}" if v >= 10 else f"{v:.2f}"


def print_table(results: list[dict[str, Any]]) -> None:
    for res in results:
        print(f"\n{res['backend']} {res['size']:,} leads (built in {res['build_seconds']} s)")
        print(f"  {'operation':44} {'server':>12} {'floor':>12} {'ratio':>7} {'ms/call':>9}")
        for name, op in res["ops"].items():
            floor = fmt(op["floor"]) if op.get("floor") else "-"
            ratio = f"{op['ratio']:.1f}x" if op.get("ratio") else "-"
            print(f"  {name:44} {fmt(op['server']):>12} {floor:>12} {ratio:>7} {fmt(op['ms']):>9}  {op['unit']}")


def stored() -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for path in sorted(RESULTS.glob("*.json")):
        res = json.loads(path.read_text())
        out.setdefault(res["backend"], []).append(res)
    for runs in out.values():
        runs.sort(key=lambda r: r["size"])
    return dict(sorted(out.items(), key=lambda item: item[0] != "sqlite"))


def machine() -> dict[str, str]:
    import lxml.etree

    mem = next(ln for ln in Path("/proc/meminfo").read_text().splitlines() if ln.startswith("MemTotal"))
    info = {
        "cores": str(os.cpu_count()),
        "ram": f"{int(mem.split()[1]) / 1024 / 1024:.0f} GB",
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "lxml": ".".join(map(str, lxml.etree.LXML_VERSION[:3])),
        "postgresql": "not measured",
    }
    try:
        import psycopg

        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", connect_timeout=3) as db:
            info["postgresql"] = db.execute("SHOW server_version").fetchone()[0]
    except Exception:  # noqa: BLE001 - the version line is informative only
        pass
    return info


def render(results: dict[str, list[dict[str, Any]]], plot: str | None) -> str:
    m = machine()
    lines = [
        BEGIN,
        "",
        f"Machine: {m['cores']} cores, {m['ram']} RAM, Python {m['python']}, SQLite {m['sqlite']}, "
        f"PostgreSQL {m['postgresql']} on 127.0.0.1, lxml {m['lxml']}, wrk 4.1. Runs: "
        + ", ".join(
            f"{b} {r['size']:,} on {r['date'][:16].replace('T', ' ')} UTC" for b, runs in results.items() for r in runs
        )
        + ".",
        "",
    ]
    if plot:
        lines += [f"![cost per call against database size]({os.path.relpath(plot, ROOT / 'docs')})", ""]
    for backend, runs in results.items():
        sizes = [r["size"] for r in runs]
        lines += [
            f"#### {'SQLite' if backend == 'sqlite' else 'PostgreSQL'}",
            "",
            "Each cell: the server's figure, the bare floor's figure measured in the same run, and how many "
            "times faster the floor was. Last column: server cost per call at the largest size divided by "
            "its cost at the smallest (1.0 = does not grow with the database).",
            "",
            "| operation | unit | " + " | ".join(f"{s:,} leads" for s in sizes) + " | cost growth |",
            "| --- | --- | " + " | ".join("---" for _ in sizes) + " | --- |",
        ]
        names = list(dict.fromkeys(n for r in runs for n in r["ops"]))
        for name in names:
            cells = []
            for r in runs:
                op = r["ops"].get(name)
                if op is None:
                    cells.append("")
                    continue
                cell = fmt(op["server"])
                if name.startswith("getLead") and "p50_ms" in op:
                    cell += f" (p50 {op['p50_ms']:.1f} / p99 {op['p99_ms']:.1f} ms)"
                if op.get("floor"):
                    cell += f"; floor {fmt(op['floor'])}; {op['ratio']:.1f}x"
                if name == "getMultipleLeads stream":
                    cell += (
                        f"; page 1 {op['first_page_ms']:.0f} ms, last {op['last_page_ms']:.0f} ms; "
                        f"{op['pages']} pages{'' if op['complete'] else ' + tail'}; RSS +{op['rss_growth_mb']:.0f} MB"
                    )
                cells.append(cell)
            first = next((r["ops"][name] for r in runs if name in r["ops"]), None)
            last = next((r["ops"][name] for r in reversed(runs) if name in r["ops"]), None)
            growth = f"{last['ms'] / first['ms']:.1f}x" if first and last and first is not last else ""
            unit = runs[0]["ops"].get(name, {}).get("unit", "")
            lines.append(f"| {name} | {unit} | " + " | ".join(cells) + f" | {growth} |")
        build = ", ".join(f"{r['size']:,}: {r['build_seconds']:.0f} s" for r in runs)
        lines += ["", f"Database build times (build_db.py, cached afterwards): {build}.", ""]
    lines.append(END)
    return "\n".join(lines)


def write_doc(path: Path, section: str) -> None:
    text = path.read_text() if path.exists() else "# Benchmarks\n\n"
    if BEGIN in text and END in text:
        text = text[: text.index(BEGIN)] + section + text[text.index(END) + len(END) :]
    else:
        text = text.rstrip() + "\n\n" + section + "\n"
    path.write_text(text)


def draw(results: dict[str, list[dict[str, Any]]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(results), figsize=(7 * len(results), 7), squeeze=False)
    colors = plt.get_cmap("tab20").colors
    for ax, (backend, runs) in zip(axes[0], results.items(), strict=True):
        names = list(dict.fromkeys(n for r in runs for n in r["ops"]))
        for k, name in enumerate(names):
            pts = [(r["size"], r["ops"][name]["ms"]) for r in runs if name in r["ops"]]
            style = "--" if "SFDCACCOUNTID" in name else "-"
            ax.plot(
                [p[0] for p in pts],
                [p[1] for p in pts],
                style,
                marker="osD^v<>ph*"[k % 10],
                color=colors[(2 * k) % 20 + (k >= 10)],
                label=name,
            )
        ax.set_xscale("log")
        ax.set_xlim(7e3, 1.4e6)
        ax.set_yscale("log")
        ax.set_xlabel("leads in the database")
        ax.set_ylabel("ms per call (server)")
        ax.set_title(f"mktows on {'SQLite' if backend == 'sqlite' else 'PostgreSQL'}")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2)
    fig.suptitle(
        "Server cost per call against database size\n(getLead: 1 / calls per second with 10 clients; "
        "\ngetMultipleLeads: one 1000-lead page; syncMultipleLeads: 300 leads; objects: 100)",
        fontsize=9,
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--db", default="sqlite", help="sqlite, or a PostgreSQL server URL (postgresql://...)")
    parser.add_argument("--out", help="the benchmarks page whose generated section to (re)write")
    parser.add_argument(
        "--plot", default=None, help="PNG of cost per call (default docs/images/cost-per-call.png with --out)"
    )
    parser.add_argument("--seconds", type=int, default=10, help="wrk duration per getLead key type")
    parser.add_argument("--stream-pages", type=int, default=400, help="cap on the pages of one stream's head")
    parser.add_argument("--stream-seconds", type=float, default=120, help="cap on the time of one stream")
    parser.add_argument("--tail-pages", type=int, default=5)
    parser.add_argument("--window-pages", type=int, default=20, help="cap on the pages of each parallel window")
    parser.add_argument("--sync-leads", type=int, default=30_000)
    parser.add_argument("--objects", type=int, default=3000, help="objects of each kind (0: skip)")
    parser.add_argument("--report-only", action="store_true", help="render the stored results, measure nothing")
    parser.add_argument(
        "--no-store",
        dest="store",
        action="store_false",
        help="print only; keep the stored results (for quick smoke runs with small bounds)",
    )
    args = parser.parse_args()
    if not args.report_only:
        runs = []
        for size in (int(s) for s in args.sizes.split(",")):
            print(f"== {backend_of(args.db)}, {size:,} leads", flush=True)
            runs.append(measure(size, args.db, args))
        print_table(runs)
    if args.out:
        plot = args.plot or str(ROOT / "docs" / "images" / "cost-per-call.png")
        results = stored()
        draw(results, Path(plot))
        write_doc(Path(args.out), render(results, str(Path(plot).resolve())))
        print(f"wrote {args.out} and {plot}")
    elif args.plot:
        draw(stored(), Path(args.plot))


if __name__ == "__main__":
    sys.exit(main())
