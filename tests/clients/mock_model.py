#!/usr/bin/env python3
"""A loopback stand-in for the model APIs of Claude Code, Gemini CLI, Codex and OpenAI-compatible clients.

Usage: mock_model.py --log FILE

Listens on 127.0.0.1 on a free port, prints one line `PORT <n>` and then serves until killed.
Every request is appended to FILE as one JSON line:
    {"api": "anthropic"|"gemini"|"openai"|"unknown", "method": ..., "path": ..., "time": ...,
     "tools": [...], "body": ...}
where "tools" is the sorted list of tool (function) names offered to the model, so a test can
assert which MCP tools a real client exposes. Every model call is answered with the smallest
valid reply whose final text is "done", which ends a `-p`/`exec` session successfully. Unknown
paths are logged too and answered 404, so anything new a client calls shows up in the log.

Standard library only: the tests must not need pip.
"""

import argparse
import json
import sys
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

TEXT = "done"
USAGE_ANTHROPIC = {"input_tokens": 1, "output_tokens": 1}
USAGE_GEMINI = {"promptTokenCount": 1, "candidatesTokenCount": 1, "totalTokenCount": 2}


def tool_names(body):
    """Names of the tools offered in a request body, whatever the API's shape."""
    names = []

    def walk(tools, prefix=""):
        for tool in tools or []:
            if not isinstance(tool, dict):
                continue
            # Gemini groups functions: {"functionDeclarations": [{"name": ...}]}.
            for key in ("functionDeclarations", "function_declarations"):
                walk(tool.get(key), prefix)
            # A Responses API namespace ({"type": "namespace", "name": "mcp__srv", "tools":
            # [...]}, how Codex groups one MCP server's tools) is not itself callable: log its
            # tools as NAMESPACE__TOOL, e.g. mcp__srv__echo.
            if tool.get("type") == "namespace" and isinstance(tool.get("tools"), list):
                walk(tool["tools"], prefix + str(tool.get("name")) + "__")
            # OpenAI chat completions nest the name: {"type": "function", "function": {...}}.
            elif isinstance(tool.get("function"), dict):
                names.append(prefix + str(tool["function"].get("name")))
            # Anthropic and OpenAI Responses name the tool at top level.
            elif isinstance(tool.get("name"), str):
                names.append(prefix + tool["name"])
            # Server-side tools have only a type, e.g. Responses {"type": "web_search"}.
            elif isinstance(tool.get("type"), str) and not prefix:
                names.append(tool["type"])

    if isinstance(body, dict):
        walk(body.get("tools"))
        walk(body.get("tool_definitions"))  # Augment's chat-stream
        # Tools a client holds back behind a search tool (Factory droid) are listed to the
        # model in the prompt instead: "Deferred tools:" and one name per line.
        text = json.dumps(body)
        for block in text.split("Deferred tools:")[1:]:
            for line in block.split("\\n")[1:]:
                name = line.strip()
                if not name or " " in name or '"' in name:
                    break
                names.append(name)
    return sorted(n for n in names if isinstance(n, str))


def sse(events):
    """Server-sent events; each item is (event name or None, JSON payload)."""
    out = []
    for name, data in events:
        if name:
            out.append(f"event: {name}\n")
        out.append(f"data: {json.dumps(data)}\n\n")
    return "".join(out).encode()


# --- Anthropic Messages API (Claude Code) ---------------------------------------------------

