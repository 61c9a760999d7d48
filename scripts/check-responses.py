#!/usr/bin/env python3
"""Checks every response of a Newman run against the OpenAPI document.

    scripts/check-responses.py <openapi.json> <newman-export.json> [<base URL>]

With a base URL, only the requests sent to it are checked (the topology
test's Newman also talks to a mail catcher).

The same rules as the test harness's check (tests/api/harness/contract.rs):
each response is matched to its operation (method and path template); its
status must be one the operation documents, its content type one of that
status's, its JSON body valid against the schema (JSON Schema 2020-12, the
schemas closed: an undeclared field is a violation), and the headers the
document marks required present (X-Request-Id everywhere, WWW-Authenticate
on a 401, Retry-After on a 429 and a 503, Allow on a 405). A path that is no
operation must still answer errors as a Problem; the dev mailbox and
Swagger UI are not part of the API and are skipped.

Prints each violation, then the operations no request of the run reached
with a success (2xx), and a last line "contract: N responses checked, M
violations"; writes "N M" to $CONTRACT_STATS when set. Exit status 1 when
any response does not conform. With $CONTRACT_REQUIRE_SUCCESS, a
comma-separated list of path prefixes (scripts/citus-test.sh: the tenant
routes), an operation under one of them that never answered 2xx is a
violation too: what holds for every response of the run (strict tenant
routing on a Citus cluster, say) then holds for every such operation.
"""
import json
import os
import sys

try:
    import jsonschema
except ImportError:  # pragma: no cover - the CI script installs it
    sys.exit("check-responses: needs the jsonschema package (pip install jsonschema)")


def escape(token):
    return token.replace("~", "~0").replace("/", "~1")


def pointer(doc, ptr):
    node = doc
    for part in ptr.lstrip("/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


class Contract:
    def __init__(self, doc):
        self.doc = doc
        self.operations = []
        for path, item in doc["paths"].items():
            for method in item:
                self.operations.append(
                    (method.upper(), path.split("/"), "/paths/%s/%s" % (escape(path), method)))
        self.validators = {}

    def validator(self, ptr):
        if ptr not in self.validators:
            root = dict(self.doc)
            root["$ref"] = "#" + ptr
            self.validators[ptr] = jsonschema.Draft202012Validator(
                root, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
        return self.validators[ptr]

    def resolve(self, node):
        while isinstance(node, dict) and "$ref" in node:
            node = pointer(self.doc, node["$ref"][1:])
        return node

    def check_body(self, ptr, raw, out):
        try:
            body = json.loads(raw)
        except ValueError as e:
            out.append("the body is not JSON (%s)" % e)
            return
        for error in self.validator(ptr).iter_errors(body):
            out.append("at %s: %s" % ("/" + "/".join(map(str, error.absolute_path)), error.message))

    def check_headers(self, response, status, headers, out):
        required = [name.lower() for name, h in (response.get("headers") or {}).items()
                    if self.resolve(h).get("required")]
        required += {401: ["www-authenticate"], 405: ["allow"], 429: ["retry-after"],
                     503: ["retry-after"]}.get(status, [])
        for name in required:
            if name not in headers:
                out.append("no %s header on a %d" % (name, status))

    def operation(self, method, path):
        """The operation's pointer in the document, or None."""
        lookup = "GET" if method == "HEAD" else method
        segments = path.split("/")
        return next((o for m, t, o in self.operations if m == lookup and len(t) == len(segments)
                     and all(a.startswith("{") and b or a == b for a, b in zip(t, segments))), None)

    def check(self, method, path, status, headers, raw):
        out = []
        if "x-request-id" not in headers:
            out.append("no X-Request-Id header")
        media = headers.get("content-type", "").split(";")[0].strip().lower()
        op = self.operation(method, path)
        if op is None:
            if status >= 400:
                if media != "application/problem+json":
                    out.append("an error as %r, not application/problem+json" % media)
                elif method != "HEAD":
                    self.check_body("/components/schemas/Problem", raw, out)
                common = self.doc["components"]["responses"].get("Error%d" % status)
                if common:
                    self.check_headers(common, status, headers, out)
            return out
        responses = pointer(self.doc, op + "/responses")
        if str(status) not in responses:
            out.append("status %d is not documented (documented: %s)" % (status, sorted(responses)))
            return out
        response_ptr = op + "/responses/" + str(status)
        ref = responses[str(status)].get("$ref")
        if ref:
            response_ptr = ref[1:]
        response = self.resolve(responses[str(status)])
        self.check_headers(response, status, headers, out)
        content = response.get("content")
        if content is None:
            if raw and method != "HEAD":
                out.append("a body (%s) where none is documented" % media)
        elif media not in content:
            out.append("content type %r is not documented (documented: %s)" % (media, sorted(content)))
        elif method != "HEAD" and media.endswith("json"):
            self.check_body(response_ptr + "/content/" + escape(media) + "/schema", raw, out)
        return out


def outside_the_api(path):
    return path in ("/docs",) or path.startswith("/docs/") or path.startswith("/dev/")


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    base = sys.argv[3].rstrip("/") if len(sys.argv) == 4 else None
    with open(sys.argv[1]) as f:
        contract = Contract(json.load(f))
    with open(sys.argv[2]) as f:
        run = json.load(f)["run"]
    checked = 0
    violations = 0
    succeeded = set()
    for execution in run.get("executions", []):
        request, response = execution.get("request"), execution.get("response")
        if not request or not response:
            continue
        url = request["url"]
        path = "/" + "/".join(url.get("path", [])) if isinstance(url, dict) else url
        if base is not None and isinstance(url, dict):
            origin = "%s://%s%s" % (url.get("protocol", "http"), ".".join(url.get("host", [])),
                                    ":" + str(url["port"]) if url.get("port") else "")
            if origin != base:
                continue
        method = request["method"].upper()
        if method == "OPTIONS" or outside_the_api(path):
            continue
        headers = {h["key"].lower(): h["value"] for h in response.get("header", [])}
        stream = response.get("stream") or {}
        raw = bytes(stream.get("data", [])) if isinstance(stream, dict) else b""
        found = contract.check(method, path, response["code"], headers, raw)
        checked += 1
        if 200 <= response["code"] < 300:
            succeeded.add(contract.operation(method, path))
        if found:
            violations += 1
            name = execution.get("item", {}).get("name", "?")
            print("%s %s answered %d (%s), which the OpenAPI document does not describe:\n  %s"
                  % (method, path, response["code"], name, "\n  ".join(found)))
    missing = [(m, "/".join(t)) for m, t, o in contract.operations if o not in succeeded]
    print("operations without a successful answer in this run: %d of %d%s"
          % (len(missing), len(contract.operations),
             "".join("\n  %s %s" % op for op in sorted(missing, key=lambda x: (x[1], x[0])))))
    required = [p for p in os.environ.get("CONTRACT_REQUIRE_SUCCESS", "").split(",") if p]
    for method, path in missing:
        if any(path.startswith(prefix) for prefix in required):
            violations += 1
            print("%s %s: no request of the run succeeded, and it must ($CONTRACT_REQUIRE_SUCCESS)"
                  % (method, path))
    print("contract: %d responses checked, %d violations" % (checked, violations))
    stats = os.environ.get("CONTRACT_STATS")
    if stats:
        with open(stats, "w") as f:
            f.write("%d %d\n" % (checked, violations))
    sys.exit(1 if violations or checked == 0 else 0)


if __name__ == "__main__":
    main()
