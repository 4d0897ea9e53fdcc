"""The client record (``client_record``'s document) as readable Markdown: the same content as
the JSON export, in the same order."""

from __future__ import annotations

from typing import Any

__all__ = ["record_markdown"]


def _line(text: object) -> str:
    """One value on one line: newlines folded, so a message cannot break the layout."""
    return " ".join(str(text).split())


def _frame(record: dict[str, Any]) -> list[str]:
    out = ["## Working agreement", ""]
    if not record["agreements"]:
        out += ["No working agreement was recorded.", ""]
    for a in record["agreements"]:
        out.append(
            f"### Version {a['version']} ({a['created_at']}, {'accepted' if a['accepted'] else 'not accepted'})"
        )
        out.append("")
        for key in (
            "sessions_per_week",
            "session_minutes",
            "cancellation_hours",
            "review_after_sessions",
            "supervising_clinician",
            "fees",
            "confidentiality",
            "limits_of_confidentiality",
            "ai_disclosure",
        ):
            out.append(f"- {key.replace('_', ' ').capitalize()}: {_line(a[key])}")
        out += [f"- Your change: {_line(c)}" for c in a["client_changes"]]
        out.append("")
    out += ["## Crisis plan", ""]
    if not record["crisis_plans"]:
        out += ["No crisis plan was recorded.", ""]
    for p in record["crisis_plans"]:
        out += [f"### Version {p['version']} ({p['created_at']})", ""]
        for key, title in (
            ("warning_signs", "Warning signs"),
            ("coping", "What helps"),
            ("people", "People"),
        ):
            out += [f"- {title}: {_line(v)}" for v in p[key]]
        out += [f"- Service: {_line(h['name'])}, {_line(h['contact'])}" for h in p["services"]]
        out.append("")
    return out


def _measures(record: dict[str, Any]) -> list[str]:
    out = ["## Questionnaires", ""]
    if not record["measures"]:
        return [*out, "No questionnaires were taken.", ""]
    out += ["| when | questionnaire | score | severity | answers |", "|---|---|---|---|---|"]
    for m in record["measures"]:
        flag = " (item 9 above 0)" if m["safety_flag"] else ""
        answers = " ".join(str(a) for a in m["answers"])
        out.append(f"| {m['at']} | {m['title']} | {m['score']} | {m['severity']}{flag} | {answers} |")
    return [*out, ""]


def _formulation(record: dict[str, Any]) -> list[str]:
    f = record["formulation"]
    out = ["## Formulation", ""]
    if f is None:
        return [*out, "No formulation has been signed off by a clinician.", ""]
    out += [f"Signed off by {_line(f['clinician'])} on {f['signed_at']}.", ""]
    out += [f"- {_line(i['statement'])}" for i in f["items"]]
    return [*out, ""]


def _sessions(record: dict[str, Any]) -> list[str]:
    out = ["## Sessions", ""]
    if not record["sessions"]:
        return [*out, "No sessions yet.", ""]
    for s in record["sessions"]:
        ended = s["ended_at"] or "not ended"
        out += [f"### Session {s['number']} ({s['kind']}), {s['started_at']} to {ended}", ""]
        summary = s["summary"]
        out.append(
            f"Client turns: {summary['client_utterances']}; therapist turns: {summary['therapist_utterances']}."
        )
        for heading, labels in summary["themes"].items():
            out.append(f"Themes ({heading}): {', '.join(str(x).replace('_', ' ') for x in labels)}.")
        out.append("")
        for u in s["utterances"]:
            out.append(f"**{u['speaker']}** ({u['ordinal']}, {u['at']}): {_line(u['text'])}")
            out.append("")
    return out


def record_markdown(record: dict[str, Any]) -> str:
    """The record as one Markdown document (UTF-8 text, ends with a newline)."""
    case = record["case"]
    lines = [
        f"# Therapy record: {_line(case['name'])}",
        "",
        f"Exported {record['exported_at']} (schema {record['schema']}). Supervising clinician: "
        f"{_line(case['clinician'])}. Case opened {case['created_at']}.",
        "",
        *_frame(record),
        *_measures(record),
        *_formulation(record),
        *_sessions(record),
    ]
    return "\n".join(lines).rstrip("\n") + "\n"