def anthropic_message(body):
    return {
        "id": "msg_mock",
        "type": "message",
        "role": "assistant",
        "model": body.get("model", "mock"),
        "content": [{"type": "text", "text": TEXT}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": USAGE_ANTHROPIC,
    }


def anthropic_stream(body):
    start = dict(anthropic_message(body), content=[], stop_reason=None)
    return sse([
        ("message_start", {"type": "message_start", "message": start}),
        ("content_block_start", {"type": "content_block_start", "index": 0,
                                 "content_block": {"type": "text", "text": ""}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 0,
                                 "delta": {"type": "text_delta", "text": TEXT}}),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ("message_delta", {"type": "message_delta",
                           "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                           "usage": {"output_tokens": 1}}),
        ("message_stop", {"type": "message_stop"}),
    ])


# --- Gemini API (Gemini CLI) ----------------------------------------------------------------

def from_schema(schema):
    """A small value matching a JSON schema. Gemini CLI asks for JSON in side calls (model
    routing, next-speaker check); a plain "done" there would be a parse error."""
    if not isinstance(schema, dict):
        return TEXT
    if "enum" in schema:
        return schema["enum"][0]
    kind = str(schema.get("type", "object")).lower()
    if kind == "object":
        return {k: from_schema(v) for k, v in schema.get("properties", {}).items()}
    if kind == "array":
        return []
    if kind in ("integer", "number"):
        return schema.get("minimum", 1)  # e.g. the router's complexity_score is 1..100
    if kind == "boolean":
        return False
    return TEXT


def gemini_text(body):
    config = body.get("generationConfig") or {}
    schema = config.get("responseJsonSchema") or config.get("responseSchema")
    if schema:
        return json.dumps(from_schema(schema))
    if config.get("responseMimeType") == "application/json":
        return "{}"
    return TEXT


def gemini_response(body):
    return {
        "candidates": [{
            "content": {"role": "model", "parts": [{"text": gemini_text(body)}]},
            "finishReason": "STOP",
            "index": 0,
        }],
        "usageMetadata": USAGE_GEMINI,
        "modelVersion": "mock",
    }


# --- OpenAI Responses API (Codex) -----------------------------------------------------------

def openai_stream(body):
    message = {
        "type": "message", "id": "msg_mock", "role": "assistant", "status": "completed",
        "content": [{"type": "output_text", "text": TEXT, "annotations": []}],
    }
    response = {"id": "resp_mock", "object": "response", "status": "in_progress",
                "model": body.get("model", "mock"), "output": []}
    done = dict(response, status="completed", output=[message], usage={
        "input_tokens": 1, "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": 1, "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 2})
    return sse([
        ("response.created", {"type": "response.created", "response": response}),
        ("response.output_item.added", {"type": "response.output_item.added", "output_index": 0,
                                        "item": dict(message, status="in_progress", content=[])}),
        ("response.output_text.delta", {"type": "response.output_text.delta", "item_id": "msg_mock",
                                        "output_index": 0, "content_index": 0, "delta": TEXT}),
        ("response.output_item.done", {"type": "response.output_item.done", "output_index": 0,
                                       "item": message}),
        ("response.completed", {"type": "response.completed", "response": done}),
    ])


# --- OpenAI Chat Completions API (Copilot CLI, OpenCode and other OpenAI-compatible clients)

def chat_completion(body):
    return {
        "id": "chatcmpl-mock", "object": "chat.completion", "created": int(time.time()),
        "model": body.get("model", "mock"),
        "choices": [{"index": 0, "message": {"role": "assistant", "content": TEXT},
                     "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


def chat_stream(body):
    base = {"id": "chatcmpl-mock", "object": "chat.completion.chunk",
            "created": int(time.time()), "model": body.get("model", "mock")}
    chunks = [
        dict(base, choices=[{"index": 0, "delta": {"role": "assistant", "content": TEXT},
                             "finish_reason": None}]),
        dict(base, choices=[{"index": 0, "delta": {}, "finish_reason": "stop"}],
             usage={"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}),
    ]
    return (sse([(None, c) for c in chunks]).decode() + "data: [DONE]\n\n").encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive; every reply carries a Content-Length

    def log_message(self, *args):  # keep stdout to the single PORT line
        pass

    def reply(self, status, payload, content_type="application/json"):
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":  # a HEAD reply has no body, or keep-alive breaks
            self.wfile.write(data)

    def do_GET(self):
        self.handle_any(None)

    def do_POST(self):
        raw = self.read_body()
        if self.headers.get("Content-Encoding", "").lower() in ("gzip", "deflate"):
            raw = zlib.decompress(raw, zlib.MAX_WBITS | 32)  # either header, auto-detected
        try:
            body = json.loads(raw) if raw else None
        except ValueError:  # e.g. a compression the standard library lacks (zstd): keep it
            body = raw.decode("utf-8", "replace")
        self.handle_any(body)

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() != "chunked":
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))
        chunks = []
        while size := int(self.rfile.readline().split(b";")[0], 16):
            chunks.append(self.rfile.read(size))
            self.rfile.readline()  # the CRLF after each chunk
        while self.rfile.readline() not in (b"\r\n", b"\n", b""):  # trailers
            pass
        return b"".join(chunks)

    do_HEAD = do_GET  # Claude Code sends HEAD / at start to warm the connection
    do_PUT = do_PATCH = do_DELETE = do_POST

    def handle_any(self, body):
        path = urlsplit(self.path).path
        api, status, payload, ctype = route(self.command, path, self.path, body)
        record = {"api": api, "method": self.command, "path": self.path, "time": time.time(),
                  "tools": tool_names(body), "body": body}
        with LOCK:
            with open(LOG, "a", encoding="utf-8") as f:
                f.write(json.dumps(record) + "\n")
        self.reply(status, payload, ctype)


def route(method, path, full, body):
    """(api, status, payload, content type) for one request."""
    body = body if isinstance(body, dict) else {}
    json_type = "application/json"
    sse_type = "text/event-stream"
    # Anthropic: POST /v1/messages (streamed when "stream": true) and its token counter.
    if path.endswith("/v1/messages/count_tokens"):
        return "anthropic", 200, {"input_tokens": 1}, json_type
    if path.endswith("/v1/messages"):
        if body.get("stream"):
            return "anthropic", 200, anthropic_stream(body), sse_type
        return "anthropic", 200, anthropic_message(body), json_type
    # Gemini: /v1beta/models/<model>:<method>.
    if ":streamGenerateContent" in path:
        return "gemini", 200, sse([(None, gemini_response(body))]), sse_type
    if ":generateContent" in path:
        return "gemini", 200, gemini_response(body), json_type
    if ":countTokens" in path:
        return "gemini", 200, {"totalTokens": 1}, json_type
    # OpenAI: the Responses API (Codex streams it) and the model list.
    if path.endswith("/v1/responses"):
        return "openai", 200, openai_stream(body), sse_type
    if path.endswith("/chat/completions"):
        if body.get("stream"):
            return "openai", 200, chat_stream(body), sse_type
        return "openai", 200, chat_completion(body), json_type
    if path.endswith("/v1/models"):
        return "openai", 200, {"object": "list", "data": []}, json_type
    # Augment's own API (Auggie, with a session token whose tenant URL is the mock): one JSON
    # line per chat-stream reply; the rest of its start-up calls want an empty answer.
    if path == "/chat-stream":
        return "augment", 200, (json.dumps({"text": TEXT}) + "\n").encode(), json_type
    if path == "/get-models":
        return "augment", 200, {"default_model": "mock", "models": [], "feature_flags": {}}, json_type
    if path.startswith("/settings/get-mcp-"):
        return "augment", 200, {"configs": []}, json_type
    if path == "/agents/list-remote-tools":
        return "augment", 200, {"tools": []}, json_type
    if path in ("/report-error", "/record-session-events", "/record-request-events",
                "/client-metrics", "/report-feature-vector"):
        return "augment", 200, {}, json_type
    return "unknown", 404, {"error": {"message": f"mock: no route for {method} {full}"}}, json_type


LOCK = threading.Lock()
LOG = None


def main():
    global LOG
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--log", required=True, help="file to append one JSON line per request")
    LOG = parser.parse_args().log
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(f"PORT {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
