"""Where things are in the repository."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CRDS = ROOT / "crds"
EXAMPLES = ROOT / "examples"
CLUSTERROLE_RULES = ROOT / "charts" / "serving-operator" / "files" / "clusterrole-rules.yaml"
# Granted by the chart only with peering.enabled.
PEERING_RULES = ROOT / "charts" / "serving-operator" / "files" / "peering-rules.yaml"
# The environment running this process: .venv for `make test`, a throwaway one for
# `make test-latest`. Its scripts (serving-operator) sit beside its Python.
VENV_BIN = Path(sys.prefix) / "bin"
DEFAULT_ASSETS = ROOT / ".cache" / "bin"
