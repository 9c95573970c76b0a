"""The OpenAPI 3.1 document for both surfaces, served at `GET /openapi.json`.

The document is plain data built once from reusable components. It describes what
the server really answers: the shapes come from the records' `to_json()` methods and
the control routes, and the test suite checks the two against each other (every
route documented, every documented path served, every response validated). Paths
that exist only in the mock carry `x-mock-extension: true` and the tag `mock`; the
provider's own API carries the tag `augnet`.
"""

from __future__ import annotations

from copy import deepcopy
from functools import cache
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ._version import __version__
from .control import LATEST_EPOCH
from .models import (
    DEFAULT_API_KEY,
    DEFAULT_FALLBACK_SENDER,
    DEFAULT_PROJECT_ID,
    DEFAULT_SIGNING_KEY,
    MAX_SUBMITS_PER_SECOND,
    SMPP_PASSWORD_MAX,
    SMPP_SYSTEM_ID_MAX,
    SOURCES,
    STATUSES,
)
from .paging import CURSOR_PATTERN, DEFAULT_LIMIT, MAX_LIMIT, SCAN_BUDGET
from .pricing import MAX_ENTRIES, MAX_PRICE
from .scenarios import (
    CALLBACK_FAULTS,
    FINAL_FAULT_STATUSES,
    MATCH_FIELDS,
    MAX_LATENCY,
    MAX_PATTERN_LENGTH,
    MAX_RETRY_AFTER,
    MAX_TIMES,
)
from .validation import (
    MAX_ALPHANUMERIC_SENDER,
    MAX_DELAY,
    MAX_URL_LENGTH,
    SAFE_ID,
    SAFE_ID_RULE,
)

Schema = dict[str, Any]

OPENAPI_VERSION = "3.1.0"
MOCK_EXTENSION = "x-mock-extension"
JSON = "application/json"

# -- schema helpers -------------------------------------------------------------------


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: Schema) -> Schema:
    """`schema` or JSON null (OpenAPI 3.1 has no `nullable`; JSON Schema says it so)."""
    if set(schema) == {"type"} and isinstance(schema["type"], str):
        return {"type": [schema["type"], "null"]}
    return {"anyOf": [schema, {"type": "null"}]}


def obj(
    properties: dict[str, Schema],
    *,
    required: tuple[str, ...] | None = None,
    closed: bool = True,
    description: str | None = None,
) -> Schema:
    """An object schema; by default every property is required and no other is allowed.

    Responses are closed so that a field the server starts sending without the
    document saying so fails the schema check instead of passing unnoticed.
    """
    schema: Schema = {
        "type": "object",
        "properties": properties,
        "required": list(properties if required is None else required),
    }
    if closed:
        schema["additionalProperties"] = False
    if description:
        schema["description"] = description
    return schema


def list_of(key: str, item: str) -> Schema:
    """The wrapper every list comes in, e.g. `{"messages": [...], "nextCursor": null}`
    (SPEC §2.1.1, §2.4.1)."""
    cursor = {
        "type": ["string", "null"],
        "description": "pass as `cursor` for the next page; null on the last page",
    }
    return obj({key: {"type": "array", "items": ref(item)}, "nextCursor": cursor})


STRING: Schema = {"type": "string"}
NON_EMPTY: Schema = {"type": "string", "minLength": 1}
INTEGER: Schema = {"type": "integer"}
SECONDS: Schema = {"type": "number", "minimum": 0, "description": "seconds"}
DELAY: Schema = {**SECONDS, "maximum": MAX_DELAY}
LATENCY: Schema = {**SECONDS, "maximum": MAX_LATENCY}
SAFE_ID_SCHEMA: Schema = {
    "type": "string",
    "pattern": f"^{SAFE_ID.pattern}$",
    "description": SAFE_ID_RULE,
}
TIMESTAMP: Schema = {
    "type": "string",
    "format": "date-time",
    "description": "ISO-8601 UTC with milliseconds, e.g. 2026-01-08T17:24:57.123Z",
}
HTTP_URL: Schema = {
    "type": "string",
    "format": "uri",
    "pattern": "^[Hh][Tt][Tt][Pp][Ss]?://",
    "maxLength": MAX_URL_LENGTH,
    "description": "an absolute http(s) URL",
}
E164: Schema = {
    "type": "string",
    "pattern": r"^\+[1-9][0-9]{7,14}$",
    "description": 'E.164: "+" then 8 to 15 digits, not starting with 0',
    "examples": ["+447515650839"],
}
SENDER: Schema = {
    "description": (
        "a phone number, a short code (3 to 15 digits, optional +), or an alphanumeric "
        f"sender ID of at most {MAX_ALPHANUMERIC_SENDER} characters with at least one letter"
    ),
    "anyOf": [
        {"type": "string", "pattern": r"^\+?[0-9]{3,15}$"},
        {
            "type": "string",
            "minLength": 1,
            "maxLength": MAX_ALPHANUMERIC_SENDER,
            "pattern": "^[A-Za-z0-9 .&_-]*[A-Za-z][A-Za-z0-9 .&_-]*$",
        },
    ],
    "examples": ["ABCTAXI", DEFAULT_FALLBACK_SENDER],
}
STATUS: Schema = {"type": "string", "enum": list(STATUSES)}


