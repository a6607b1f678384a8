"""The baseline of `api_benchmark.py`: a bare FastAPI app answering canned JSON on the emulator's paths.

    python -m benchmarks.bare_app --port 8081 --responses responses.json

`responses.json` is a list of {"method", "path", "status", "body"}: each becomes one route whose
plain `def` handler (run in the thread pool, like the emulator's routes) returns `body` through
`JSONResponse`, so the JSON is serialised per request as the emulator does. Served by `uvicorn.run`
with the arguments `taskrouter-emulator serve` uses, so the two differ only in the work per request.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI
from fastapi.responses import JSONResponse


def _handler(status: int, body: Any) -> Callable[[], JSONResponse]:
    def answer() -> JSONResponse:
        return JSONResponse(body, status_code=status)

    return answer


def create_bare_app(responses: list[dict[str, Any]]) -> FastAPI:
    """Return an app with one route per canned response."""
    app = FastAPI()
    for response in responses:
        app.add_api_route(
            response["path"],
            _handler(response["status"], response["body"]),
            methods=[response["method"]],
        )
    return app


def main() -> None:
    """Serve the canned responses."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--responses", type=Path, required=True)
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args()
    app = create_bare_app(json.loads(args.responses.read_text()))
    # The same call as `taskrouter-emulator serve` (taskrouter_emulator/__main__.py).
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)


if __name__ == "__main__":
    main()
