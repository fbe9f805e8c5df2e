"""schemathesis hooks for scripts/api-fuzz.sh (loaded through SCHEMATHESIS_HOOKS).

The OpenAPI document states every constraint of the ledger API that JSON Schema can express (patterns,
ranges, lengths, enums, required fields, no unknown fields). Two rules of `POST /events` relate fields to
each other, which JSON Schema cannot state, and are written in the schema's descriptions instead:

- `window_end` must be after `window_start`;
- a given `event_id` must equal the sha256 the server computes from the event's identity.

Generated events that break them would all be refused with 400 before any handler logic runs, so this
hook puts each generated positive event in order: the window's ends are swapped when they are out of
order (moved 1 microsecond apart when equal) and `event_id` is left out. One more difference is in how
JSON Schema and serde read numbers: `3.0` is an `integer` to JSON Schema, not to serde's `u8`, so
integral floats in the integer fields are sent as integers. Nothing else of the generated data changes;
negative cases are left alone.
"""

from datetime import datetime, timedelta

import schemathesis


def _parse(text):
    try:
        return datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None


def _order_window(event):
    start, end = _parse(event.get("window_start")), _parse(event.get("window_end"))
    if start is None or end is None or start.tzinfo is None or end.tzinfo is None:
        return
    if end < start:
        event["window_start"], event["window_end"] = event["window_end"], event["window_start"]
    elif end == start:
        try:
            event["window_end"] = (end + timedelta(microseconds=1)).isoformat()
        except OverflowError:
            event["window_start"] = (start - timedelta(microseconds=1)).isoformat()


def _is_positive(case):
    meta = getattr(case, "meta", None)
    generation = getattr(meta, "generation", None)
    return generation is None or generation.mode == schemathesis.GenerationMode.POSITIVE


def _integral(value):
    # JSON Schema counts 3.0 as an integer; serde's u8/u32 accept only 3.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# A case-level hook: body hooks are not applied in the coverage phase, case hooks are (and in fuzzing).
@schemathesis.hook
def map_case(context, case):
    operation = case.operation
    if operation.method.upper() != "POST" or operation.path != "/events" or not _is_positive(case):
        return case
    body = case.body
    if isinstance(body, dict) and isinstance(body.get("events"), list):
        for event in body["events"]:
            if not isinstance(event, dict):
                continue
            event.pop("event_id", None)
            _order_window(event)
            if "schema_version" in event:
                event["schema_version"] = _integral(event["schema_version"])
            dims = event.get("dimensions")
            if isinstance(dims, dict) and "council_district" in dims:
                dims["council_district"] = _integral(dims["council_district"])
    return case
