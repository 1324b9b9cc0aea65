#!/usr/bin/env python3
"""The ratios issue targets name, from one bench/compare run's reports (its .work folder).

Reads whatever the run produced (a part left out with --only is left out here) and
prints one JSON object: each ratio with the figures it comes from and, where the
project set one, its target and whether this run met it.
"""
import json
import os
import sys

out = sys.argv[1]


def load(name):
    path = os.path.join(out, name)
    return json.load(open(path)) if os.path.exists(path) else None


def number(name):
    path = os.path.join(out, name)
    try:
        return float(open(path).read().strip())
    except (OSError, ValueError):
        return None


def ratio(a, b):
    return None if a is None or not b else round(a / b, 3)


def check(value, op, limit):
    if value is None:
        return None
    return value <= limit if op == "<=" else value >= limit


ratios = {}

# Bayeux fan-out against Faye, at each rate run.
for rate in (100, 500, 1000):
    fb, fy = load(f"forcebus-fanout-{rate}.json"), load(f"faye-fanout-{rate}.json")
    if not fb or not fy:
        continue
    a, b = fb["result"], fy["result"]
    offered = fb["parameters"]["rate"] * fb["parameters"]["clients"] / fb["parameters"]["rooms"]
    # Of what was offered (publishes the load generator could not send count as missing).
    delivered = a["throughput_per_sec"] / offered
    cpu = ratio(a.get("server_cpu_us_per_delivery"), b.get("server_cpu_us_per_delivery"))
    cpu_target = 0.3 if offered <= 10_000 else 0.5
    p99 = a["latency_ms"]["p99"]
    p99_target = 100 if offered >= 100_000 else 50 if offered >= 50_000 else None
    ratios[f"fanout {offered / 1000:.0f}k/s"] = {
        "delivered_per_sec": [a["throughput_per_sec"], b["throughput_per_sec"]],
        "forcebus_delivered_fraction": round(delivered, 4),
        "delivered_target": ">= 0.98" if offered >= 100_000 else None,
        "delivered_met": check(delivered, ">=", 0.98) if offered >= 100_000 else None,
        "p99_ms": [p99, b["latency_ms"]["p99"]],
        "p99_target_ms": p99_target,
        "p99_met": check(p99, "<=", p99_target) if p99_target else None,
        "cpu_us_per_delivery": [a.get("server_cpu_us_per_delivery"), b.get("server_cpu_us_per_delivery")],
        "cpu_ratio": cpu,
        "cpu_target": f"<= {cpu_target}",
        "cpu_met": check(cpu, "<=", cpu_target),
        "rss_bytes": [fb.get("server_rss_bytes"), number(f"faye-rss-{rate}")],
    }

# Durable publish and replay against NATS JetStream.
for scenario, key in (("pubsub-publish", "throughput_per_sec"), ("replay", "read_per_sec")):
    full = load(f"forcebus-{scenario}-full.json")
    normal = load(f"forcebus-{scenario}-normal.json")
    nats = load(f"nats-{scenario}.json")
    if not full or not nats:
        continue
    nats_rss = number(f"nats-rss-{scenario}")
    entry = {
        "per_sec": [full["result"][key], normal["result"][key] if normal else None, nats["result"][key]],
        "ratio_full": ratio(full["result"][key], nats["result"][key]),
        "ratio_normal": ratio(normal["result"][key], nats["result"][key]) if normal else None,
        "rss_bytes": [full.get("server_rss_bytes"), nats_rss],
        "rss_ratio_full": ratio(full.get("server_rss_bytes"), nats_rss),
    }
    if scenario == "pubsub-publish":
        entry["rss_target"] = "<= 2.0"
        entry["rss_met"] = check(entry["rss_ratio_full"], "<=", 2.0)
    ratios[f"{scenario} / JetStream"] = entry

# forcebus on PostgreSQL against forcebus on SQLite.
engines = {}
for name in ("pubsub-publish", "replay", "cdc-e2e", "org-churn"):
    sq, pg = load(f"engines-{name}-sqlite.json"), load(f"engines-{name}-postgres.json")
    if not sq or not pg:
        continue
    s, p = sq["result"], pg["result"]
    if name == "pubsub-publish":
        r = ratio(p["throughput_per_sec"], s["throughput_per_sec"])
        engines["publish"] = {"per_sec": [p["throughput_per_sec"], s["throughput_per_sec"]], "ratio": r,
                              "target": ">= 0.7", "met": check(r, ">=", 0.7)}
    elif name == "replay":
        r = ratio(p["read_per_sec"], s["read_per_sec"])
        engines["replay"] = {"per_sec": [p["read_per_sec"], s["read_per_sec"]], "ratio": r,
                             "target": ">= 0.7", "met": check(r, ">=", 0.7)}
    elif name == "cdc-e2e":
        rate = pg["parameters"]["rate"]
        held = p["throughput_per_sec"] >= 0.98 * rate
        engines["cdc-e2e"] = {"offered_per_sec": rate,
                              "per_sec": [p["throughput_per_sec"], s["throughput_per_sec"]],
                              "p99_ms": [p["latency_ms"]["p99"], s["latency_ms"]["p99"]],
                              "target": "holds 2,000/s with p99 < 20 ms on PostgreSQL",
                              "met": rate >= 2000 and held and p["latency_ms"]["p99"] < 20}
    else:
        engines["org create p50"] = {"ms": [p["create_ms"]["p50"], s["create_ms"]["p50"]],
                                     "ratio": ratio(p["create_ms"]["p50"], s["create_ms"]["p50"])}
if engines:
    ratios["PostgreSQL / SQLite"] = engines

print(json.dumps({"comparison": "every ratio of the run (first figure forcebus, or forcebus on PostgreSQL)",
                  "ratios": ratios}, indent=2))