def _matcher_object() -> Schema:
    pattern = {
        "type": "string",
        "maxLength": MAX_PATTERN_LENGTH,
    }
    return {
        "type": "object",
        "description": "exactly one match kind",
        "properties": {
            "exact": STRING,
            "glob": {**pattern, "description": "fnmatch: * ? [...]"},
            "regex": {
                **pattern,
                "description": "RE2 syntax (no backreferences or lookaround), searched "
                "anywhere in the value; a pattern too complex for the size budget gets 400",
            },
        },
        "minProperties": 1,
        "maxProperties": 1,
        "additionalProperties": False,
    }


def _effect() -> Schema:
    statuses = list(STATUSES)
    return {
        "type": "object",
        "description": "what the rule does when it fires; at least one effect",
        "minProperties": 1,
        "additionalProperties": False,
        # An errorCode only shows on a final status, so one without it is refused.
        "if": {"properties": {"errorCode": STRING}, "required": ["errorCode"]},
        "then": {
            "properties": {"finalStatus": {"type": "string"}},
            "required": ["finalStatus"],
        },
        "properties": {
            "apiError": obj(
                {
                    "status": {
                        "type": "integer",
                        "minimum": 400,
                        "maximum": 599,
                        "default": 500,
                    },
                    "message": {"type": "string", "default": "simulated error"},
                    "retryAfter": {
                        **nullable({"type": "integer", "minimum": 0, "maximum": MAX_RETRY_AFTER}),
                        "description": "seconds, sent as Retry-After; defaults to 1 for a 429",
                    },
                },
                required=(),
                description="answer the send with this error instead of accepting it",
            ),
            "latency": {
                "description": "wall-clock seconds added to the API answer (fixed or a range)",
                "anyOf": [
                    LATENCY,
                    obj({"min": LATENCY, "max": LATENCY}, required=()),
                ],
            },
            "dropConnection": {
                "type": "boolean",
                "description": "close the socket with no answer",
            },
            "sendDelay": {**DELAY, "description": "seconds from queued to sent"},
            "deliveryDelay": {**DELAY, "description": "seconds from sent to the final status"},
            "finalStatus": nullable({"type": "string", "enum": list(FINAL_FAULT_STATUSES)}),
            "errorCode": {
                **nullable(STRING),
                "description": "the final status's error code; needs a finalStatus",
            },
            "callback": {
                "type": "object",
                "description": "callback misbehaviour, for testing a receiver",
                "additionalProperties": False,
                "properties": {
                    fault: (
                        {
                            "anyOf": [
                                {"type": "string", "enum": statuses},
                                {"type": "array", "items": {"type": "string", "enum": statuses}},
                            ],
                            "description": "never post these statuses",
                        }
                        if fault == "drop"
                        else {"type": "boolean"}
                    )
                    for fault in CALLBACK_FAULTS
                },
            },
        },
    }


def _error(status: Schema) -> Schema:
    return obj(
        {
            "timestamp": TIMESTAMP,
            "status": status,
            "error": {"type": "string", "description": "the status's reason phrase"},
            "message": {"type": "string", "description": "exactly what was wrong"},
            "path": STRING,
        }
    )


