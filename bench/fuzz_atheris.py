"""Coverage-guided fuzzing of the core handler with atheris (libFuzzer), bounded.

Each input is decoded into one request: which app (dev, dev holding a key, cloud
with a fallback key), method, query, headers, and a body that is either the raw
remaining bytes or a protocol call built from them (memos for the fuzzed steps,
optionally signed with the right key), then spliced with raw bytes. The reply
must keep every promise of ``tests/support/fuzz_targets.check_reply``; a broken promise
is an uncaught exception, which libFuzzer reports as a crash and saves as a file.

The outgoing register call of an out-of-band sync is answered in-process unless
``--real-register`` is given (see ``fast_register``). Run (from the repository root):
    python bench/fuzz_atheris.py -max_total_time=60 -artifact_prefix=/tmp/fuzz-
    python bench/fuzz_atheris.py -runs=200000
libFuzzer prints ``Done N runs in S second(s)`` at the end: N requests tried.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

with atheris.instrument_imports(include=["inngest_serverless"]):
    from inngest_serverless import Handler, Request
    from inngest_serverless.core import inngest_api as api_module
    from inngest_serverless.core import signing

from tests.support.fuzz_targets import APP, FALLBACK, FUNCTIONS, HASHES, KEY, build_client, canonical, check_reply, loopback_api

MODES = ["dev", "dev-key", "cloud"]
METHODS = ["GET", "PUT", "POST", "POST", "POST", "POST", "DELETE", "PATCH", "OPTIONS", "HEAD", "post", ""]
HEADER_NAMES = ["x-inngest-sync-kind", "x-inngest-server-kind", "x-inngest-force-step-plan", "content-type", "host"]
HEADER_VALUES = ["in_band", "out_of_band", "dev", "cloud", "true", "application/json"]
MEMO_SHAPES = 6

handlers: dict[str, Handler] = {}


def memo(fdp: atheris.FuzzedDataProvider) -> Any:
    shape = fdp.ConsumeIntInRange(0, MEMO_SHAPES - 1)
    text = fdp.ConsumeUnicodeNoSurrogates(8)
    return [None, {"data": text}, {"error": {"name": "E", "message": text}},
            {"name": "fuzz/reply", "data": {"t": text}, "id": "e", "ts": 1}, text, fdp.ConsumeInt(8)][shape]


def call_body(fdp: atheris.FuzzedDataProvider) -> bytes:
    mask = fdp.ConsumeIntInRange(0, (1 << len(HASHES)) - 1)
    memo_ids = [h for i, h in enumerate(HASHES) if mask >> i & 1]
    event = {"name": "fuzz/steps", "data": {"x": fdp.ConsumeUnicodeNoSurrogates(12)}, "id": "e1", "ts": 1, "user": {}}
    ctx: dict[str, Any] = {
        "run_id": fdp.PickValueInList(["01RUN", "", "../x", "a b"]), "attempt": fdp.ConsumeIntInRange(0, 5),
        "stack": {"stack": memo_ids, "current": len(memo_ids)},
        # use_api is rare (and not what exhausted input decodes to): its real loopback fetch costs
        # ~80 ms, as httpx builds two TLS contexts.
        "disable_immediate_execution": fdp.ConsumeBool(), "use_api": fdp.ConsumeProbability() > 0.98,
    }
    if fdp.ConsumeBool():
        ctx["max_attempts"] = fdp.ConsumeIntInRange(0, 5)
    body = {"event": event, "events": [event], "steps": {k: memo(fdp) for k in memo_ids}, "ctx": ctx}
    return json.dumps(body).encode()


def one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    handler = handlers[fdp.PickValueInList(MODES)]
    method = fdp.PickValueInList(METHODS)
    if fdp.ConsumeBool():
        query = f"fnId={APP}-{fdp.PickValueInList(list(FUNCTIONS))}&stepId={fdp.PickValueInList(['step', *HASHES])}"
    else:
        query = fdp.ConsumeUnicodeNoSurrogates(fdp.ConsumeIntInRange(0, 40))
    headers = {fdp.PickValueInList(HEADER_NAMES): fdp.PickValueInList(HEADER_VALUES) for _ in range(fdp.ConsumeIntInRange(0, 2))}
    if fdp.ConsumeBool():
        body = call_body(fdp)
        if fdp.ConsumeProbability() < 0.2:  # splice raw bytes in
            at = fdp.ConsumeIntInRange(0, len(body))
            body = body[:at] + fdp.ConsumeBytes(fdp.ConsumeIntInRange(1, 16)) + body[at:]
    else:
        body = fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 4096))
    signature = fdp.ConsumeIntInRange(0, 4)
    if signature in (1, 2):
        key = KEY if signature == 1 else FALLBACK
        headers["x-inngest-signature"] = signing.sign(canonical(body), key, int(time.time()))
    elif signature == 3:
        headers["x-inngest-signature"] = fdp.ConsumeUnicode(fdp.ConsumeIntInRange(0, 80))
    host = "app.test" if fdp.ConsumeProbability() < 0.9 else fdp.ConsumeUnicodeNoSurrogates(12)
    url = f"http://{host}/api/inngest" + (f"?{query}" if query else "")
    request = Request.build(method, url, headers, body)
    check_reply(handler, request, handler.handle(request))


def fast_register(*_args: Any, **_kwargs: Any) -> tuple[int, Any]:
    """The outgoing ``POST /fn/register`` of an out-of-band sync, answered in-process.

    Over loopback HTTP it costs ~90 ms (httpx builds a client and TLS context per call)
    and held the whole run to ~40 inputs/s; the hypothesis suites send it over real HTTP.
    """
    return 200, {"ok": True, "modified": False}


def main() -> None:
    # Warnings (e.g. a function ending before steps of its fuzzed state) would flood stderr.
    logging.getLogger("inngest_serverless").setLevel(logging.ERROR)
    if "--real-register" not in sys.argv:
        api_module.register = fast_register
    else:
        sys.argv.remove("--real-register")
    with loopback_api() as api:
        handlers.update({mode: Handler(build_client(mode, api.url), framework="atheris") for mode in MODES})
        argv = sys.argv if any(a.startswith("-max_len=") for a in sys.argv) else [*sys.argv, "-max_len=4096"]
        atheris.Setup(argv, one_input)
        atheris.Fuzz()


if __name__ == "__main__":
    main()
