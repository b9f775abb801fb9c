"""`pipeline status` as text: actors, connections, and per-stage counters."""

from __future__ import annotations

from typing import Any

STAGE_COLUMNS = {
    "connection": [
        ("frames_in", "frames"),
        ("batches_out", "batches"),
        ("dropped_frames", "drops"),
        ("reconnects", "reconnects"),
        ("stale_sessions", "stale"),
    ],
    "parser": [("frames_in", "frames"), ("events_out", "events"), ("parse_errors", "errors")],
    "handler": [
        ("events_in", "events in"),
        ("events_out", "published"),
        ("gaps", "gaps"),
        ("resyncs", "resyncs"),
        ("stale_subscriptions", "stale subs"),
        ("books_synced", "synced"),
        ("lost_batches", "lost"),
        ("parse_errors", "parse errors"),
    ],
}
LATENCY = {"parser": "parse_per_frame", "handler": "receive_to_publish"}


def render(data: dict[str, Any]) -> str:
    """The status as text; a ``*`` before a pid marks an actor adopted from a predecessor."""
    lines = [
        f"pipeline {data['topology']}  up {data['uptime_s']} s  run_dir {data['run_dir']}"
        + ("  [simulated venues]" if data["simulate"] else "")
    ]
    coordinator = data.get("coordinator")
    if coordinator:
        adopted = coordinator["adopted_from"]
        lines.append(
            f"  coordinator pid {coordinator['pid']}"
            + (f" (adopted the pipeline of pid {adopted})" if adopted else "")
            + f"; reports every {coordinator['report_every_s']:g} s, hung after "
            f"{coordinator['hung_after_s']:g} s silent, actors wait "
            f"{coordinator['coordinator_grace_s']:g} s for a lost coordinator"
        )
    if control := data.get("control"):
        line = f"  control {control['endpoint']}"
        if control["curve"]:
            line += f" (CURVE; unknown client keys refused: {control['refused_clients']})"
        lines.append(line)
    for name, venue in data["venues"].items():
        subs = sum(len(share) for share in venue["subscriptions"])
        lines.append(
            f"  {name}: {subs} subscriptions, publish {venue['publish']}, ws {venue['ws_url']}"
        )
        stale = venue.get("stale_subscriptions", 0)
        if stale:
            now = ", ".join(venue.get("stale_now", [])) or "none now"
            lines.append(f"    stale subscriptions: {stale} (still silent: {now})")
    lines.append("")
    lines.append(
        f"{'actor':<28} {'state':<12} {'pid':>8} {'up s':>8} {'restarts':>8} {'hung':>4}  "
        "rate/s    details"
    )
    for actor in data["actors"]:
        lines.append(_actor_line(actor))
    if data["notices"]:
        lines.append("")
        lines.append("recent notices:")
        for notice in data["notices"][-8:]:
            lines.append(
                f"  [{notice['level']}] {notice['actor']}: {notice['what']} {notice['detail']}"
            )
    return "\n".join(lines)


def _actor_line(actor: dict[str, Any]) -> str:
    kind, counters, info = actor["kind"], actor["counters"], actor["info"]
    rate = actor["rates"].get("frames_in") or actor["rates"].get("events_out") or 0.0
    details = [f"{label} {counters.get(key, 0)}" for key, label in STAGE_COLUMNS.get(kind, [])]
    latency_key = LATENCY.get(kind)
    if latency_key and f"{latency_key}_p50" in actor["latency_us"]:
        lat = actor["latency_us"]
        details.append(
            f"p50 {lat[latency_key + '_p50']:.0f}us p99 {lat[latency_key + '_p99']:.0f}us"
        )
    if kind == "connection" and info:
        details.insert(
            0,
            f"{info.get('state')} subs {info.get('subscriptions')} "
            f"last frame {info.get('last_frame_age_s')} s ago",
        )
    if kind == "handler" and info:
        details.append(f"books {info.get('books_live')}/{info.get('books')} live")
    pid = "-" if actor["pid"] is None else f"{'*' if actor.get('adopted') else ''}{actor['pid']}"
    return (
        f"{actor['name']:<28} {actor['state']:<12} {pid:>8} {actor['uptime_s']:>8} "
        f"{actor['restarts']:>8} {actor.get('hung', 0):>4}  {rate:>8.1f}  {', '.join(details)}"
    )