def schemas() -> dict[str, Schema]:
    matcher = {
        "description": "a string (exact match) or one of {exact|glob|regex: pattern}",
        "anyOf": [STRING, _matcher_object()],
    }
    smpp_credentials = {
        "systemId": {"type": "string", "minLength": 1, "maxLength": SMPP_SYSTEM_ID_MAX},
        "password": {"type": "string", "minLength": 1, "maxLength": SMPP_PASSWORD_MAX},
    }
    project_fields: dict[str, Schema] = {
        "projectId": {
            **nullable(SAFE_ID_SCHEMA),
            "description": f"{SAFE_ID_RULE}; generated (a UUID) when left out",
        },
        "apiKey": nullable(NON_EMPTY),
        "signingKey": {
            **nullable(STRING),
            "description": "null or empty: callbacks are not signed; left out: generated",
        },
        "senders": {
            "type": "array",
            "items": SENDER,
            "description": "the whitelist of senders that go out as requested",
        },
        "fallbackSender": SENDER,
        "webhookUrl": nullable(HTTP_URL),
        "inboundWebhookUrl": nullable(HTTP_URL),
        "smpp": obj(smpp_credentials, required=()),
        "smppMaxSubmitsPerSecond": {
            **nullable(
                {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_SUBMITS_PER_SECOND}
            ),
            "description": "SMPP submit_sm a second before ESME_RTHROTTLED; null: no limit",
        },
        "sendDelay": nullable(DELAY),
        "deliveryDelay": nullable(DELAY),
        "strict": {
            **nullable({"type": "boolean"}),
            "description": "refuse sends with unknown fields (400); null: the server's --strict",
        },
        "prices": {
            **nullable(ref("PriceTable")),
            "description": "this project's price table, replacing the server's; null: the server's",
        },
        "callbackTo": {
            "type": "boolean",
            "description": "status callbacks carry `To` (true, the documented example) or omit "
            "it (false, as the provider's captured callback does)",
        },
    }
    price: Schema = {"type": "number", "minimum": 0, "maximum": MAX_PRICE}
    usage_fields: dict[str, Schema] = {
        "messages": {"type": "integer", "minimum": 0},
        "parts": {"type": "integer", "minimum": 0},
        "cost": {"type": "number", "minimum": 0},
    }
    return {
        "Error": {
            **_error({"type": "integer", "minimum": 100, "maximum": 599}),
            "description": "Every error, on both surfaces (Spring Boot's default error body).",
            "examples": [
                {
                    "timestamp": "2026-01-08T17:24:57.123Z",
                    "status": 400,
                    "error": "Bad Request",
                    "message": "to: is required",
                    "path": "/api/v2/message",
                }
            ],
        },
        "SendRequest": {
            **obj(
                {
                    "to": E164,
                    "body": {
                        "type": "string",
                        "minLength": 1,
                        "description": "the text; at most max_segments parts (default 10)",
                    },
                    "from": {
                        **nullable(SENDER),
                        "description": (
                            "the requested sender; one not on the project's whitelist goes "
                            "out from the project's fallback sender"
                        ),
                    },
                    "statusCallback": {
                        **nullable(HTTP_URL),
                        "description": "where status callbacks go (else the project's webhook)",
                    },
                },
                required=("to", "body"),
                closed=False,
                description="Unknown fields are ignored.",
            ),
        },
        "SendResponse": obj(
            {
                "sid": {
                    "type": "string",
                    "format": "uuid",
                    "description": "a time-based (version 1) UUID",
                }
            }
        ),
        "Smpp": obj(smpp_credentials, description="SMPP bind credentials"),
        "Project": obj(
            {
                "projectId": STRING,
                "apiKey": STRING,
                "signingKey": nullable(STRING),
                "senders": {"type": "array", "items": STRING},
                "fallbackSender": STRING,
                "webhookUrl": nullable(STRING),
                "inboundWebhookUrl": nullable(STRING),
                "smpp": ref("Smpp"),
                "smppMaxSubmitsPerSecond": nullable({"type": "number"}),
                "sendDelay": nullable({"type": "number"}),
                "deliveryDelay": nullable({"type": "number"}),
                "createdAt": {
                    "description": "empty for the projects the mock starts with",
                    "anyOf": [TIMESTAMP, {"type": "string", "maxLength": 0}],
                },
                "strict": nullable({"type": "boolean"}),
                "prices": nullable(ref("PriceTable")),
                "callbackTo": {"type": "boolean"},
            }
        ),
        "PriceTable": {
            "type": "object",
            "description": (
                'Price per part by destination prefix ("*" matches any number; the longest '
                "matching prefix wins): one number for both encodings, or one per encoding."
            ),
            "propertyNames": {"pattern": r"^(\*|\+[0-9]{1,15})$"},
            "additionalProperties": {
                "anyOf": [
                    price,
                    obj({"GSM-7": price, "UCS-2": price}),
                ]
            },
            "maxProperties": MAX_ENTRIES,
            "examples": [{"*": 0.05, "+44": 0.04, "+48": {"GSM-7": 0.03, "UCS-2": 0.05}}],
        },
        "UsageTotals": obj(usage_fields),
        "ProjectUsage": obj({"projectId": STRING, **usage_fields}),
        "Usage": obj(
            {
                "since": nullable(STRING),
                "until": nullable(STRING),
                "projects": {"type": "array", "items": ref("ProjectUsage")},
                "total": ref("UsageTotals"),
            },
            description="Messages, parts and cost of the kept messages in [since, until).",
        ),
        "ProjectCreate": obj(
            project_fields,
            required=(),
            description="Whatever is left out is generated or defaulted.",
        ),
        "ProjectUpdate": obj(
            {k: v for k, v in project_fields.items() if k != "projectId"},
            required=(),
            description=(
                "The fields given replace the project's; the others keep their values "
                "(smpp is replaced whole). The projectId cannot change: a different one "
                "gets 400 (the project's own is tolerated)."
            ),
        ),
        "TimelineStep": obj(
            {"status": STATUS, "at": TIMESTAMP, "errorCode": STRING},
            required=("status", "at"),
        ),
        "CallbackAttempt": obj(
            {
                "id": STRING,
                "sid": STRING,
                "projectId": STRING,
                "status": {**STATUS, "description": "the SmsStatus this callback reports"},
                "url": STRING,
                "attempt": {"type": "integer", "minimum": 1},
                "requestHeaders": {"type": "object", "additionalProperties": STRING},
                "requestBody": STRING,
                "at": TIMESTAMP,
                "responseStatus": nullable(INTEGER),
                "error": nullable(STRING),
                "ok": {"type": "boolean", "description": "the receiver answered 2xx"},
                "durationMs": nullable({"type": "number"}),
                "redelivery": {"type": "boolean"},
                "fault": {
                    **nullable({"type": "string", "enum": list(CALLBACK_FAULTS)}),
                    "description": "the scenario misbehaviour applied to this attempt",
                },
                "sentTo": {
                    **nullable(STRING),
                    "description": (
                        "the URL actually requested, when --loopback-alias rewrote the "
                        "loopback host of `url`; null when `url` was requested as it is"
                    ),
                },
            }
        ),
        "Message": obj(
            {
                "sid": {"type": "string", "format": "uuid"},
                "projectId": STRING,
                "to": STRING,
                "from": {"type": "string", "description": "the sender actually used"},
                "requestedFrom": nullable(STRING),
                "body": STRING,
                "encoding": {"type": "string", "enum": ["GSM-7", "UCS-2"]},
                "segments": {"type": "integer", "minimum": 1, "description": "parts billed"},
                "parts": {"type": "array", "items": STRING},
                "units": {
                    "type": "array",
                    "items": {"type": "integer", "minimum": 0},
                    "description": "septets (GSM-7) or UTF-16 code units (UCS-2) in each part",
                },
                "status": STATUS,
                "errorCode": nullable(STRING),
                "statusCallback": nullable(STRING),
                "timeline": {"type": "array", "items": ref("TimelineStep")},
                "scenario": {
                    **nullable(STRING),
                    "description": "the name or id of the scenario rule that fired",
                },
                "batchId": nullable(STRING),
                "api": {
                    "type": "string",
                    "enum": list(SOURCES),
                    "description": "where the send came from (mock extension)",
                },
                "incomplete": {
                    "type": "boolean",
                    "description": "SMPP: some parts of a long message never arrived in time",
                },
                "createdAt": TIMESTAMP,
                "price": {
                    **nullable({"type": "number", "minimum": 0}),
                    "description": "segments times the per-part price for `to` and the "
                    "encoding, from the project's or the server's price table",
                },
                "warnings": {
                    "type": "array",
                    "items": STRING,
                    "description": "what the send got away with, e.g. an unknown field",
                },
                "advice": {
                    **nullable(ref("Advice")),
                    "description": "for UCS-2 messages: the characters that forced UCS-2",
                },
                "callbacks": {"type": "array", "items": ref("CallbackAttempt")},
            }
        ),
        "Culprit": obj(
            {
                "char": STRING,
                "codePoint": {"type": "string", "pattern": "^U\\+[0-9A-F]{4,6}$"},
                "name": {"type": "string", "description": "its Unicode name, or empty"},
                "position": {
                    "type": "integer",
                    "minimum": 0,
                    "description": "first position in the body, in code points",
                },
                "count": {"type": "integer", "minimum": 1},
                "replacement": {
                    **nullable(STRING),
                    "description": "the customary GSM-7 stand-in, or null when there is none",
                },
            }
        ),
        "Advice": obj(
            {
                "culprits": {"type": "array", "items": ref("Culprit")},
                "replacements": {"type": "integer", "minimum": 0},
                "fixedBody": STRING,
                "fixedEncoding": {"type": "string", "enum": ["GSM-7", "UCS-2"]},
                "fixedSegments": {"type": "integer", "minimum": 0},
                "summary": {
                    "type": "string",
                    "examples": ["3 parts \u2192 1 part with 2 replacements"],
                },
            }
        ),
        "RejectedRequest": obj(
            {
                "id": STRING,
                "at": TIMESTAMP,
                "method": STRING,
                "path": STRING,
                "status": {
                    **nullable(INTEGER),
                    "description": "null when a scenario dropped the connection",
                },
                "error": {
                    **nullable(
                        _error(nullable({"type": "integer", "minimum": 100, "maximum": 599}))
                    ),
                    "description": "null for an accepted call logged for its warnings",
                },
                "projectId": nullable(STRING),
                "scenario": nullable(STRING),
                "body": {"type": "string", "description": "the first 2 KiB of the body"},
                "warnings": {
                    "type": "array",
                    "items": STRING,
                    "description": "unknown fields, each with the closest known one",
                },
                "sid": {
                    **nullable(STRING),
                    "description": "the message, when the call was accepted despite warnings",
                },
            }
        ),
        "Matcher": matcher,
        "ScenarioMatch": {
            "type": "object",
            "description": "every given field must match (all of them: AND)",
            "properties": {field: ref("Matcher") for field in MATCH_FIELDS},
            "additionalProperties": False,
        },
        "ScenarioEffect": _effect(),
        "ScenarioCreate": obj(
            {
                "id": {**nullable(SAFE_ID_SCHEMA), "description": "generated when left out"},
                "name": nullable(STRING),
                "match": ref("ScenarioMatch"),
                "effect": ref("ScenarioEffect"),
                "times": {
                    **nullable({"type": "integer", "minimum": 1, "maximum": MAX_TIMES}),
                    "description": "apply to the next N matches only",
                },
                "probability": {
                    **nullable({"type": "number", "minimum": 0, "maximum": 1}),
                    "description": "chance of firing, drawn from the seeded RNG",
                },
            },
            required=("effect",),
        ),
        "Scenario": obj(
            {
                "id": STRING,
                "name": nullable(STRING),
                "match": obj(
                    {field: _matcher_object() for field in MATCH_FIELDS},
                    required=(),
                ),
                "effect": ref("ScenarioEffect"),
                "times": nullable(INTEGER),
                "remaining": nullable(INTEGER),
                "probability": nullable({"type": "number"}),
                "hits": INTEGER,
                "source": {"type": "string", "enum": ["api", "config", "builtin", "chaos"]},
            }
        ),
        "BuiltinScenarios": obj(
            {
                "range": STRING,
                "numbers": {
                    "type": "array",
                    "items": obj(
                        {"number": STRING, "outcome": STRING, "effect": ref("ScenarioEffect")}
                    ),
                },
            }
        ),
        "Clock": obj(
            {
                "mode": {"type": "string", "enum": ["real", "manual"]},
                "now": TIMESTAMP,
                "epoch": {"type": "number", "description": "now, in seconds since the epoch"},
                "pending": {"type": "integer", "minimum": 0, "description": "jobs waiting"},
            }
        ),
        "ClockAdvance": obj(
            {"seconds": {**SECONDS, "maximum": LATEST_EPOCH}},
            closed=False,
            description="Other fields are ignored.",
        ),
        "ClockAdvanced": obj(
            {
                "mode": {"type": "string", "enum": ["manual"]},
                "now": TIMESTAMP,
                "epoch": {"type": "number"},
                "pending": {"type": "integer", "minimum": 0},
                "ran": {"type": "integer", "minimum": 0, "description": "jobs run by this call"},
            }
        ),
        "Health": obj(
            {
                "status": {"type": "string", "enum": ["ok"]},
                "version": STRING,
                "clock": {"type": "string", "enum": ["real", "manual"]},
                "messages": {"type": "integer", "minimum": 0},
                "callbacks": ref("CallbackStats"),
                "smppPort": {
                    **nullable({"type": "integer", "minimum": 1, "maximum": 65535}),
                    "description": "the port the SMPP server listens on; null when it is off",
                },
            }
        ),
        "SmppSession": obj(
            {
                "projectId": STRING,
                "systemId": STRING,
                "bindType": {"type": "string", "enum": ["transmitter", "receiver", "transceiver"]},
                "peer": {"type": "string", "description": "the client's address:port"},
                "since": TIMESTAMP,
                "pdusIn": {"type": "integer", "minimum": 0},
                "pdusOut": {"type": "integer", "minimum": 0},
            }
        ),
        "SmppSessionList": list_of("sessions", "SmppSession"),
        "CallbackStats": obj(
            {
                name: {"type": "integer", "minimum": 0, "description": why}
                for name, why in (
                    ("pending", "ready, on the wire, waiting for a retry, or queued behind"),
                    ("inFlight", "attempts on the wire now"),
                    ("delivered", "acknowledged with a 2xx"),
                    ("failed", "given up after the last attempt"),
                    ("dropped", "dropped, oldest first, over max_pending_callbacks"),
                    ("discarded", "their message was evicted, cleared or deleted"),
                    ("abandoned", "still pending at shutdown"),
                )
            },
            description="How status callbacks ended since startup or the last reset; "
            "counted even when the journal went with an evicted message.",
        ),
        "DemoRequest": obj(
            {
                "count": {"type": "integer", "minimum": 1, "maximum": 100, "default": 10},
                "projectId": {
                    **nullable(STRING),
                    "description": "send from this project (default: the default project)",
                },
            },
            required=(),
            closed=False,
            description="Other fields are ignored.",
        ),
        "DemoResult": obj(
            {
                "projectId": STRING,
                "sent": {"type": "array", "items": {"type": "string", "format": "uuid"}},
                "rejected": {"type": "integer", "minimum": 0},
            }
        ),
        "Deleted": obj({"deleted": {"type": "integer", "minimum": 0}}),
        "Reset": obj({"reset": {"type": "boolean", "enum": [True]}}),
        "ProjectList": list_of("projects", "Project"),
        "MessageList": list_of("messages", "Message"),
        "CallbackList": list_of("callbacks", "CallbackAttempt"),
        "RejectedList": list_of("requests", "RejectedRequest"),
        "ScenarioList": list_of("scenarios", "Scenario"),
    }


