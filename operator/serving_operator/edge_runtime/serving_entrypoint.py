"""Serve a SageMaker Neo compiled model on an AWS IoT Greengrass core device.

The operator publishes this file as an artifact of every EdgeModel component, next to the
compiled model, and the component's Run step starts it inside variant.DLR's environment
(edge_runtime/__init__.py builds that lifecycle). It needs only the standard library, NumPy
and a runtime that loads the model, all of which variant.DLR installs:

- DLR (`dlr.DLRModel`), the runtime Neo compiles for, loads any Neo model directory;
- treelite-runtime (`treelite_runtime.Predictor`) loads a tree model that Neo compiled with
  Treelite (a directory with one shared library and no `.params`, which is how DLR itself
  tells a Treelite model from a TVM one) when DLR cannot be loaded: PyPI's `dlr` 1.10.0 ships
  without its native library and fails with DLRLibraryNotFound.

It answers HTTP on --host/--port (port 0: any free port), SageMaker-style:

    GET  /ping                                  -> {"status": "ok", "runtime": "dlr" | ...}
    POST /invocations {"instances": [[...]]}    -> {"predictions": [...]}

and writes {"host", "port", "pid", "runtime"} to --endpoint-file once it listens. A model
that cannot be loaded ends the process with status 1 before it listens, so Greengrass marks
the component BROKEN and the deployment fails rather than reporting a component that
cannot answer.
"""

from __future__ import annotations

import argparse
import glob
import http.server
import importlib
import json
import os
import sys
from collections.abc import Callable
from typing import Any

Predict = Callable[[list[list[float]]], list[Any]]


class ModelLoadError(Exception):
    """No runtime on this device could load the model directory."""


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}"


def _dlr(model_dir: str) -> Predict:
    dlr = importlib.import_module("dlr")
    numpy = importlib.import_module("numpy")
    model = dlr.DLRModel(model_dir, "cpu")

    def predict(instances: list[list[float]]) -> list[Any]:
        outputs = model.run(numpy.asarray(instances, dtype=numpy.float32))
        first = outputs[0] if isinstance(outputs, list | tuple) else outputs
        predictions: list[Any] = first.tolist()
        return predictions

    return predict


def treelite_library(model_dir: str) -> str | None:
    """The model's shared library if the directory is a Treelite model (one .so, no
    .params), as DLR decides between its Treelite and TVM backends."""
    libraries = glob.glob(os.path.join(model_dir, "*.so"))
    libraries = [path for path in libraries if os.path.basename(path) != "libdlr.so"]
    if len(libraries) != 1 or glob.glob(os.path.join(model_dir, "*.params")):
        return None
    return libraries[0]


def _treelite(model_dir: str) -> Predict:
    library = treelite_library(model_dir)
    if library is None:
        raise ModelLoadError(f"{model_dir} is not a Treelite model (one .so, no .params)")
    runtime = importlib.import_module("treelite_runtime")
    numpy = importlib.import_module("numpy")
    predictor = runtime.Predictor(library, nthread=1, verbose=False)

    def predict(instances: list[list[float]]) -> list[Any]:
        matrix = runtime.DMatrix(numpy.asarray(instances, dtype=numpy.float32))
        predictions: list[Any] = predictor.predict(matrix).tolist()
        return predictions

    return predict


LOADERS: tuple[tuple[str, Callable[[str], Predict]], ...] = (
    ("dlr", _dlr),
    ("treelite_runtime", _treelite),
)


def load_model(model_dir: str) -> tuple[str, Predict]:
    """(runtime name, predict) from the first runtime that loads the model."""
    if not os.path.isdir(model_dir):
        raise ModelLoadError(f"the model directory {model_dir} does not exist")
    errors = []
    for name, loader in LOADERS:
        try:
            return name, loader(model_dir)
        except Exception as error:  # any runtime's failure: try the next, report them all
            errors.append(f"{name}: {_first_line(error)}")
    raise ModelLoadError("no runtime could load the model: " + "; ".join(errors))


def _handler(runtime: str, predict: Predict) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def _answer(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path.rstrip("/") == "/ping":
                self._answer(200, {"status": "ok", "runtime": runtime})
            else:
                self._answer(404, {"error": f"no route {self.path}"})

        def do_POST(self) -> None:
            if self.path.rstrip("/") != "/invocations":
                self._answer(404, {"error": f"no route {self.path}"})
                return
            try:
                length = int(self.headers.get("Content-Length") or 0)
                request = json.loads(self.rfile.read(length) or b"{}")
                instances = request["instances"]
                if not isinstance(instances, list):
                    raise ValueError("instances must be a list of rows")
            except (KeyError, ValueError) as error:
                self._answer(400, {"error": f"expected {{'instances': [[...]]}}: {error}"})
                return
            try:
                self._answer(200, {"predictions": predict(instances), "runtime": runtime})
            except Exception as error:  # a bad row must not end the server
                self._answer(400, {"error": _first_line(error)})

        def log_message(self, format: str, *args: Any) -> None:
            sys.stderr.write(f"{self.address_string()} {format % args}\n")

    return Handler


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--model-dir", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--endpoint-file")
    args = parser.parse_args(argv)
    try:
        runtime, predict = load_model(args.model_dir)
    except ModelLoadError as error:
        print(f"serving_entrypoint: {error}", file=sys.stderr, flush=True)
        return 1
    server = http.server.ThreadingHTTPServer((args.host, args.port), _handler(runtime, predict))
    host, port = str(server.server_address[0]), int(server.server_address[1])
    print(f"serving_entrypoint: {runtime} serves {args.model_dir} on {host}:{port}", flush=True)
    if args.endpoint_file:
        partial = f"{args.endpoint_file}.partial"
        answer = {"host": host, "port": port, "pid": os.getpid(), "runtime": runtime}
        with open(partial, "w") as endpoint:
            json.dump(answer, endpoint)
        os.replace(partial, args.endpoint_file)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
