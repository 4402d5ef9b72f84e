"""Where things are in the repository."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CRDS = ROOT / "crds"
EXAMPLES = ROOT / "examples"
CLUSTERROLE_RULES = ROOT / "charts" / "serving-operator" / "files" / "clusterrole-rules.yaml"
VENV_BIN = ROOT / ".venv" / "bin"
DEFAULT_ASSETS = ROOT / ".cache" / "bin"