# -- responses ------------------------------------------------------------------------

ERRORS = {
    "400": "Bad request: bad JSON, a wrong type, a missing or invalid field.",
    "401": (
        "Authentication failed: missing, malformed or wrong credentials. Carries "
        '`WWW-Authenticate: Basic realm="augnet"`.'
    ),
    "404": "No such record.",
    "409": "Conflict: the record already exists, or the clock cannot do that.",
    "413": "The body is over `max_body_bytes` (default 64 KiB).",
    "415": "The request is not JSON (`Content-Type` must be `application/json`).",
    "429": "Rate limited (a scenario). Carries `Retry-After` in seconds.",
    "500": "Server error (a scenario).",
    "503": "Service unavailable (a scenario). May carry `Retry-After` in seconds.",
    "4XX": "Any other client error a scenario rule asks for.",
    "5XX": "Any other server error a scenario rule asks for.",
}
RETRY_AFTER = {
    "description": "seconds to wait before retrying",
    "schema": {"type": "integer", "minimum": 0},
}
ERROR_HEADERS: dict[str, dict[str, Any]] = {
    "401": {
        "WWW-Authenticate": {
            "description": 'Basic realm="augnet" (not on a 401 made by a scenario rule)',
            "schema": STRING,
        }
    },
    "429": {"Retry-After": RETRY_AFTER},
    "503": {"Retry-After": RETRY_AFTER},
}


def error_responses() -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for code, description in ERRORS.items():
        response: dict[str, Any] = {
            "description": description,
            "content": {JSON: {"schema": ref("Error")}},
        }
        if code in ERROR_HEADERS:
            response["headers"] = ERROR_HEADERS[code]
        responses[f"Error{code}"] = response
    return responses


def ok(schema_name: str, description: str, status: str = "200") -> dict[str, Any]:
    return {status: {"description": description, "content": {JSON: {"schema": ref(schema_name)}}}}


def errors(*codes: str) -> dict[str, Any]:
    return {code: {"$ref": f"#/components/responses/Error{code}"} for code in codes}


def json_body(schema_name: str, *, required: bool = True) -> dict[str, Any]:
    if required:
        return {"required": True, "content": {JSON: {"schema": ref(schema_name)}}}
    # An optional body may also be JSON null, which the server reads as no body.
    return {"required": False, "content": {JSON: {"schema": nullable(ref(schema_name))}}}


def path_param(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": NON_EMPTY,
    }


def query(name: str, description: str, schema: Schema | None = None) -> dict[str, Any]:
    return {"name": name, "in": "query", "description": description, "schema": schema or STRING}


PAGING_NOTE = (
    f"Paged: `limit` items a page (default {DEFAULT_LIMIT}, at most {MAX_LIMIT}); pass "
    "the answer's `nextCursor` as `cursor` for the next page (null on the last). A page "
    f"looks at no more than {SCAN_BUDGET:,} stored records, so a filtered page may come "
    "back short, or empty, with a nextCursor: go on until it is null."
)


def paging_params() -> list[dict[str, Any]]:
    """`limit`, `cursor` and `order`, which every list route takes."""
    return [
        query(
            "limit",
            f"items a page, default {DEFAULT_LIMIT}",
            {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
        ),
        query(
            "cursor",
            "the `nextCursor` of the previous page (only the server makes cursors; any other "
            "value is a 400); empty or absent: the first page",
            {"type": "string", "pattern": CURSOR_PATTERN},
        ),
        query(
            "order",
            "oldest first (the default) or newest first",
            {"type": "string", "enum": ["oldest", "newest"], "default": "oldest"},
        ),
    ]


# -- paths ----------------------------------------------------------------------------

SEND_EXAMPLE = {
    "body": "Your Taxi will arrive in 2 minutes registration ABC123",
    "from": "ABCTAXI",
    "statusCallback": "https://hooks.zapier.com/hooks/catch/7128601/o5rp4yj/",
    "to": "+447515650839",
}
NO_CONTENT = {"204": {"description": "Deleted."}}


def augnet_paths() -> dict[str, Any]:
    return {
        "/api/v2/message": {
            "post": {
                "operationId": "sendMessage",
                "tags": ["augnet"],
                "summary": "Send an SMS",
                "description": (
                    "Records the message and starts its lifecycle: queued -> sent -> "
                    "delivered | undelivered (or queued -> failed), one status callback per "
                    "step. A scenario rule or a built-in magic number "
                    "(`GET /_mock/scenarios/builtin`) may answer with any 4xx or 5xx instead."
                ),
                "security": [{"basicAuth": []}],
                "requestBody": {
                    "required": True,
                    "content": {JSON: {"schema": ref("SendRequest"), "example": SEND_EXAMPLE}},
                },
                "responses": {
                    **ok("SendResponse", "Accepted: the message's sid."),
                    **errors("400", "401", "413", "415", "429", "500", "503", "4XX", "5XX"),
                },
            }
        }
    }


def mock_paths() -> dict[str, Any]:
    project_id = path_param("projectId", "the project's id")
    list_filter = query("projectId", "only this project's records")
    return {
        "/_mock/health": {
            "get": {
                "operationId": "health",
                "summary": "Liveness, for HEALTHCHECKs and CI service containers",
                "responses": ok("Health", "Up."),
            }
        },
        "/_mock/reset": {
            "post": {
                "operationId": "reset",
                "summary": "Everything back to the startup state",
                "description": "Projects, messages, callbacks, rejected requests, scenario "
                "rules, pending clock jobs and the RNG seed.",
                "responses": ok("Reset", "Reset."),
            }
        },
        "/_mock/projects": {
            "get": {
                "operationId": "listProjects",
                "summary": "List projects, in the order they were created",
                "description": PAGING_NOTE,
                "parameters": paging_params(),
                "responses": {**ok("ProjectList", "A page of projects."), **errors("400")},
            },
            "post": {
                "operationId": "createProject",
                "summary": "Create a project (the way parallel tests isolate themselves)",
                "requestBody": json_body("ProjectCreate", required=False),
                "responses": {
                    **ok("Project", "Created: the whole project.", "201"),
                    **errors("400", "409", "413", "415"),
                },
            },
        },
        "/_mock/projects/{projectId}": {
            "parameters": [project_id],
            "get": {
                "operationId": "getProject",
                "summary": "One project",
                "responses": {**ok("Project", "The project."), **errors("404")},
            },
            "patch": {
                "operationId": "updateProject",
                "summary": "Change some of a project's fields",
                "requestBody": json_body("ProjectUpdate"),
                "responses": {
                    **ok("Project", "The whole project, changed."),
                    **errors("400", "404", "413", "415"),
                },
            },
            "delete": {
                "operationId": "deleteProject",
                "summary": "Delete a project together with its messages",
                "responses": {**NO_CONTENT, **errors("404")},
            },
        },
        "/_mock/messages": {
            "get": {
                "operationId": "listMessages",
                "summary": "Recorded messages, oldest first",
                "parameters": [
                    list_filter,
                    query("to", "exact recipient", STRING),
                    query("from", "exact effective sender", STRING),
                    query("status", "current status", STATUS),
                    query("batchId", "messages of one batch", STRING),
                    query(
                        "since",
                        "created at or after this instant (ISO-8601 with a time zone)",
                        {"type": "string", "format": "date-time"},
                    ),
                    *paging_params(),
                ],
                "description": PAGING_NOTE,
                "responses": {
                    **ok("MessageList", "A page of the matching messages."),
                    **errors("400"),
                },
            },
            "delete": {
                "operationId": "clearMessages",
                "summary": "Clear recorded messages (and their callback journal)",
                "parameters": [list_filter],
                "responses": ok("Deleted", "How many were deleted."),
            },
        },
        "/_mock/messages/{sid}": {
            "parameters": [path_param("sid", "the message's sid")],
            "get": {
                "operationId": "getMessage",
                "summary": "One message with its parts, timeline and callback attempts",
                "responses": {**ok("Message", "The message."), **errors("404")},
            },
        },
        "/_mock/usage": {
            "get": {
                "operationId": "usage",
                "summary": "Parts and cost per project, over a time window",
                "parameters": [
                    list_filter,
                    query(
                        "since",
                        "created at or after this instant (ISO-8601 with a time zone)",
                        {"type": "string", "format": "date-time"},
                    ),
                    query(
                        "until",
                        "created before this instant (ISO-8601 with a time zone)",
                        {"type": "string", "format": "date-time"},
                    ),
                ],
                "responses": {**ok("Usage", "The sums."), **errors("400")},
            }
        },
        "/_mock/callbacks": {
            "get": {
                "operationId": "listCallbacks",
                "summary": "The journal of webhook attempts",
                "parameters": [
                    list_filter,
                    query("sid", "one message's attempts", STRING),
                    query("status", "the status the callback reports", STATUS),
                    query(
                        "ok", "only answered 2xx (true) or only failed (false)", {"type": "boolean"}
                    ),
                    *paging_params(),
                ],
                "description": PAGING_NOTE,
                "responses": {
                    **ok("CallbackList", "A page of the matching attempts."),
                    **errors("400"),
                },
            }
        },
        "/_mock/callbacks/{id}/redeliver": {
            "parameters": [path_param("id", "a callback attempt's id")],
            "post": {
                "operationId": "redeliverCallback",
                "summary": "Post a journalled callback once more, freshly dated and signed",
                "responses": {
                    **ok("CallbackAttempt", "The new attempt (also journalled)."),
                    **errors("404"),
                },
            },
        },
        "/_mock/requests": {
            "get": {
                "operationId": "listRejectedRequests",
                "summary": "Rejected API calls, with the error each one got",
                "description": PAGING_NOTE,
                "parameters": [list_filter, *paging_params()],
                "responses": {
                    **ok("RejectedList", "A page of the rejected calls, oldest first."),
                    **errors("400"),
                },
            }
        },
        "/_mock/scenarios": {
            "get": {
                "operationId": "listScenarios",
                "summary": "Scenario rules, first match first",
                "description": PAGING_NOTE,
                "parameters": paging_params(),
                "responses": {
                    **ok("ScenarioList", "A page of the rules (not the built-in numbers)."),
                    **errors("400"),
                },
            },
            "post": {
                "operationId": "addScenario",
                "summary": "Add a scenario rule (checked after the earlier ones)",
                "requestBody": json_body("ScenarioCreate"),
                "responses": {
                    **ok("Scenario", "Created.", "201"),
                    **errors("400", "409", "413", "415"),
                },
            },
            "delete": {
                "operationId": "clearScenarios",
                "summary": "Remove every scenario rule",
                "responses": ok("Deleted", "How many were removed."),
            },
        },
        "/_mock/scenarios/builtin": {
            "get": {
                "operationId": "builtinScenarios",
                "summary": "The magic-number table (+447700900000 to +447700900999)",
                "responses": ok("BuiltinScenarios", "The built-in numbers and their outcomes."),
            }
        },
        "/_mock/scenarios/{id}": {
            "parameters": [path_param("id", "the rule's id")],
            "delete": {
                "operationId": "deleteScenario",
                "summary": "Remove one scenario rule",
                "responses": {**NO_CONTENT, **errors("404")},
            },
        },
        "/_mock/clock": {
            "get": {
                "operationId": "getClock",
                "summary": "The mock's clock",
                "responses": ok("Clock", "The clock."),
            }
        },
        "/_mock/clock/advance": {
            "post": {
                "operationId": "advanceClock",
                "summary": "Move a manual clock forward, running everything due, in order",
                "description": "Returns once the window's jobs (and their callbacks) ran. "
                "A real clock cannot be advanced: 409. The clock stops at "
                "9999-12-31T23:59:59Z, the last instant a timestamp can show, so a huge "
                "advance runs everything due and stops there.",
                "requestBody": json_body("ClockAdvance"),
                "responses": {
                    **ok("ClockAdvanced", "The clock after the advance."),
                    **errors("400", "409", "413", "415"),
                },
            }
        },
        "/_mock/demo": {
            "post": {
                "operationId": "demoTraffic",
                "summary": "Send realistic demo messages (the web inbox's demo button)",
                "description": (
                    "Each goes the API's way (validation, scenarios, lifecycle, callbacks); "
                    "one a scenario would refuse is logged as rejected instead."
                ),
                "requestBody": json_body("DemoRequest", required=False),
                "responses": {
                    **ok("DemoResult", "What was sent."),
                    **errors("400", "404", "409", "413", "415"),
                },
            }
        },
        "/_mock/smpp/sessions": {
            "get": {
                "operationId": "listSmppSessions",
                "summary": "Bound SMPP sessions, oldest bind first",
                "description": PAGING_NOTE,
                "parameters": [list_filter, *paging_params()],
                "responses": {
                    **ok("SmppSessionList", "The bound sessions."),
                    **errors("400"),
                },
            }
        },
        "/_mock/events": {
            "get": {
                "operationId": "events",
                "summary": "Server-Sent Events: everything that happens, as it happens",
                "description": (
                    "Event types: message, status, callback, rejected, project, scenario, "
                    "cleared, reset, smpp (a bind or unbind). Each `data:` line is the JSON "
                    "record. A comment line is sent every 15 s so proxies keep the stream open."
                ),
                "parameters": [query("projectId", "only this project's events (and global ones)")],
                "responses": {
                    "200": {
                        "description": "An endless text/event-stream.",
                        "content": {"text/event-stream": {"schema": STRING}},
                    }
                },
            }
        },
    }


def other_paths() -> dict[str, Any]:
    return {
        "/": {
            "get": {
                "operationId": "inbox",
                "summary": "The live web inbox (HTML, works offline)",
                "responses": {
                    "200": {
                        "description": "The inbox page.",
                        "content": {"text/html": {"schema": STRING}},
                    }
                },
            }
        },
        "/static/{path}": {
            "get": {
                "operationId": "staticFile",
                "summary": "The web inbox's script and style files",
                "parameters": [path_param("path", "a file under the web folder")],
                "responses": {
                    "200": {
                        "description": "The file.",
                        "content": {"*/*": {"schema": STRING}},
                    },
                    **errors("404"),
                },
            }
        },
        "/openapi.json": {
            "get": {
                "operationId": "openapi",
                "summary": "This document",
                "responses": {
                    "200": {
                        "description": "The OpenAPI document.",
                        "content": {JSON: {"schema": {"type": "object"}}},
                    }
                },
            }
        },
    }


# -- links ----------------------------------------------------------------------------

# What one answer lets a client do next (OpenAPI 3.1 §4.8.20, Link Object): schemathesis'
# stateful tests follow these to chain real ids from call to call.
# (operationId, status) -> {link name: (target operationId, {parameter: runtime expression})}
LINKS: dict[tuple[str, str], dict[str, tuple[str, dict[str, str]]]] = {
    ("createProject", "201"): {
        "GetProject": ("getProject", {"path.projectId": "$response.body#/projectId"}),
        "DeleteProject": ("deleteProject", {"path.projectId": "$response.body#/projectId"}),
    },
    ("addScenario", "201"): {
        "DeleteScenario": ("deleteScenario", {"path.id": "$response.body#/id"}),
    },
    ("sendMessage", "200"): {
        "GetMessage": ("getMessage", {"path.sid": "$response.body#/sid"}),
        "ListItsCallbacks": ("listCallbacks", {"query.sid": "$response.body#/sid"}),
    },
    ("listMessages", "200"): {
        "GetFirstMessage": ("getMessage", {"path.sid": "$response.body#/messages/0/sid"}),
    },
    ("listCallbacks", "200"): {
        "RedeliverFirstCallback": (
            "redeliverCallback",
            {"path.id": "$response.body#/callbacks/0/id"},
        ),
    },
}


def _add_links(paths: dict[str, Any]) -> dict[str, Any]:
    """Attach LINKS to the responses they start from."""
    for item in paths.values():
        for operation in item.values():
            if not isinstance(operation, dict) or "operationId" not in operation:
                continue
            for status, response in operation["responses"].items():
                links = LINKS.get((operation["operationId"], status))
                if links:
                    response["links"] = {
                        name: {"operationId": target, "parameters": parameters}
                        for name, (target, parameters) in links.items()
                    }
    return paths


def _mark_mock(paths: dict[str, Any]) -> dict[str, Any]:
    """Tag and flag every operation of a mock-only path."""
    for item in paths.values():
        item[MOCK_EXTENSION] = True
        for key, operation in item.items():
            if isinstance(operation, dict) and key != "parameters":
                operation.setdefault("tags", ["mock"])
                operation[MOCK_EXTENSION] = True
    return paths


@cache
def _document() -> dict[str, Any]:
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "augnet-mock",
            "version": __version__,
            "summary": "Offline emulator of the Augnet Messaging API (SMS)",
            "description": (
                "Two surfaces. **augnet**: the provider's API, faithful to its document. "
                "**mock** (every operation marked `x-mock-extension: true`): set up, "
                "inspect and break the mock. The mock starts with one project: "
                f"project_id `{DEFAULT_PROJECT_ID}`, api_key `{DEFAULT_API_KEY}`, signing "
                f"key `{DEFAULT_SIGNING_KEY}`, fallback sender `{DEFAULT_FALLBACK_SENDER}`."
            ),
            "license": {"name": "MIT", "identifier": "MIT"},
        },
        "tags": [
            {"name": "augnet", "description": "The Augnet REST API (the real service's)."},
            {"name": "mock", "description": "Mock extensions: not in the real service."},
        ],
        "paths": _add_links(
            {**augnet_paths(), **_mark_mock(mock_paths()), **_mark_mock(other_paths())}
        ),
        "components": {
            "schemas": schemas(),
            "responses": error_responses(),
            "securitySchemes": {
                "basicAuth": {
                    "type": "http",
                    "scheme": "basic",
                    "description": "project_id as the user name, api_key as the password",
                }
            },
        },
    }


def document() -> dict[str, Any]:
    """The whole document; a fresh copy, so callers may change it."""
    return deepcopy(_document())


async def openapi_json(request: Request) -> JSONResponse:
    return JSONResponse(_document())


def openapi_routes() -> list[Route]:
    return [Route("/openapi.json", openapi_json, methods=["GET"])]
